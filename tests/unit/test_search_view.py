"""``hits_to_json``: locations, snippets centred on the match, highlight offsets, thumbnails, fallbacks."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from jina_local.qdrant import SearchHit
from jina_local.search_view import hits_to_json, location_label


def _hit(payload, score=1.0, raw=None, hid="6c0f4a52-8f6e-5b0e-9d3a-6a696e616c63"):
    return SearchHit(id=hid, score=score, payload=payload, raw_score=score if raw is None else raw)


def test_location_labels_from_the_documents_layer_payload():
    out = hits_to_json(
        "q",
        [
            _hit({"kind": "code", "task": "code", "path": "src/app.py", "lines": [12, 40], "text": "x = 1"}),
            _hit({"kind": "text", "task": "retrieval", "path": "report.pdf", "page": 3, "text": "Revenue grew."}),
            _hit({"kind": "text", "task": "retrieval", "source": "notes.md#2", "chunk": 2, "text": "n"}),
            _hit({"kind": "text", "task": "retrieval", "text": "no location at all"}),
        ],
        collection=None,
        model=None,
        mode="dense",
    )
    labels = [h["location_label"] for h in out["hits"]]
    assert labels == ["src/app.py:12-40", "report.pdf#page=3", "notes.md#chunk=2", ""]
    assert out["hits"][0]["location"] == {
        "path": "src/app.py",
        "page": None,
        "lines": [12, 40],
        "chars": None,
        "chunk": None,
    }
    assert location_label({"path": "a.py", "lines": [7, 7]}) == "a.py:7"
    assert all(h["score_kind"] == "cosine" for h in out["hits"]) and out["mode"] == "dense"
    json.dumps(out)  # plain JSON all the way down


def test_snippet_is_centred_on_the_query_words_with_code_point_offsets():
    text = ("Lorem ipsum dolor sit amet. " * 40) + "Die Katze 🐈 schläft auf der warmen Tastatur. " + ("Sed do. " * 60)
    out = hits_to_json(
        "katze schläft tastatur",
        [_hit({"kind": "text", "task": "retrieval", "text": text})],
        collection=None,
        model=None,
        mode="two_stage",
        snippet_chars=120,
    )
    hit = out["hits"][0]
    snippet = hit["snippet"]
    assert snippet.startswith("…") and snippet.endswith("…") and len(snippet) <= 120 + 2 + 40
    assert [snippet[a:b] for a, b in hit["highlights"]] == ["Katze", "schläft", "Tastatur"]
    assert hit["score_kind"] == "maxsim"


def test_snippet_of_a_short_text_is_the_text_and_no_match_means_the_start():
    out = hits_to_json(
        "zebra",
        [
            _hit({"kind": "text", "task": "retrieval", "text": "short one\nline two"}),
            _hit({"kind": "text", "task": "retrieval", "text": "word " * 200}),
        ],
        collection=None,
        model=None,
        mode=None,
    )
    assert out["hits"][0]["snippet"] == "short one\nline two" and out["hits"][0]["highlights"] == []
    assert out["hits"][1]["snippet"].startswith("word word") and out["hits"][1]["snippet"].endswith("…")


def test_image_hits_get_a_thumbnail_and_missing_files_do_not_fail(tmp_path):
    picture = tmp_path / "photo.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (900, 1200, 3), dtype=np.uint8)).save(picture)
    out = hits_to_json(
        "q",
        [
            _hit({"kind": "image", "task": "retrieval", "image": str(picture), "source": f"{picture}#0"}, 2.0, 0.5),
            _hit({"kind": "image", "task": "retrieval", "image": str(tmp_path / "gone.png")}, 1.0, 0.4),
        ],
        collection=None,
        model=None,
        mode="multi",
    )
    first, second = out["hits"]
    assert first["image"] == str(picture.resolve()) and first["thumbnail"].startswith("data:image/jpeg;base64,")
    assert first["heatmap"] is None  # no collection / model given: no token-level explanation
    assert second["image"].endswith("gone.png") and second["thumbnail"] is None
    assert "z-score" in out["score_legend"]  # score != raw_score: the lists were fused
    assert (
        hits_to_json(
            "q",
            [_hit({"kind": "image", "image": str(picture)})],
            collection=None,
            model=None,
            mode=None,
            thumbnails=False,
        )["hits"][0]["thumbnail"]
        is None
    )


def test_image_query_is_labelled():
    out = hits_to_json(b"\x89PNG...", [], collection=None, model=None, mode=None)
    assert out == {"query": "[image]", "mode": "dense", "score_legend": out["score_legend"], "hits": []}


class _HookedModel:
    """A model whose query vectors and row maps the test chooses, so the expected MaxSim winner is known."""

    def __init__(self, query_rows, spans, grid=None):
        self.query_rows, self.spans, self.grid = query_rows, spans, grid

    def encode_query(self, query, **kwargs):
        from jina_local import EncodeResult

        return EncodeResult(dense=None, multi=[self.query_rows], tasks=["retrieval"], kinds=["text"])

    def multi_row_spans(self, text, *, role="document", task=None):
        return self.spans

    def image_patch_grid(self, image):
        return self.grid


class _Store:
    has_multi, pool_factor = True, None

    def __init__(self, doc_rows):
        self.doc_rows = doc_rows

    def get(self, ids, with_vectors=False):
        return [{"id": ids[0], "payload": {}, "vector": {"dense": None, "multi": self.doc_rows}}]


def test_maxsim_rows_choose_the_snippet_and_the_heat_map(tmp_path):
    eye = np.eye(128, dtype=np.float32)
    text = ("filler words here. " * 40) + "the decisive sentence." + (" tail" * 100)
    where = text.index("decisive")
    # row 0 is a prompt row (no span), row 1 covers the start, row 2 the decisive word: the query matches row 2
    spans = [None, (0, 6), (where, where + len("decisive"))]
    doc = np.stack([eye[5], eye[1], eye[0]])
    model = _HookedModel(query_rows=eye[[0]], spans=spans)
    out = hits_to_json(
        "no shared words",
        [_hit({"kind": "text", "task": "retrieval", "text": text})],
        collection=_Store(doc),
        model=model,
        mode="two_stage",
        snippet_chars=100,
    )
    hit = out["hits"][0]
    assert [hit["snippet"][a:b] for a, b in hit["highlights"]] == ["decisive"]

    picture = tmp_path / "page.png"
    Image.new("RGB", (56, 56)).save(picture)
    patches = np.stack([eye[9], eye[1], eye[0], eye[2], eye[3]])  # row 0 prompt, rows 1-4 a 2x2 grid
    model = _HookedModel(query_rows=eye[[0]], spans=[], grid=(1, 2, 2))
    out = hits_to_json(
        "q",
        [_hit({"kind": "image", "task": "retrieval", "image": str(picture)})],
        collection=_Store(patches),
        model=model,
        mode="multi",
    )
    assert out["hits"][0]["heatmap"] == {"rows": 2, "cols": 2, "values": [0.0, 1.0, 0.0, 0.0]}

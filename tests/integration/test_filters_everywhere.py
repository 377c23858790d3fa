"""Filters mean the same on every engine and payload layout, and bad ones are refused by name.

Each filter (dicts, qdrant ``Filter`` objects and LlamaIndex ``MetadataFilters``, which the core
reads without importing llama-index) is checked against a plain Python predicate over the
metadata, on qdrant-client's local mode, on the embedded engine, and on a collection holding flat
layout-1 points. The text-match entries pin what Qdrant's ``MatchText`` matches on an unindexed
field (docs/llamaindex.md quotes it): every word of the query as a whole word, any order, any case.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from llama_index.core.vector_stores.types import FilterCondition, FilterOperator, MetadataFilter, MetadataFilters
from qdrant_client import models

from jina_local.qdrant import FilterError, MultiVectorCollection, check_filter
from jina_local.qdrant._base import PointRecord

DIM = 8
TITLES = ["Hello World", "say hello, world!", "Shell worlds", "HELLO", "foo_bar-baz"]
META: list[dict[str, Any]] = [
    {
        "n": i,
        "title": TITLES[i % len(TITLES)],
        "lang": ["en", "de", "py"][i % 3],
        "tags": ["a", "b"][: 1 + i % 2],
        "score": i / 4,
        "day": (dt.date(2024, 1, 1) + dt.timedelta(days=i)).isoformat(),
        **({"note": None} if i % 4 == 0 else {}),
        **({"extra": "x"} if i < 3 else {}),
    }
    for i in range(12)
]

FILTERS: dict[str, tuple[Any, Callable[[dict[str, Any]], bool]]] = {
    "equality": ({"lang": "de"}, lambda m: m["lang"] == "de"),
    "any of a list": ({"lang": ["de", "py"]}, lambda m: m["lang"] in ("de", "py")),
    "two fields": ({"lang": "en", "n": {"$gt": 3}}, lambda m: m["lang"] == "en" and m["n"] > 3),
    "range": ({"n": {"$gte": 2, "$lt": 5}}, lambda m: 2 <= m["n"] < 5),
    "float equality": ({"score": 0.5}, lambda m: m["score"] == 0.5),
    "ne": ({"lang": {"$ne": "en"}}, lambda m: m["lang"] != "en"),
    "in / nin": (
        {"n": {"$in": [1, 2, 3]}, "lang": {"$nin": ["de"]}},
        lambda m: m["n"] in (1, 2, 3) and m["lang"] != "de",
    ),
    "array contains": ({"tags": {"$contains": "b"}}, lambda m: "b" in m["tags"]),
    "array all": ({"tags": {"$all": ["a", "b"]}}, lambda m: {"a", "b"} <= set(m["tags"])),
    "exists": ({"extra": {"$exists": True}}, lambda m: "extra" in m),
    "not exists": ({"extra": {"$exists": False}}, lambda m: "extra" not in m),
    "is null": ({"note": None}, lambda m: "note" in m and m["note"] is None),
    "dates": (
        {"day": {"$gte": "2024-01-05", "$lte": dt.date(2024, 1, 7)}},
        lambda m: "2024-01-05" <= m["day"] <= "2024-01-07",
    ),
    "or": ({"$or": [{"n": 0}, {"lang": "py"}]}, lambda m: m["n"] == 0 or m["lang"] == "py"),
    "and + not": (
        {"$and": [{"n": {"$lte": 8}}, {"$not": {"lang": "en"}}]},
        lambda m: m["n"] <= 8 and m["lang"] != "en",
    ),
    "jina-local's own field": ({"task": "code"}, lambda m: m["n"] % 2 == 1),
    "qdrant-shaped dict": ({"must": [{"key": "lang", "match": {"value": "py"}}]}, lambda m: m["lang"] == "py"),
    "qdrant Filter": (
        models.Filter(must_not=[models.FieldCondition(key="n", range=models.Range(lt=10))]),
        lambda m: m["n"] >= 10,
    ),
    "explicit metadata key": ({"metadata.lang": "en"}, lambda m: m["lang"] == "en"),
}


def _words(text: str) -> set[str]:
    return set(re.findall(r"[^\W_]+", text.lower()))  # split at anything not a letter or digit


def _text_match(query: str) -> Callable[[dict[str, Any]], bool]:
    return lambda m: _words(query) <= _words(m["title"])


F, Op = MetadataFilter, FilterOperator
FILTERS |= {
    "llama and": (
        MetadataFilters(filters=[F(key="n", value=3, operator=Op.GTE), F(key="lang", value="en")]),
        lambda m: m["n"] >= 3 and m["lang"] == "en",
    ),
    "llama or + nested not": (
        MetadataFilters(
            filters=[
                F(key="n", value=[0, 1], operator=Op.IN),
                MetadataFilters(filters=[F(key="lang", value="de")], condition=FilterCondition.NOT),
            ],
            condition=FilterCondition.OR,
        ),
        lambda m: m["n"] in (0, 1) or m["lang"] != "de",
    ),
    "llama one filter": (F(key="tags", value="b", operator=Op.CONTAINS), lambda m: "b" in m["tags"]),
    "llama is_empty": (
        MetadataFilters(filters=[F(key="extra", value=None, operator=Op.IS_EMPTY)]),
        lambda m: "extra" not in m,
    ),
    "llama no filters": (MetadataFilters(filters=[]), lambda m: True),
    "text: a word, any case": ({"title": {"$text": "hello"}}, _text_match("hello")),
    "text: all words, any order": ({"title": {"$text": "WORLD hello"}}, _text_match("world hello")),
    "text: not a substring": ({"title": {"$text": "ell"}}, lambda m: False),
    "text: no stemming": ({"title": {"$text": "world"}}, _text_match("world")),
    "text: split at _ and -": ({"title": {"$text": "bar"}}, _text_match("bar")),
    "llama text_match": (F(key="title", value="Hello", operator=Op.TEXT_MATCH), _text_match("hello")),
    "llama text_match_insensitive": (
        MetadataFilters(filters=[F(key="title", value="HELLO world", operator=Op.TEXT_MATCH_INSENSITIVE)]),
        _text_match("hello world"),
    ),
}


@pytest.fixture(scope="module", params=["memory", "edge", "layout-1"])
def collection(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    rng = np.random.default_rng(0)
    dense = rng.normal(size=(len(META), DIM)).astype(np.float32)
    location = ":memory:" if request.param == "memory" else tmp_path_factory.mktemp("filters")
    coll = MultiVectorCollection.open(location, "f", dense_dim=DIM, multi=False)
    tasks = ["code" if m["n"] % 2 else "retrieval" for m in META]
    if request.param == "layout-1":  # half of the points written flat, as jina-local 0.1 did
        half = len(META) // 2
        coll.add_embeddings(
            dense[half:], payloads=META[half:], tasks=tasks[half:], texts=[str(m["n"]) for m in META[half:]]
        )
        coll._backend.upsert(
            [
                PointRecord(
                    f"00000000-0000-4000-8000-{i:012d}",
                    dense[i],
                    None,
                    {"kind": "text", "task": tasks[i], "source": "", "text": str(i), **META[i]},
                )
                for i in range(half)
            ]
        )
        meta = coll.metadata
        meta.pop("payload_layout")
        coll._backend.set_metadata(meta)
        coll.close()
        coll = MultiVectorCollection.open(location, "f", dense_dim=DIM, multi=False)
        assert coll._legacy_payload
    else:
        coll.add_embeddings(dense, payloads=META, tasks=tasks, texts=[str(m["n"]) for m in META])
    yield coll
    coll.close()


@pytest.mark.parametrize("name", list(FILTERS))
def test_filter_means_the_same_everywhere(collection: Any, name: str) -> None:
    flt, pred = FILTERS[name]
    want = {m["n"] for m in META if pred(m)}
    hits = collection.search_embeddings(dense=np.ones(DIM, dtype=np.float32), limit=50, mode="dense", filter=flt)
    assert {int(h.text) for h in hits} == want
    assert collection.count(flt) == len(want)


@pytest.mark.parametrize(
    ("flt", "needle"),
    [
        ({"n": {"$near": 3}}, r"filter field 'n': operator\(s\) \['\$near'\] are not supported"),
        ({"n": {"$gt": "soon"}}, r"filter field 'n': \$gt 'soon' is neither a number nor an ISO date"),
        ({"n": {"$in": []}}, r"filter field 'n': \$in takes a non-empty list"),
        ({"lang": {"$exists": "yes"}}, r"filter field 'lang': \$exists takes True or False"),
        ({"lang": {"x": 1}}, r"filter field 'lang': operator\(s\) \['x'\]"),
        ({"$xor": [{"n": 1}]}, r"filter key '\$xor' is not a field name"),
        ({"$or": {"n": 1}}, r"\$or takes a non-empty list"),
        ({"must": [{"key": "n"}], "lang": "en"}, r"mixes Qdrant's filter shape .* with field names \['lang'\]"),
        ({"must": [{"kee": "n"}]}, "not a valid one"),
        ("lang = 'en'", "must be a qdrant_client.models.Filter, a dict or LlamaIndex MetadataFilters, got str"),
        (MetadataFilters(filters=[MetadataFilter(key="n", value=[], operator="in")]), r"'n': \$in takes a non-empty"),
        (MetadataFilter.model_construct(key="n", value=1, operator="near"), r"MetadataFilter on 'n': operator 'near'"),
    ],
)
def test_bad_filters_are_refused_naming_the_field(flt: Any, needle: str) -> None:
    with pytest.raises(FilterError, match=needle):
        check_filter(flt)


def test_field_names_resolve_to_metadata_and_both_places_in_layout_1() -> None:
    flt = check_filter({"lang": "en", "kind": "code"})
    assert [c.key for c in flt.must] == ["metadata.lang", "kind"]
    legacy = check_filter({"lang": "en"}, legacy=True)
    assert [c.key for c in legacy.must[0].should] == ["metadata.lang", "lang"]
    assert check_filter(None) is None and check_filter({}) is None

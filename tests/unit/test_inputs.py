"""Item typing: text validity, containers that are not item lists, missing image paths, PIL failures."""

from __future__ import annotations

import io
from collections import OrderedDict

import numpy as np
import pytest
from PIL import Image

from jina_local.errors import InputError
from jina_local.inputs import (
    ImageInput,
    TextInput,
    as_item_list,
    check_text,
    iter_items,
    load_item,
)
from jina_local.kinds import names_image_file


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (3, 2), (9, 9, 9)).save(buf, "PNG")
    return buf.getvalue()


# -- text ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, code, position", [("a\ud800b", 0xD800, 1), ("\udfff", 0xDFFF, 0), ("ok é \udc80", 0xDC80, 5)]
)
def test_lone_surrogates_are_refused_with_their_position(text, code, position):
    with pytest.raises(
        InputError, match=rf"item 4 contains a lone surrogate \(U\+{code:04X}\) at character {position}"
    ):
        load_item(text, 4)


def test_valid_unicode_passes():
    for text in ("", "plain", "é 漢字 😀", "\x00 nul is text"):
        assert check_text(text, 0) == text
        assert load_item(text, 0) == TextInput(text)


# -- containers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "items, match",
    [
        ({"alpha": 1}, "dict.*keys would be embedded"),
        (OrderedDict(a=1), "mapping"),
        ({"a", "b"}, "set, which has no order"),
        (frozenset({"a"}), "no order"),
        (io.BytesIO(b"abc"), "open file"),
        (io.StringIO("abc"), "open file"),
        (np.zeros((4, 4, 3), dtype=np.uint8), r"numeric array.*Image\.fromarray"),
        (np.arange(3.0), "numeric array"),
        (None, "None instead of items"),
    ],
)
def test_containers_that_are_not_item_lists(items, match):
    with pytest.raises(InputError, match=match):
        as_item_list(items)


def test_ordered_item_collections():
    assert as_item_list(("a", "b")) == ["a", "b"]
    assert as_item_list(x for x in "ab") == ["a", "b"]
    assert as_item_list(np.array(["x", "y"])) == ["x", "y"]
    assert as_item_list({"k": 1}.keys()) == ["k"]
    data = _png()
    assert as_item_list(data) == [data] and len(as_item_list(memoryview(data))) == 1
    assert as_item_list(5) == [5]  # load_item then names the type with the index
    gen = iter_items(x for x in range(10**9))  # not materialised
    assert next(gen) == 0


def test_unsupported_item_types_name_index_and_type():
    with pytest.raises(InputError, match="item 2 has unsupported type int"):
        load_item(5, 2)
    with pytest.raises(InputError, match=r"item 0 has unsupported type ndarray.*fromarray"):
        load_item(np.zeros((2, 2)), 0)
    with pytest.raises(InputError, match="item 1 has unsupported type dict"):
        load_item({"a": 1}, 1)


# -- image paths with images="auto" -------------------------------------------------------------


def test_missing_image_path_is_an_error_with_auto(tmp_path):
    for ref in (str(tmp_path / "missing.png"), "cat.JPG", "photos/cat 1.webp", "./x.gif", "file:///nope/a.png"):
        with pytest.raises(InputError, match="which does not exist.*images='off'"):
            load_item(ref, 3, images="auto")
        assert isinstance(load_item(ref, 3), TextInput)  # images="off": text, as documented


def test_sentences_ending_in_an_extension_stay_text(tmp_path):
    for ref in ("I like cat.png", "see the chart below.jpg", "cat.png\nsecond line", "https://example.com/cat.txt"):
        assert isinstance(load_item(ref, 0, images="auto"), TextInput), ref


def test_existing_image_path_with_auto(tmp_path):
    path = tmp_path / "real.png"
    path.write_bytes(_png())
    typed = load_item(str(path), 0, images="auto")
    assert isinstance(typed, ImageInput) and typed.image.size == (3, 2) and typed.source == str(path)


def test_names_image_file():
    assert names_image_file("C:\\pics\\my cat.png") and names_image_file("~/a.jpeg")
    assert not names_image_file("notes.txt") and not names_image_file("data:image/png;base64,AAAA")
    assert not names_image_file("") and not names_image_file("   ")


# -- PIL failures -------------------------------------------------------------------------------


def test_file_with_an_image_extension_but_other_content(tmp_path):
    path = tmp_path / "fake.png"
    path.write_text("this is not a png")
    with pytest.raises(InputError, match=r"item 6 \(.*fake\.png\) could not be read as an image"):
        load_item(str(path), 6, images="auto")
    with pytest.raises(InputError, match="item 6"):
        load_item(path, 6)


def test_data_uri_with_garbage():
    with pytest.raises(InputError, match=r"item 0 \(data URI\) could not be read as an image"):
        load_item("data:image/png;base64,aGVsbG8=", 0)
    with pytest.raises(InputError, match="without a ';base64,' payload"):
        load_item("data:image/png,raw", 0)


def test_lazy_pil_image_that_fails_to_load():
    buf = io.BytesIO()
    noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(buf, "PNG")
    lazy = Image.open(io.BytesIO(buf.getvalue()[:200]))  # header fine, pixels missing
    with pytest.raises(InputError, match="item 0 could not be read as an image"):
        load_item(lazy, 0)


def test_encode_refuses_dicts_and_surrogates(tiny_v4):
    with pytest.raises(InputError, match="keys would be embedded"):
        tiny_v4.encode({"alpha": 1})
    with pytest.raises(InputError, match="item 1 contains a lone surrogate"):
        tiny_v4.encode(["fine", "a\ud800b"])
    with pytest.raises(InputError, match="does not exist"):
        tiny_v4.encode(["missing/photo.jpg"], images="auto")

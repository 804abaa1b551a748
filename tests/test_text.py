"""t2ilib.text: Reed's alphabet, 1-based indices, lowercasing, truncation, errors."""

import pytest
import torch

from t2ilib import text


def test_alphabet_matches_reeds_torch_code():
    assert text.ALPHABET_SIZE == 70
    assert len(set(text.ALPHABET)) == 69  # '-' twice
    assert text.ALPHABET.index("-") == 36 and text.ALPHABET.rindex("-") == 59
    # Lua: for i = 1, #alphabet do dict[alphabet:sub(i, i)] = i end  (a later '-' wins)
    assert text.CHAR_TO_INDEX["-"] == 60
    assert text.CHAR_TO_INDEX["a"] == 1
    assert text.CHAR_TO_INDEX["0"] == 27
    assert text.CHAR_TO_INDEX[" "] == 70
    assert text.CHAR_TO_INDEX["}"] == 69
    assert set(text.CHAR_TO_INDEX.values()) == set(range(1, 71)) - {37}


def test_encode_shape_padding_and_lowercase():
    x = text.encode(["A Red-Circle", "ok"])
    assert x.shape == (2, text.DOC_LENGTH) and x.dtype == torch.int64
    assert x[0, :12].tolist() == [text.CHAR_TO_INDEX[c] for c in "a red-circle"]
    assert (x[0, 12:] == 0).all() and (x[1, 2:] == 0).all()
    assert text.decode(x) == ["a red-circle", "ok"]


def test_unknown_characters_become_zero():
    x = text.encode(["a\u00e9b\tc"])
    assert x[0, :5].tolist() == [1, 0, 2, 0, 3]


def test_long_captions_are_truncated_to_201():
    caption = "abc " * 100  # 400 characters
    x = text.encode([caption])
    assert x.shape == (1, 201)
    assert text.decode(x)[0] == caption[:201]


def test_one_hot_channels_first_and_padding_is_zero():
    x = text.encode(["ab"])
    h = text.one_hot(x)
    assert h.shape == (1, 70, 201)
    assert h[0, 0, 0] == 1 and h[0, 1, 1] == 1 and h[0, :, 2:].sum() == 0
    assert h.sum() == 2


@pytest.mark.parametrize(
    "captions, error, match",
    [
        ([], ValueError, "empty"),
        ([""], ValueError, "caption 0 is empty"),
        (["ok", "   "], ValueError, "caption 1 is empty"),
        (["ok", None], TypeError, "caption 1 is NoneType"),
        ([3], TypeError, "not a string"),
        ("a single string", TypeError, "wrap it in a list"),
        (["\u65e5\u672c"], ValueError, "no character of Reed's alphabet"),
    ],
)
def test_bad_captions_raise_clear_errors(captions, error, match):
    with pytest.raises(error, match=match):
        text.encode(captions)

import pytest
from hypothesis import given, strategies as st

from shared.b64 import b64url_decode, b64url_encode
from shared.jsonstrict import JSONFormatError, dumps_canonical, loads_strict


@given(st.binary(max_size=200))
def test_b64_round_trip(data):
    assert b64url_decode(b64url_encode(data)) == data


@pytest.mark.parametrize("text", ["AA==", "A", "AB", "a+b/", "YQ ", " YQ", "YR", "Y\nQ", "ЖЖ"])
def test_b64_refuses_non_canonical(text):
    with pytest.raises(ValueError):
        b64url_decode(text)


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ .", max_size=40))
def test_b64_decoded_text_has_one_spelling(text):
    try:
        data = b64url_decode(text)
    except ValueError:
        return
    assert b64url_encode(data) == text


def test_json_round_trip_keeps_cyrillic_short():
    raw = dumps_canonical({"f": "Иванова"})
    assert raw == '{"f":"Иванова"}'.encode()
    assert loads_strict(raw) == {"f": "Иванова"}


@pytest.mark.parametrize("raw", [
    b'{"a":1,"a":2}', b'{"a":NaN}', b'{"a":Infinity}', b'\xef\xbb\xbf{}', '{"a":1}'.encode("utf-16"),
    b'{"a":"\xff"}', b"[" * 5000 + b"]" * 5000, b"{", b""])
def test_json_refuses(raw):
    with pytest.raises(JSONFormatError):
        loads_strict(raw)

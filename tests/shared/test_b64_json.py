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


# --- two parsers, one meaning (shared/jsonstrict.py): the orjson fast path never decides
# differently from the stdlib parser with its duplicate check --------------------------------

def _stdlib(raw: bytes):
    from shared import jsonstrict
    saved, jsonstrict.orjson = jsonstrict.orjson, None
    try:
        return ("ok", jsonstrict.loads_strict(raw))
    except JSONFormatError:
        return ("refused", None)
    finally:
        jsonstrict.orjson = saved


def _both(raw: bytes):
    try:
        fast = ("ok", loads_strict(raw))
    except JSONFormatError:
        fast = ("refused", None)
    return fast, _stdlib(raw)


@pytest.mark.parametrize("raw", [
    b'{"a":1,"a":2}', b'{"a":1, "a" :2}', b'{"a" :1,"a":2}', b'{"a":1,"\\u0061":2}',
    b'{"a":{"b":1,"b":1}}', b'[{"a":1},{"a":1,"a":1}]', b'{"x":"\\":","a":1,"a":2}',
    b'{"a":"\\":"}', b'{"a":18446744073709551616}', b'{"a":1.0}', b'{"a":1e400}', b'{"a":-0}',
    b'{"a":"\\ud800"}', b'{"a"\n:1,"a"\t:2}', b'{"a":1}', b'[]', b'"\\":"', b'{"a":[1,2,{"b":null}]}',
    '{"f":"Иванова","f":"Петрова"}'.encode(), b'\xef\xbb\xbf{}', b'{"a":NaN}',
    b"[" * 300 + b"]" * 300, b'{"a":' * 300 + b"1" + b"}" * 300, b"[" * 1020 + b"]" * 1020,
    b'{"a":' * 1000 + b'{"a":1,"a":2}' + b"}" * 1000])
def test_fast_and_stdlib_parsers_agree(raw):
    fast, slow = _both(raw)
    assert fast == slow
    if fast[0] == "ok":
        assert type(fast[1]) is type(slow[1])


_json_text = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
    | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4)
    | st.lists(st.tuples(st.sampled_from(["a", "b", "\\u0061", '\\":', "ж"]), inner), max_size=4),
    max_leaves=12)


def _render(value, spaces) -> str:
    import json as std
    if isinstance(value, list) and value and all(isinstance(p, tuple) for p in value):
        sep = spaces.draw(st.sampled_from(["", " ", "\n", "\t"]))
        return "{" + ",".join(f'"{k}"{sep}:{_render(v, spaces)}' for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_render(v, spaces) for v in value) + "]"
    return std.dumps(value, ensure_ascii=False)


@given(_json_text, st.data())
def test_fast_and_stdlib_parsers_agree_on_generated_json(value, data):
    raw = _render(value, data).encode("utf-8")
    fast, slow = _both(raw)
    assert fast == slow


def test_a_credential_payload_takes_the_fast_path():
    from shared import jsonstrict
    pytest.importorskip("orjson")
    payload = dumps_canonical({"iss": "RU-27", "iat": 1, "h": {"f": "Иванова", "b": "1988-04-12"},
                               "status": {"status_list": {"idx": 1, "uri": "https://x/1"}}})
    assert jsonstrict._fast(payload) == loads_strict(payload)
    assert jsonstrict._fast(b'{"a":1,"a":2}') is jsonstrict._SLOW


@given(st.binary(max_size=300))
def test_b64_bytes_form_is_the_same_spelling(data):
    from shared.b64 import b64url_encode_bytes
    assert b64url_encode_bytes(data) == b64url_encode(data).encode("ascii")

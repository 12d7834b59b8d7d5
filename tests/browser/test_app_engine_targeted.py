"""Targeted cases for the browser engine: the traps of a second implementation (duplicate
members, high S, non-canonical base64url, big numbers, lone surrogates, depth, a 5 MB text,
Ed25519 with and without WebCrypto support), repeated use, and sync that keeps the previous data.
Token-level cases are compared with the Python verifier computed live, like the vectors.
"""
from __future__ import annotations

import json
import time

import jwt
import pytest

from shared import qrtext, token
from tests.browser.app_engine_harness import Case, EnginePage, vector_world
from tests.vectors.build import b64, issuers, vectors

NOW = int(time.time())
KHV, PRIM = issuers()
GOOD_CLAIMS = KHV.credential(NOW, 1).to_claims()
HEADER = {"alg": "ES256", "kid": KHV.kid, "typ": token.CREDENTIAL_TYP}


def signed(header: bytes, payload: bytes) -> str:
    """A token over exactly these bytes, signed by the real issuer key (low S)."""
    signing_input = b64(header) + "." + b64(payload)
    sig = token._low_s(jwt.algorithms.ECAlgorithm(jwt.algorithms.ECAlgorithm.SHA256).sign(
        signing_input.encode(), KHV.key))
    return signing_input + "." + b64(sig)


def dumps(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def claims(**changes) -> bytes:
    return dumps(dict(GOOD_CLAIMS, **changes))


def with_text(payload: str) -> str:
    """Claims JSON whose "x" member is spelled exactly as given."""
    return signed(dumps(HEADER), claims()[:-1] + b',"x":' + payload.encode() + b"}")


ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def trailing_bit_set(part: str) -> str:
    """The same bytes spelled with a non-zero unused bit in the last character (non-canonical)."""
    assert len(part) % 4 in (2, 3)
    return part[:-1] + ALPHABET[ALPHABET.index(part[-1]) | 1]


def token_cases() -> list[Case]:
    good = {v.name: v.text for v in vectors(NOW)}["valid_large_family_compact"]
    h, p, s = good.split(".")
    sig = bytearray(jwt.utils.base64url_decode(s))
    n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    high_s = bytes(sig[:32]) + (n - int.from_bytes(sig[32:], "big")).to_bytes(32, "big")
    holder = dict(GOOD_CLAIMS["h"])
    raw = [
        ("duplicate_header_member", signed(b'{"alg":"ES256","kid":"%s","typ":"socpass+jwt","typ":"JWT"}'
                                           % KHV.kid.encode(), claims())),
        ("duplicate_claim_signed", signed(dumps(HEADER), claims()[:-1] + b',"n":9}')),
        ("duplicate_nested_member", signed(dumps(HEADER), claims(h={"f": "A"})[:-2] + b',"f":"B"}}')),
        ("proto_member", with_text('{"__proto__":{"t":"x"}}')),
        ("high_s_qr", qrtext.encode(h + "." + p + "." + b64(high_s))),
        ("signature_trailing_bits", h + "." + p + "." + trailing_bit_set(s)),
        ("header_trailing_bits", trailing_bit_set(h) + "." + p + "." + s),
        ("base64_standard_alphabet", h + "." + p + "." + s.replace("-", "+").replace("_", "/")),
        ("exp_2_53", signed(dumps(HEADER), claims(exp=2**53))),
        ("exp_2_53_minus_1", signed(dumps(HEADER), claims(exp=2**53 - 1))),
        ("exp_2_64", signed(dumps(HEADER), claims(exp=2**64))),
        ("exp_5000_digits", signed(dumps(HEADER), claims()[:-1] + b',"big":' + b"9" * 5000 + b"}")),
        ("exp_float_whole", signed(dumps(HEADER), claims()[:-1].replace(b'"exp":%d' % GOOD_CLAIMS["exp"],
                                                                          b'"exp":%d.0' % GOOD_CLAIMS["exp"]) + b"}")),
        ("exp_exponent", signed(dumps(HEADER), claims()[:-1].replace(b'"exp":%d' % GOOD_CLAIMS["exp"],
                                                                       b'"exp":1e10') + b"}")),
        ("iat_negative", signed(dumps(HEADER), claims(iat=-1))),
        ("exp_true", signed(dumps(HEADER), claims(exp=True))),
        ("idx_2_70", signed(dumps(HEADER), claims(status={"status_list": {"idx": 2**70, "uri": KHV.list_uri}}))),
        ("idx_float", signed(dumps(HEADER), claims(status={"status_list": {"idx": 1.0, "uri": KHV.list_uri}}))),
        ("children_10_30", signed(dumps(HEADER), claims(n=10**30))),
        ("children_bool", signed(dumps(HEADER), claims(n=True))),
        ("big_number_extra_member", with_text("123456789012345678901234567890")),
        ("minus_zero_extra_member", with_text("-0")),
        ("lone_surrogate_in_name", signed(dumps(HEADER), claims().replace(b'"g":"', b'"g":"\\ud800'))),
        ("lone_surrogate_in_jti", signed(dumps(HEADER), claims().replace(b'"jti":"', b'"jti":"\\udc00'))),
        ("astral_letter_in_name", signed(dumps(HEADER), claims(h=dict(holder, g="𝔄нна")))),
        ("bidi_override_in_name", signed(dumps(HEADER), claims(h=dict(holder, g="Ан\u202eна")))),
        ("double_space_in_name", signed(dumps(HEADER), claims(h=dict(holder, g="Анна  Мария")))),
        ("decomposed_name_not_nfc", signed(dumps(HEADER), claims(h=dict(holder, g="Е\u0308лка")))),
        ("date_not_real", signed(dumps(HEADER), claims(h=dict(holder, b="2023-02-29")))),
        ("date_year_0", signed(dumps(HEADER), claims(h=dict(holder, b="0000-01-01")))),
        ("jti_too_short", signed(dumps(HEADER), claims(jti="abc"))),
        ("control_char_in_string", signed(dumps(HEADER), claims()[:-1] + b',"x":"a\x01b"}')),
        ("nested_50", with_text("[" * 50 + "]" * 50)),
        ("nested_2000", with_text("[" * 2000 + "]" * 2000)),
        ("nested_2000_unsigned", h + "." + b64(claims()[:-1] + b',"x":' + b"[" * 2000 + b"]" * 2000 + b"}") + "." + s),
        ("nan_extra_member", with_text("NaN")),
        ("minus_infinity", with_text("-Infinity")),
        ("five_mb_text", "1" * 5_000_000),
        ("five_mb_jws", "e" * 5_000_000 + ".e30.AA"),
        ("qr_2400_digits", "1" + "0" * 2399),
        ("qr_2401_digits", "1" + "0" * 2400),
        ("qr_bit_flipped", str(int(qrtext.encode(good)) ^ (1 << 1000))),
        ("qr_version_2", str(int(qrtext.encode(good)) + (1 << (int(qrtext.encode(good)).bit_length() - 8)))),
        ("qr_trailing_bytes", str(int(qrtext.encode(good)) * 256 + 7)),
        ("eddsa_valid", {v.name: v.text for v in vectors(NOW)}["valid_beneficiary_eddsa"]),
    ]
    return [Case(name, text, NOW) for name, text in raw]


CASES = token_cases()


@pytest.fixture(scope="module")
def world(tmp_path_factory, playwright_instance):
    with vector_world(playwright_instance, tmp_path_factory.mktemp("engine-targeted"), NOW) as found:
        yield found.root, found.python, found.server, found.browser


@pytest.fixture(scope="module")
def results(world):
    _, python, server, browser = world
    page = EnginePage(browser, server)
    return page.run(CASES, NOW, venue="museum", settings=python.engine_settings())["results"]


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c.name for c in CASES])
def test_same_as_python(world, results, index):
    python = world[1]
    assert results[index] == python.verify(CASES[index])


def test_the_traps_are_refused(results):
    """The cases above do not all agree by being accepted: the hostile ones are refused."""
    by_name = {c.name: r["code"] for c, r in zip(CASES, results)}
    assert by_name["duplicate_header_member"] == by_name["duplicate_claim_signed"] == "malformed"
    assert by_name["high_s_qr"] == "bad_signature"
    assert by_name["signature_trailing_bits"] == by_name["header_trailing_bits"] == "malformed"
    assert by_name["exp_2_53"] == by_name["exp_float_whole"] == by_name["exp_true"] == "malformed"
    assert by_name["idx_2_70"] == "status_unavailable"       # a whole number past every list
    assert by_name["lone_surrogate_in_name"] == "malformed"
    assert by_name["lone_surrogate_in_jti"] == "valid"       # Python takes it too: jti is opaque
    assert by_name["five_mb_text"] == by_name["five_mb_jws"] == "malformed"
    assert by_name["eddsa_valid"] == "valid"


def test_five_megabytes_refused_before_any_work(world):
    """A 5 MB text is refused by its length alone: no big-number or JSON work on it."""
    _, python, server, browser = world
    page = EnginePage(browser, server)
    took = page.page.evaluate("""async () => {
      const {parse} = await import("./engine/qrtext.js");
      const text = "7".repeat(5_000_000);
      const t = performance.now();
      try { parse(text); } catch (err) { return [err.verificationCode, performance.now() - t]; }
      return ["accepted", 0];
    }""")
    assert took[0] == "malformed"


def test_without_ed25519_never_valid(world):
    """A browser whose WebCrypto lacks Ed25519 refuses an EdDSA credential with its own message."""
    root, python, server, browser = world
    context = browser.new_context()
    context.add_init_script("""(() => {
      const real = crypto.subtle.importKey.bind(crypto.subtle);
      crypto.subtle.importKey = (format, data, alg, ...rest) =>
        (alg && (alg === "Ed25519" || alg.name === "Ed25519"))
          ? Promise.reject(new DOMException("unsupported", "NotSupportedError")) : real(format, data, alg, ...rest);
    })();""")
    eddsa = next(v.text for v in vectors(NOW) if v.name == "valid_beneficiary_eddsa")
    es256 = next(v.text for v in vectors(NOW) if v.name == "valid_large_family_qr")
    page = EnginePage.__new__(EnginePage)
    page.page = context.new_page()
    page.errors = []
    page.page.goto(server.url + "/scan/engine-test.html")
    page.page.wait_for_function("window.engineReady === true")
    out = page.run([Case("eddsa", eddsa, NOW), Case("es256", es256, NOW)], NOW, venue="museum",
                   settings=python.engine_settings())
    assert out["report"]["ok"]  # the EdDSA issuer still syncs (its key is kept, unusable)
    eddsa_result, es256_result = out["results"]
    assert (eddsa_result["verdict"], eddsa_result["code"]) == ("reject", "unsupported_algorithm")
    assert "EdDSA" in eddsa_result["message"] and "Ed25519" in eddsa_result["message_en"]
    assert eddsa_result["credential"] is None
    assert es256_result["code"] == "valid"
    context.close()


REPEATED_JS = """async ({policy, text, now, builtin, settings}) => {
  const {syncPublication, createVerifier} = window.engine;
  const messages = await (await fetch("messages.json")).json();
  const fetchText = async (rel) => {
    const r = await fetch("/pub/" + rel);
    return r.status === 404 ? {status: 404} : {status: r.status, text: await r.text()};
  };
  const {snapshot} = await syncPublication(fetchText, null, {now, messages, sources: ["ru27/", "ru25/"]});
  const deviceKey = await crypto.subtle.generateKey({name: "HMAC", hash: "SHA-256"}, false, ["sign"]);
  const store = new Map();
  const seen = {get: async (tag) => store.get(tag), put: async (tag, when) => { store.set(tag, when); }};
  const v = createVerifier(snapshot, {venue: "museum", messages, deviceKey, seen, builtinProfiles: builtin,
                                      settings: {...settings, recent_policy: policy}});
  const first = await v.verify(text, now);
  const second = await v.verify(text, now + 125);
  const later = await v.verify(text, now + 125 + 601);
  return {first, second, later, stored: [...store.entries()]};
}"""


@pytest.mark.parametrize("policy", ["warn", "reject"])
def test_repeated_use_at_this_device(world, policy):
    _, python, server, browser = world
    page = EnginePage(browser, server)
    text = next(v.text for v in vectors(NOW) if v.name == "valid_large_family_qr")
    from verifier.policy import BUILTIN_PROFILES

    out = page.page.evaluate(REPEATED_JS, {"policy": policy, "text": text, "now": NOW,
                                           "builtin": BUILTIN_PROFILES, "settings": python.engine_settings()})
    assert out["first"]["code"] == "valid" and out["first"]["warnings"] == []
    second = out["second"]
    assert second["warnings"] == ["recently_used"]
    if policy == "warn":
        assert second["code"] == "valid"
        assert "2 мин назад" in second["warning_messages"][0]["message"]
    else:
        assert (second["verdict"], second["code"]) == ("reject", "not_entitled")
        assert "2 мин назад" in second["message"] and "2 min ago" in second["message_en"]
    # past the window: a fresh use again (with "warn", the second use was the last one seen)
    assert out["later"]["warnings"] == []
    # only an opaque tag and a time are kept: no name, no jti, no issuer
    [(tag, when)] = out["stored"]
    assert len(tag) == 64 and all(c in "0123456789abcdef" for c in tag)
    assert when in (NOW + 125 + 601,)


def test_engine_constants_are_pythons(world):
    """The few constants the engine cannot read from messages.json equal Python's."""
    _, python, server, browser = world
    page = EnginePage(browser, server)
    got = page.page.evaluate("""async () => {
      const v = await import("./engine/verifier.js");
      const q = await import("./engine/qrtext.js");
      return {settings: v.DEFAULT_SETTINGS, dictionary: Array.from(q.PRESET_DICTIONARY),
              digits: q.MAX_QR_DIGITS, inflated: q.MAX_INFLATED};
    }""")
    assert got["settings"] == python.engine_settings()
    assert bytes(got["dictionary"]) == qrtext.PRESET_DICTIONARY
    assert (got["digits"], got["inflated"]) == (qrtext.MAX_QR_DIGITS, qrtext.MAX_INFLATED)


ZONES = ["Asia/Vladivostok", "asia/vladivostok", "UTC", "Nowhere/City", "", None, "Europe/Moscow",
         "Asia/Calcutta", "Etc/GMT+5", "Asia/Kamchatka"]
INSTANTS = [1, 86400, NOW, 1830297600, 1830333600, 253402300799, 253402300800 + 86400 * 2, 2**53 - 1]


def test_valid_until_as_python(world):
    """The last day of validity in the issuer's zone, for odd zone names and far instants."""
    from verifier.service import valid_until

    _, _, server, browser = world
    page = EnginePage(browser, server)
    got = page.page.evaluate("""async ({zones, instants}) => {
      const {validUntil} = await import("./engine/verifier.js");
      return zones.map((z) => instants.map((t) => validUntil(t, z)));
    }""", {"zones": ZONES, "instants": INSTANTS})
    assert got == [[valid_until(t, z) for t in INSTANTS] for z in ZONES]


def padding_bit_set(text: str) -> str:
    """The QR text with one unused (padding) bit of the DEFLATE stream's last byte set: the same
    credential, spelled another way."""
    import zlib

    number = int(text)
    binary = bytearray(number.to_bytes((number.bit_length() + 7) // 8, "big"))
    body = bytes(binary[2 + binary[1]:])
    want = zlib.decompressobj(-15, qrtext.PRESET_DICTIONARY).decompress(body)
    for bit in range(7, -1, -1):
        if binary[-1] & (1 << bit):
            continue
        changed = bytearray(binary)
        changed[-1] |= 1 << bit
        do = zlib.decompressobj(-15, qrtext.PRESET_DICTIONARY)
        if do.decompress(bytes(changed[2 + changed[1]:])) == want and do.eof and not do.unused_data:
            return str(int.from_bytes(changed, "big"))
    raise AssertionError("no padding bit in the last byte")


def test_qr_padding_bits_refused(world):
    """docs/spec section 15 [Q7]: one credential has one QR text. (The Python verifier of the
    spec's branch refuses it alike; before that merge, Python's inflate does not look.)"""
    _, python, server, browser = world
    page = EnginePage(browser, server)
    good = next(v.text for v in vectors(NOW) if v.name == "valid_large_family_qr")
    out = page.run([Case("canonical", good, NOW), Case("padding", padding_bit_set(good), NOW)], NOW,
                   venue="museum", settings=python.engine_settings())["results"]
    assert [r["code"] for r in out] == ["valid", "malformed"]

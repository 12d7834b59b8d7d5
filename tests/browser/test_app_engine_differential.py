"""Differential check of the two engines: seeded random edits of a credential's header and
claims JSON (quotes, escapes, lone surrogates, big numbers, floats, combining marks, bidi,
duplicate-prone member names...), each signed with the real issuer key so that it reaches the
claims checks, in compact and QR form. Every Result must equal the Python verifier's, live.
(Run with more seeds, ~7,500 such cases gave no difference.)"""
from __future__ import annotations

import random
import time

import pytest

from shared import qrtext
from tests.browser.app_engine_harness import Case, EnginePage, vector_world
from tests.browser.test_app_engine_targeted import GOOD_CLAIMS, HEADER, dumps, signed

NOW = int(time.time())
PIECES = ['"', "\\", "\\u", "\\ud800", "{", "}", "[", "]", ",", ":", "1", "0", "-", ".", "e", "1e5",
          " ", "\t", "null", "true", "1.0", "99999999999999999999", '"t"', '"n"', '"h"', '"jti"',
          '"exp"', '"iat"', '"nbf"', "Ё", "й", "\u0301", "\u202e", "𝔄", "\x00", "\x1f", "\u2028",
          '"__proto__"', '"status"', '"idx"', '"c"', '"pensioner"', '"r"', '"2000-02-29"']


def edited(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.choice([1, 1, 2, 3])):
        i = rng.randrange(len(chars) + 1)
        op = rng.random()
        if op < 0.35 and chars:
            del chars[min(i, len(chars) - 1)]
        elif op < 0.7:
            chars.insert(i, rng.choice(PIECES))
        elif chars:
            chars[min(i, len(chars) - 1)] = rng.choice(PIECES)
    return "".join(chars)


def cases(count: int = 400, seed: int = 13) -> list[Case]:
    rng = random.Random(seed)
    claims, header = dumps(GOOD_CLAIMS).decode(), dumps(HEADER).decode()
    out = []
    for k in range(count):
        if rng.random() < 0.8:
            text = signed(header.encode(), edited(rng, claims).encode("utf-8", "surrogatepass"))
        else:
            text = signed(edited(rng, header).encode("utf-8", "surrogatepass"), claims.encode())
        if k % 4 == 0:
            try:
                text = qrtext.encode(text)
            except ValueError:  # a header with a newline has no QR form
                pass
        out.append(Case(f"edit{k}", text, NOW))
    return out


CASES = cases()


@pytest.fixture(scope="module")
def outcome(tmp_path_factory, playwright_instance):
    with vector_world(playwright_instance, tmp_path_factory.mktemp("engine-diff"), NOW) as world:
        page = EnginePage(world.browser, world.server)
        got = page.run(CASES, NOW, venue="museum", settings=world.python.engine_settings())["results"]
        return [world.python.verify(c) for c in CASES], got


def test_same_results_as_python(outcome):
    expected, got = outcome
    different = [(c.name, e["code"], g["code"]) for c, e, g in zip(CASES, expected, got) if e != g]
    assert different == []
    codes = {e["code"] for e in expected}
    assert {"valid", "malformed", "status_unavailable"} <= codes  # the edits reach every stage

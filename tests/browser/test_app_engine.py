"""The browser engine gives the Python verifier's answer for every shared vector, valid and
hostile, in real headless Chromium: one parametrized test over both engines. The Python side is
computed live (Verifier.verify_text), never a stored expectation; all cases run in one page load.
"""
from __future__ import annotations

import time
from collections import defaultdict

import pytest

from tests.browser.app_engine_harness import Case, EnginePage, vector_world
from tests.vectors.build import DAY, issuers, vectors
from shared import qrtext
from shared.credential import BENEFICIARY, Holder

NOW = int(time.time())


def cases() -> list[Case]:
    """Every shared vector now, then again where time or venue changes the answer."""
    out = [Case(v.name, v.text, NOW, expected_code=v.code) for v in vectors(NOW)]
    valid = {v.name: v.text for v in vectors(NOW)}
    khv, prim = issuers()
    veteran = qrtext.encode(khv.sign(khv.credential(NOW, 20, ctype=BENEFICIARY, category="combat_veteran")))
    beyond = qrtext.encode(khv.sign(khv.credential(NOW, 5000)))
    marks = qrtext.encode(prim.sign(prim.credential(NOW, 21, holder=Holder("Ё\u0308лкина", "Анна", None, "2000-02-29"))))
    for name, text in [("valid_large_family_qr", valid["valid_large_family_qr"]),
                       ("valid_beneficiary_eddsa", valid["valid_beneficiary_eddsa"]),
                       ("revoked", valid["revoked"]), ("veteran", veteran)]:
        out += [Case(f"{name}@stale", text, NOW + 2 * DAY),            # past ttl: status_stale
                Case(f"{name}@unusable", text, NOW + 8 * DAY),         # past the list's exp
                Case(f"{name}@clock_behind", text, NOW - DAY),         # before the newest iat
                Case(f"{name}@leeway_edge", text, NOW + 365 * DAY + 59),
                Case(f"{name}@expired_edge", text, NOW + 365 * DAY + 60)]
        for venue in ("transport", "sport", "park"):
            out.append(Case(f"{name}@{venue}", text, NOW, venue=venue))
    out += [Case("index_beyond_the_list", beyond, NOW), Case("combining_marks_in_name", marks, NOW),
            Case("veteran@museum", veteran, NOW), Case("digits_with_spaces", f" \t{valid['revoked']}\r\n", NOW),
            Case("python_whitespace_0x1c", "\x1c" + valid["valid_large_family_qr"], NOW),
            Case("bom_is_not_whitespace", "\ufeff" + valid["valid_large_family_qr"], NOW)]
    return out


CASES = cases()


@pytest.fixture(scope="module")
def both(tmp_path_factory, playwright_instance):
    with vector_world(playwright_instance, tmp_path_factory.mktemp("engine-site"), NOW) as world:
        page = EnginePage(world.browser, world.server)
        by_venue: dict[str, list[int]] = defaultdict(list)
        for i, case in enumerate(CASES):
            by_venue[case.venue].append(i)
        results: list = [None] * len(CASES)
        reports = []
        for venue, idx in by_venue.items():
            run = page.run([CASES[i] for i in idx], NOW, venue=venue, settings=world.python.engine_settings())
            reports.append(run["report"])
            for i, result in zip(idx, run["results"]):
                results[i] = result
        yield world.python, results, reports, page.errors


def test_engine_synced(both):
    _, _, reports, errors = both
    assert all(r["ok"] for r in reports), reports
    assert [i["iss"] for i in reports[0]["issuers"]] == ["RU-27", "RU-25"]
    assert errors == []


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c.name for c in CASES])
def test_same_result_as_python(both, index):
    python, results, _, _ = both
    case = CASES[index]
    expected = python.verify(case)
    if case.expected_code is not None:
        assert expected["code"] == case.expected_code  # the Python side agrees with the vector
    got = results[index]
    assert (got["verdict"], got["code"], got["warnings"]) == (expected["verdict"], expected["code"], expected["warnings"])
    assert got == expected

"""A verifier written from docs/spec/README.md alone (tests/spec/independent.mjs, Node, no
packages, no project code) reaches the Python verifier's verdicts: on every conformance vector,
and on inputs neither side has seen (random one-character changes of valid ones), where the
Python verifier gives the expectation."""
from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.spec.conformance import SPEC_DIR, load, run

NODE = shutil.which("node")
SCRIPT = Path(__file__).with_name("independent.mjs")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")


def _independent(spec_dir: Path) -> dict:
    proc = subprocess.run([NODE, str(SCRIPT), str(spec_dir)], capture_output=True, text=True, timeout=300)
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert proc.returncode == (1 if summary["failed"] else 0), proc.stderr
    return summary


def test_every_vector():
    summary = _independent(SPEC_DIR)
    assert summary["failed"] == [] and summary["passed"] >= 100
    assert summary["skipped"] == sum(v["input_kind"] == "image" for v in load()["vectors"])


def _compare(doc: dict, vectors: list[dict], tmp_path: Path) -> list[dict]:
    """Expectations from the Python verifier, then the independent one on the same file."""
    for i, vector in enumerate(vectors):
        result = run(vector, doc, tmp_path / str(i))
        vector["expect"] = {"verdict": result.verdict, "code": result.code, "warnings": list(result.warnings)}
    spec = tmp_path / "spec"
    spec.mkdir()
    (spec / "vectors").symlink_to(SPEC_DIR / "vectors")
    (spec / "dictionary-v1.bin").symlink_to(SPEC_DIR / "dictionary-v1.bin")
    (spec / "vectors.json").write_text(json.dumps({**doc, "vectors": vectors}), encoding="utf-8")
    summary = _independent(spec)
    assert summary["failed"] == [], summary
    return vectors


def test_random_claims_correctly_signed_get_the_same_verdict(tmp_path):
    """Claims changed at random to values near the spec's edges, signed with the vectors' key."""
    from shared import qrtext
    from tests.vectors import spec as generator

    doc = load()
    rnd = random.Random(1414)
    ru27, _ = generator.spec_issuers()
    values = [None, True, 0, 1, 2, 3, 30, 31, -1, 1.5, 2**53, "", "27", "7", "abc", "abcdefgh", "x" * 65,
              "Иванова", "Анна  Мария", "1988-04-12", "1988-02-30", [], {}, generator.T - 100,
              generator.T + 100, generator.T + 400 * 86400, "beneficiary", "large_family", "pensioner",
              "low_income", {"status_list": {"idx": 7, "uri": ru27.uri()}},
              {"status_list": {"idx": 5, "uri": ru27.uri("2")}}, {"f": "Ким", "g": "Ли", "b": "1950-02-03"},
              {"f": "Ким", "g": "Ли", "p": "", "b": "1950-02-03"}]
    names = ["iss", "iat", "nbf", "exp", "jti", "t", "h", "n", "c", "r", "status"]
    vectors = []
    for i in range(120):
        over = {rnd.choice(names): rnd.choice(values) for _ in range(rnd.choice((1, 1, 2)))}
        claims = ru27.claims(200 + i, **over)
        text = qrtext.encode(ru27.token(claims)) if i % 2 else ru27.token(claims)
        vectors.append({"id": f"claims_{i}", "input_kind": "qr" if i % 2 else "jws", "input": text,
                        "now": generator.T, "publications": ["ru27", "ru25"],
                        "venue": rnd.choice(["museum", "transport", "sport", "zoo"])})
    codes = {v["expect"]["code"] for v in _compare(doc, vectors, tmp_path)}
    assert {"valid", "malformed", "expired", "not_yet_valid", "revoked"} <= codes, codes


def test_random_changes_of_valid_inputs_get_the_same_verdict(tmp_path):
    doc = load()
    rnd = random.Random(14)
    sources = [v for v in doc["vectors"] if v["expect"]["code"] == "valid" and v["input_kind"] in ("qr", "jws")]
    mutated = []
    for i in range(150):
        base = rnd.choice(sources)
        text = base["input"].strip()
        pos = rnd.randrange(len(text))
        alphabet = "0123456789" if base["input_kind"] == "qr" else "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
        text = text[:pos] + rnd.choice(alphabet.replace(text[pos], "")) + text[pos + 1:]
        mutated.append({**base, "id": f"mutated_{i}", "input": text})
    codes = {v["expect"]["code"] for v in _compare(doc, mutated, tmp_path)}
    assert {"malformed", "bad_signature"} <= codes  # the changes reach past the first checks

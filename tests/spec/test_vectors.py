"""Every conformance vector of docs/spec/ through the Python verifier, and the file against its
generator (tests/vectors/spec.py) and the spec's text."""
from __future__ import annotations

import hashlib
import re

import pytest

from shared import qrtext
from shared.codes import Code, Warning_
from tests.spec.conformance import SPEC_DIR, load, run
from tests.vectors import spec as generator

DOC = load()
VECTORS = {v["id"]: v for v in DOC["vectors"]}
README = (SPEC_DIR / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("vector_id", list(VECTORS))
def test_vector(vector_id, tmp_path):
    vector = VECTORS[vector_id]
    result = run(vector, DOC, tmp_path)
    expect = vector["expect"]
    assert (result.verdict, result.code, list(result.warnings)) == (
        expect["verdict"], expect["code"], expect["warnings"]), vector["description"]


def test_at_least_100_vectors_with_unique_ids():
    assert len(DOC["vectors"]) == len(VECTORS) >= 100


def test_every_code_of_the_closed_set_has_a_vector():
    codes = {v["expect"]["code"] for v in DOC["vectors"]}
    assert codes == {c.value for c in Code}
    warnings = {w for v in DOC["vectors"] for w in v["expect"]["warnings"]}
    # recently_used depends on the device's own scan log, not on the input: not a vector's
    assert warnings == {Warning_.STATUS_STALE.value}


def test_every_requirement_of_the_spec_has_a_vector_that_breaks_it():
    tags = set(re.findall(r"\*\*\[([A-Z]+[0-9]+)\]\*\*", README))
    broken = {v["rule"] for v in DOC["vectors"] if v["rule"]}
    assert tags, "the spec tags its requirements as **[Q1]**"
    assert tags - broken == set(), "requirements without a vector that breaks them"
    assert broken - tags == set(), "vectors naming a requirement the spec does not have"


def test_generator_gives_the_same_vectors():
    """ECDSA signatures are random, so a regeneration differs in bytes: compare what each vector
    is, not its input, and which files each publication has."""
    pubs, vectors = generator.generate()
    fresh = generator.document(vectors)

    def shape(v):
        return {k: val for k, val in v.items() if k != "input"} | {"input": None}

    assert [shape(v) for v in fresh["vectors"]] == [shape(v) for v in DOC["vectors"]]
    assert {k: val for k, val in fresh.items() if k != "vectors"} == {
        k: val for k, val in DOC.items() if k != "vectors"}
    committed = {str(p.relative_to(SPEC_DIR / "vectors")) for p in (SPEC_DIR / "vectors").rglob("*")
                 if p.is_file()}
    made = {f"{name}/{rel}" if name else rel for name, files in pubs.items() for rel in files}
    assert made == committed


def test_dictionary_file_is_the_code_s_dictionary():
    data = (SPEC_DIR / "dictionary-v1.bin").read_bytes()
    assert data == qrtext.PRESET_DICTIONARY
    digest = hashlib.sha256(data).hexdigest()
    assert digest in README
    assert f"{len(data)} bytes" in README


def test_the_worked_example_is_the_vector():
    """Section 3.4's example is an EdDSA vector: deterministic, so its digits stay the same."""
    text = VECTORS["valid_beneficiary_eddsa_qr"]["input"]
    example = re.search(r"`([0-9]{40,})…([0-9]{10,})`", README)
    assert example and text.startswith(example[1]) and text.endswith(example[2])
    assert f"{len(text)} digits" in README

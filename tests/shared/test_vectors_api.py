"""The shared vectors through the format layer alone (no verifier): parse, verify, times."""
from __future__ import annotations

import time

import pytest

from shared import keys, qrtext, token
from shared.credential import Credential
from shared.errors import TokenError
from tests.vectors.build import issuers, vectors as build_vectors

NOW = int(time.time())
_STATUS_LEVEL = {"valid", "revoked", "suspended", "status_unavailable", "not_entitled"}


@pytest.fixture(scope="module", name="all_vectors")
def all_vectors_fixture():
    return build_vectors(NOW)


@pytest.fixture(scope="module")
def resolver():
    r = keys.StaticKeyResolver()
    for iss in issuers():
        r.add(keys.VerificationKey(iss.iss, iss.kid, keys.algorithm_for_key(iss.key), iss.key.public_key()))
    return r


def format_level_code(text: str, resolver) -> str:
    try:
        verified = token.verify(qrtext.decode(text), resolver, typ=token.CREDENTIAL_TYP)
        Credential.from_claims(verified.claims)
        token.check_times(verified.claims, NOW, 60)
    except TokenError as err:
        return err.code
    return "valid"


def test_vector_names_unique(all_vectors):
    assert len({v.name for v in all_vectors}) == len(all_vectors)


@pytest.mark.parametrize("name", [v.name for v in build_vectors(NOW)])
def test_vector(name, all_vectors, resolver):
    vector = next(v for v in all_vectors if v.name == name)
    expected = "valid" if vector.code in _STATUS_LEVEL else vector.code
    assert format_level_code(vector.text, resolver) == expected


@pytest.mark.parametrize("name", [v.name for v in build_vectors(NOW)])
def test_vector_memory_is_bounded(name, all_vectors, resolver):
    """Hostile input costs bounded memory (a bomb is refused before it is inflated)."""
    import tracemalloc

    vector = next(v for v in all_vectors if v.name == name)
    tracemalloc.start()
    try:
        format_level_code(vector.text, resolver)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024, f"{name}: {peak} bytes"

"""Every fuzz target survives its seeds, random bytes (Hypothesis) and a short atheris run."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.fuzz.seeds import seeds
from tests.fuzz.targets import TARGETS

ROOT = Path(__file__).resolve().parents[2]
SEEDS = seeds()


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_seeds(name):
    for data in SEEDS[name]:
        TARGETS[name](data)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_random_and_mutated_bytes(name):
    base = SEEDS[name] or [b""]

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.binary(max_size=2048), st.integers(0, len(base) - 1), st.integers(0, 4096), st.binary(max_size=16))
    def run(noise, which, at, patch):
        seed = base[which]
        TARGETS[name](noise)
        TARGETS[name](seed[:at] + patch + seed[at + len(patch):])

    run()


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_atheris_short_run(name, tmp_path):
    pytest.importorskip("atheris")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, data in enumerate(SEEDS[name]):
        (corpus / f"seed-{i}").write_bytes(data)
    proc = subprocess.run([sys.executable, "-m", "tests.fuzz.run", name, str(corpus), "-atheris_runs=1500",
                           f"-artifact_prefix={tmp_path}/"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, PYTHONHASHSEED="0"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not list(tmp_path.glob("crash-*"))

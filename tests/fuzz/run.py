"""`python -m tests.fuzz.run TARGET [libFuzzer flags]`: one atheris fuzzing session.

`make fuzz` runs every target for FUZZ_SECONDS each, seeded with the shared vectors.
"""
from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from tests.fuzz.targets import TARGETS


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: python -m tests.fuzz.run {{{'|'.join(TARGETS)}}} [libFuzzer flags]")
    target = TARGETS[sys.argv.pop(1)]
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

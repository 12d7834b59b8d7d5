"""Every setting is documented, and the README's two commands are still the first thing shown."""
from pathlib import Path

import pytest

from issuer.config import SETTINGS as ISSUER_SETTINGS
from verifier.config import SETTINGS as VERIFIER_SETTINGS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted({s.env for s in (*ISSUER_SETTINGS, *VERIFIER_SETTINGS)}
                                        | {"SOCPASS_TEST_DATABASE_URL"}))
def test_setting_documented(name):
    assert f"`{name}`" in README


def test_two_commands_first():
    first_block = README.split("```")[1]
    assert "make run" in first_block and "make test" in first_block

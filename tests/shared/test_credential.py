from datetime import date

import pytest

from shared.codes import Code
from shared.credential import (BENEFICIARY, LARGE_FAMILY, Credential, normalize_name,
                               validate_holder_data)
from shared.errors import InputError, TokenError
from tests.vectors.reference import REFERENCE_BENEFICIARY, REFERENCE_LARGE_FAMILY

TODAY = date(2026, 11, 23)
LF = {"registry_id": "KHV-LF-000123",
      "holder": {"family_name": "Иванова", "given_name": "Мария", "patronymic": "Петровна",
                 "birth_date": "1988-04-12"},
      "children": 4, "region": "27", "valid_until": "2031-05-31"}


@pytest.mark.parametrize("cred", [REFERENCE_LARGE_FAMILY, REFERENCE_BENEFICIARY])
def test_claims_round_trip(cred):
    assert Credential.from_claims(cred.to_claims()) == cred


def test_registry_id_never_in_claims():
    hd = validate_holder_data(LARGE_FAMILY, LF, today=TODAY)
    assert hd.registry_id == "KHV-LF-000123"
    assert "KHV-LF" not in str(REFERENCE_LARGE_FAMILY.to_claims())


def test_public_dict_for_venue():
    d = REFERENCE_BENEFICIARY.to_public_dict()
    assert d["holder"]["family_name"] == "Преображенская-Орлова"
    assert d["category_label"] == "Инвалид I группы"
    assert d["type_label"].startswith("Льготник")


@pytest.mark.parametrize("mutate", [
    lambda c: c.pop("t"), lambda c: c.update(t="passport"), lambda c: c["h"].pop("b"),
    lambda c: c["h"].update(b="1988-13-01"), lambda c: c.update(n="4"), lambda c: c.update(n=True),
    lambda c: c.update(r="Хабаровск"), lambda c: c["status"]["status_list"].update(idx=-1),
    lambda c: c["h"].update(f="Ива\u202eнова"), lambda c: c.update(status=[]),
    lambda c: c.update(jti=""),
])
def test_claims_out_of_shape_are_malformed(mutate):
    claims = REFERENCE_LARGE_FAMILY.to_claims()
    mutate(claims)
    with pytest.raises(TokenError) as err:
        Credential.from_claims(claims)
    assert err.value.verification_code is Code.MALFORMED


@pytest.mark.parametrize("raw,expected", [
    ("  Иванова ", "Иванова"), ("Салтыков-Щедрин", "Салтыков-Щедрин"), ("Ёлкина", "Ёлкина"),
    ("Е\u0308лкина", "Ёлкина"), ("д'Артаньян", "д'Артаньян"), ("Анна  Мария", "Анна Мария")])
def test_normalize_name(raw, expected):
    assert normalize_name(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "Ива\u202eнова", "Иван\u200bова", "Ivan<script>", "Иван1",
                                 "a" * 65, "Ив\x00ан"])
def test_normalize_name_refuses(raw):
    with pytest.raises(ValueError):
        normalize_name(raw)


def test_validate_large_family():
    hd = validate_holder_data(LARGE_FAMILY, LF, today=TODAY)
    assert hd.children == 4 and hd.valid_until == date(2031, 5, 31) and hd.holder.patronymic == "Петровна"


def test_validate_beneficiary_without_patronymic():
    data = dict(LF, category="pensioner")
    data.pop("children")
    data["holder"] = dict(LF["holder"], patronymic="")
    hd = validate_holder_data(BENEFICIARY, data, today=TODAY)
    assert hd.category == "pensioner" and hd.holder.patronymic is None


@pytest.mark.parametrize("ctype,change,field", [
    (LARGE_FAMILY, {"children": 2}, "children"),
    (LARGE_FAMILY, {"region": "Хабаровский"}, "region"),
    (LARGE_FAMILY, {"valid_until": "2020-01-01"}, "valid_until"),
    (LARGE_FAMILY, {"valid_until": "31.05.2031"}, "valid_until"),
    (LARGE_FAMILY, {"registry_id": ""}, "registry_id"),
    (BENEFICIARY, {"category": "mayor"}, "category"),
    (LARGE_FAMILY, {"holder": {"family_name": "", "given_name": "Мария", "birth_date": "1988-04-12"}},
     "family_name"),
    (LARGE_FAMILY, {"holder": {"family_name": "Иванова", "given_name": "Мария", "birth_date": "2099-01-01"}},
     "birth_date"),
])
def test_validation_names_the_field_in_russian(ctype, change, field):
    with pytest.raises(InputError) as err:
        validate_holder_data(ctype, dict(LF, **change), today=TODAY)
    assert err.value.code == f"invalid_{field}"
    assert any("\u0400" <= ch <= "\u04ff" for ch in err.value.description)


def test_unknown_type():
    with pytest.raises(InputError):
        validate_holder_data("passport", LF, today=TODAY)

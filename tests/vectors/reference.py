"""The reference credentials whose QR size the format promises (issue: v10 and v12 at ECC M)."""
from __future__ import annotations

from shared.credential import BENEFICIARY, LARGE_FAMILY, Credential, Holder, StatusRef

# Realistic sizes: a production status URI, a 7-digit index of a 2^20 list, a 16-char jti,
# 2026 issuance and five years of validity.
STATUS_URI = "https://szn.khabkrai.ru/status/12"

REFERENCE_LARGE_FAMILY = Credential(
    type=LARGE_FAMILY, holder=Holder("Иванова", "Мария", "Петровна", "1988-04-12"), region="27",
    issuer="RU-27", issued_at=1795400000, expires_at=1937986800, jti="q3Zb1n8uYt0Kc2Lw",
    status=StatusRef(1048001, STATUS_URI), children=4)

# 40 letters: Преображенская-Орлова (20) Наталья (7) Александровна (13).
REFERENCE_BENEFICIARY = Credential(
    type=BENEFICIARY, holder=Holder("Преображенская-Орлова", "Наталья", "Александровна", "1951-11-30"),
    region="27", issuer="RU-27", issued_at=1795400000, expires_at=1937986800, jti="Vd7pQ2sLm9XaR4tE",
    status=StatusRef(1047999, STATUS_URI), category="disability_1")

"""The message table of the scanner app in the browser (static/scan/engine/), as data.

Generated at publish time into `scan/messages.json` from the tables that already exist here
(shared/codes.py, shared/credential.py), so the browser says exactly what the Python verifier
says and nobody keeps a second copy by hand. The texts the Python verifier words itself
(a second use, an expired trust list) are defined here once; verifier/ may import them.
"""
from __future__ import annotations

from typing import Any

from shared.codes import MESSAGES_EN, MESSAGES_RU, PRECEDENCE, Code, Warning_
from shared.credential import CATEGORIES, TYPES

FORMAT = 1

# A second use at this device (verifier/repeated.py words it with these).
RECENT_WARN_RU = ("Это удостоверение уже проверяли на этом устройстве {ago} (в {time}). "
                  "Убедитесь, что им не пользуются повторно.")
RECENT_WARN_EN = ("This credential was already checked at this device {ago} (at {time}). "
                  "Make sure it is not being used twice.")
RECENT_REJECT_RU = ("Удостоверение действительно, но уже использовано на этом устройстве {ago} "
                    "(в {time}). Повторный проход по нему не предоставляется.")
RECENT_REJECT_EN = ("The credential is valid, but it was already used at this device {ago} "
                    "(at {time}). It does not admit a second time.")
# "3 мин назад" / "3 min ago": [Russian, English] per case.
AGO = {"just_now": ["только что", "just now"],
       "minutes": ["{minutes} мин назад", "{minutes} min ago"],
       "hours": ["{hours} ч {minutes} мин назад", "{hours} h {minutes} min ago"]}
# Federated mode: the federal trust list has expired (verifier/service.py says it too).
TRUST_LIST_STALE_RU = ("Федеральный список доверенных регионов устарел (срок действия истёк). "
                       "Синхронизируйте устройство; до тех пор попросите бумажное удостоверение.")
TRUST_LIST_STALE_EN = ("The federal trust list has expired. Sync the device; meanwhile ask for "
                       "the paper credential.")
# The trust data on the device was refused when loaded (verifier/service.py says it too).
CACHE_REFUSED_RU = ("Локальные данные проверки повреждены или изменены вне синхронизации и не "
                    "используются ({why}). Синхронизируйте устройство; до тех пор попросите "
                    "бумажное удостоверение.")
CACHE_REFUSED_EN = ("The local verification data is damaged or was changed outside sync and is "
                    "not used ({why}). Sync the device; meanwhile ask for the paper credential.")
# The browser only: it cannot check an Ed25519 signature (code unsupported_algorithm), so it
# never says valid for an EdDSA credential it could not check.
EDDSA_UNAVAILABLE_RU = ("Этот браузер не умеет проверять подпись EdDSA (Ed25519), которой "
                        "подписано удостоверение. Обновите браузер или проверьте на другом "
                        "устройстве; до тех пор попросите бумажное удостоверение.")
EDDSA_UNAVAILABLE_EN = ("This browser cannot check the EdDSA (Ed25519) signature of this "
                        "credential. Update the browser or check on another device; meanwhile "
                        "ask for the paper credential.")


# Region names for issuers synced without a trust list (verifier/service.py shows them too).
REGION_NAMES = {"25": "Приморский край", "27": "Хабаровский край", "77": "Москва",
                "28": "Амурская область", "41": "Камчатский край", "49": "Магаданская область",
                "65": "Сахалинская область", "79": "Еврейская автономная область",
                "87": "Чукотский автономный округ", "14": "Республика Саха (Якутия)",
                "78": "Санкт-Петербург", "50": "Московская область"}


def messages_document() -> dict[str, Any]:
    """Everything the browser engine says, in Russian and English, and the codes' order."""
    return {
        "format": FORMAT,
        "codes": [c.value for c in Code],
        "warnings": [w.value for w in Warning_],
        "precedence": [c.value for c in PRECEDENCE],
        "messages": {"ru": dict(MESSAGES_RU), "en": dict(MESSAGES_EN)},
        "types": {name: dict(words) for name, words in TYPES.items()},
        "categories": {name: dict(words) for name, words in CATEGORIES.items()},
        "region_names": dict(REGION_NAMES),
        "texts": {
            "recent_warn": [RECENT_WARN_RU, RECENT_WARN_EN],
            "recent_reject": [RECENT_REJECT_RU, RECENT_REJECT_EN],
            "ago": {k: list(v) for k, v in AGO.items()},
            "trust_list_stale": [TRUST_LIST_STALE_RU, TRUST_LIST_STALE_EN],
            "cache_refused": [CACHE_REFUSED_RU, CACHE_REFUSED_EN],
            "eddsa_unavailable": [EDDSA_UNAVAILABLE_RU, EDDSA_UNAVAILABLE_EN],
        },
    }

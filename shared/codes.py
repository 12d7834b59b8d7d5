"""The closed set of verification codes, their precedence and their messages for staff."""
from __future__ import annotations

from enum import Enum


class Code(str, Enum):
    VALID = "valid"
    MALFORMED = "malformed"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    UNTRUSTED_ISSUER = "untrusted_issuer"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    WRONG_TYPE = "wrong_type"
    CLOCK_INVALID = "clock_invalid"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    STATUS_UNAVAILABLE = "status_unavailable"
    NOT_ENTITLED = "not_entitled"
    NO_QR = "no_qr"


class Warning_(str, Enum):
    STATUS_STALE = "status_stale"
    # The same credential was accepted at this device within the venue's window (a second use).
    RECENTLY_USED = "recently_used"


# When several rejections apply, the first in this order is reported: a forgery is never
# reported as merely expired.
PRECEDENCE: tuple[Code, ...] = (
    Code.MALFORMED,
    Code.UNSUPPORTED_ALGORITHM,
    Code.UNTRUSTED_ISSUER,
    Code.UNKNOWN_KEY,
    Code.BAD_SIGNATURE,
    Code.WRONG_TYPE,
    Code.CLOCK_INVALID,
    Code.EXPIRED,
    Code.NOT_YET_VALID,
    Code.REVOKED,
    Code.SUSPENDED,
    Code.STATUS_UNAVAILABLE,
    Code.NOT_ENTITLED,
)

# Russian first: what a ticket clerk reads, with the next step.
MESSAGES_RU: dict[str, str] = {
    "valid": "Удостоверение действительно. Сверьте ФИО и дату рождения с документом, удостоверяющим личность.",
    "malformed": "Это не QR-код удостоверения или он повреждён. Попросите показать QR-код ещё раз или предъявить бумажное удостоверение.",
    "unsupported_algorithm": "Подпись удостоверения сделана недопустимым способом. Возможна подделка: попросите бумажное удостоверение.",
    "untrusted_issuer": "Удостоверение выдано неизвестной организацией. Попросите бумажное удостоверение; если регион новый — синхронизируйте устройство.",
    "unknown_key": "Ключ подписи неизвестен этому устройству. Синхронизируйте устройство; если не помогло — попросите бумажное удостоверение.",
    "bad_signature": "Подпись недействительна: удостоверение изменено или подделано. Откажите и попросите бумажное удостоверение.",
    "wrong_type": "Это не удостоверение льготника, а другой документ. Попросите показать QR-код удостоверения.",
    "clock_invalid": "На устройстве неверные дата или время. Исправьте время на устройстве и синхронизируйте его.",
    "expired": "Срок действия удостоверения истёк. Посоветуйте обратиться в отдел соцзащиты.",
    "not_yet_valid": "Удостоверение ещё не вступило в силу. Проверьте дату на устройстве или попросите бумажное удостоверение.",
    "revoked": "Удостоверение отозвано. Посоветуйте обратиться в отдел соцзащиты.",
    "suspended": "Действие удостоверения приостановлено. Посоветуйте обратиться в отдел соцзащиты.",
    "status_unavailable": "Нет свежих данных об отзыве удостоверений. Синхронизируйте устройство; до тех пор попросите бумажное удостоверение.",
    "not_entitled": "Удостоверение действительно, но льгот на этом объекте по нему нет.",
    "no_qr": "QR-код не найден. Поднесите код ближе, уберите блики или введите код сканером.",
    "status_stale": "Данные об отзыве устарели. Синхронизируйте устройство при первой возможности.",
    "recently_used": "Это удостоверение недавно уже проверяли на этом устройстве. Убедитесь, что им не пользуются повторно.",
}

MESSAGES_EN: dict[str, str] = {
    "valid": "The credential is valid. Compare the name and birth date with an identity document.",
    "malformed": "This is not a credential QR code, or it is damaged. Ask to show it again or for the paper certificate.",
    "unsupported_algorithm": "The credential is signed in a way that is not allowed. Possible forgery: ask for the paper certificate.",
    "untrusted_issuer": "Issued by an unknown organisation. Ask for the paper certificate; for a new region, sync the device.",
    "unknown_key": "The signing key is unknown to this device. Sync the device; if that does not help, ask for the paper certificate.",
    "bad_signature": "The signature is invalid: the credential was altered or forged. Refuse and ask for the paper certificate.",
    "wrong_type": "This is another kind of document, not an entitlement credential. Ask for the credential QR code.",
    "clock_invalid": "The device date or time is wrong. Fix the device clock and sync it.",
    "expired": "The credential has expired. Suggest contacting the social protection office.",
    "not_yet_valid": "The credential is not valid yet. Check the device date or ask for the paper certificate.",
    "revoked": "The credential has been revoked. Suggest contacting the social protection office.",
    "suspended": "The credential is suspended. Suggest contacting the social protection office.",
    "status_unavailable": "No fresh revocation data. Sync the device; until then ask for the paper certificate.",
    "not_entitled": "The credential is valid, but it grants nothing at this venue.",
    "no_qr": "No QR code found. Hold the code closer, avoid glare, or use the handheld scanner.",
    "status_stale": "Revocation data is out of date. Sync the device as soon as possible.",
    "recently_used": "This credential was already checked at this device a short while ago. Make sure it is not being used twice.",
}


def message(code: str, lang: str = "ru") -> str:
    table = MESSAGES_EN if lang == "en" else MESSAGES_RU
    return table[code]

"""A second use of one credential at this device within the window: the warning or the refusal
the clerk reads (SOCPASS_RECENT_WINDOW, SOCPASS_RECENT_POLICY), worded with when it was."""
from __future__ import annotations

import logging

from shared.codes import Code, Warning_
from shared.messages import RECENT_REJECT_EN, RECENT_REJECT_RU, RECENT_WARN_EN, RECENT_WARN_RU
from verifier.config import Settings
from verifier.result import REJECT, Result
from verifier.scanlog import ScanLog

log = logging.getLogger("socpass.verifier")


def ago(seconds: int) -> tuple[str, str]:
    """"3 мин назад" / "3 min ago" (what the clerk reads about a previous use)."""
    seconds = max(0, seconds)
    if seconds < 60:
        return "только что", "just now"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} мин назад", f"{minutes} min ago"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} ч {minutes} мин назад", f"{hours} h {minutes} min ago"


def recently_used(result: Result, now: int, previous: int, settings: Settings,
                  scanlog: ScanLog | None) -> Result:
    """The verdict for a second use: accepted with recently_used, or refused (reject policy)."""
    ru_ago, en_ago = ago(now - previous)
    at = scanlog.clock_time(previous) if scanlog else ""
    warnings = (*result.warnings, Warning_.RECENTLY_USED.value)
    log.info("verify repeated use within %ss policy=%s", settings.recent_window,
             settings.recent_policy)
    if settings.recent_policy == "reject":
        return Result(REJECT, Code.NOT_ENTITLED.value, now, warnings,
                      shown=result.shown,
                      message_ru=RECENT_REJECT_RU.format(ago=ru_ago, time=at),
                      message_en=RECENT_REJECT_EN.format(ago=en_ago, time=at),
                      warning_texts=(
                          (Warning_.RECENTLY_USED.value,
                           RECENT_REJECT_RU.format(ago=ru_ago, time=at),
                           RECENT_REJECT_EN.format(ago=en_ago, time=at)),))
    # Built field by field: dataclasses.replace() cost as much as the rest of this function.
    return Result(result.verdict, result.code, result.checked_at, warnings, result.shown,
                  result.entitlement, result.message_ru, result.message_en,
                  ((Warning_.RECENTLY_USED.value, RECENT_WARN_RU.format(ago=ru_ago, time=at),
                    RECENT_WARN_EN.format(ago=en_ago, time=at)),))

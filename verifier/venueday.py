"""The venue's calendar: which local day a moment belongs to, and its wall-clock time.

Days follow the venue's time zone (SOCPASS_TIMEZONE), daylight-saving changes included: a day
is from one local midnight to the next, whatever its length.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from datetime import time as dt_time
from zoneinfo import ZoneInfo


class VenueDays:
    def __init__(self, timezone: str) -> None:
        self.tz = ZoneInfo(timezone)
        self._spans: list[tuple[int, int, str]] = []  # see _span

    def day_of(self, at: int) -> str:
        return self._span(at)[2]

    def clock_time(self, at: int) -> str:
        start, end, _ = self._span(at)
        if end - start == 86400:  # no clock change that day: minutes since local midnight
            minutes = (at - start) // 60
            return f"{minutes // 60:02d}:{minutes % 60:02d}"
        return datetime.fromtimestamp(at, self.tz).strftime("%H:%M")

    def days_between(self, first: int, last: int) -> list[str]:
        """Every venue day from the one holding `first` to the one holding `last`."""
        first_day, last_day = self.day_of(first), self.day_of(last)
        if first_day == last_day:  # a window inside one day, as almost every scan's is
            return [first_day]
        start, end = date.fromisoformat(first_day), date.fromisoformat(last_day)
        return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]

    def _span(self, at: int) -> tuple[int, int, str]:
        """(first second, first second of the next day, ISO date) of the venue's day holding
        `at`; the last two looked up are remembered (a scan asks about today and the window's
        start, every time)."""
        for span in self._spans:
            if span[0] <= at < span[1]:
                return span
        day = datetime.fromtimestamp(at, self.tz).date()
        start = int(datetime.combine(day, dt_time.min, self.tz).timestamp())
        end = int(datetime.combine(day + timedelta(days=1), dt_time.min, self.tz).timestamp())
        span = (start, end, day.isoformat())
        if not start <= at < end:  # a day that does not start at midnight: do not remember
            return (at, at + 1, span[2])
        self._spans = [span, *self._spans[:1]]
        return span

"""The scan log's statistics: one day's counts, and the rows of the CSV report."""
from __future__ import annotations

import sqlite3
from typing import Any

SUMMARY_SQL = ("SELECT verdict, code, warnings, type, category, persons FROM scans "
               "WHERE day = ?")
REPORT_SQL = ("SELECT day, profile, type, category, verdict, code, warnings, COUNT(*) AS scans, "
              "COALESCE(SUM(persons), 0) AS persons FROM scans WHERE day BETWEEN ? AND ? "
              "GROUP BY day, profile, type, category, verdict, code, warnings "
              "ORDER BY day, profile, type, category, verdict, code, warnings")


def summarize(day: str, rows: list[sqlite3.Row]) -> dict[str, Any]:
    """One day's counts: totals, by code, by warning, and by credential type and category."""
    by_code: dict[str, int] = {}
    by_warning: dict[str, int] = {}
    groups: dict[tuple[str | None, str | None], dict[str, Any]] = {}
    # "accepted" counts every admission, those with a warning included, in the totals and in
    # each category alike; "accepted_with_warning" is the part of them that had one.
    totals = {"scans": 0, "accepted": 0, "accepted_with_warning": 0, "rejected": 0,
              "with_warning": 0, "persons": 0}
    for row in rows:
        warnings = [w for w in row["warnings"].split(",") if w]
        accepted = row["verdict"] == "accept"
        totals["scans"] += 1
        totals["accepted" if accepted else "rejected"] += 1
        totals["accepted_with_warning"] += accepted and bool(warnings)
        totals["with_warning"] += bool(warnings)
        totals["persons"] += row["persons"] or 0
        by_code[row["code"]] = by_code.get(row["code"], 0) + 1
        for w in warnings:
            by_warning[w] = by_warning.get(w, 0) + 1
        key = (row["type"], row["category"])
        group = groups.setdefault(key, {"type": key[0], "category": key[1], "accepted": 0,
                                        "accepted_with_warning": 0, "rejected": 0,
                                        "persons": 0})
        if accepted:
            group["accepted"] += 1
            group["accepted_with_warning"] += bool(warnings)
            group["persons"] += row["persons"] or 0
        else:
            group["rejected"] += 1
    ordered = sorted(groups.values(), key=lambda g: (g["type"] is None, g["type"] or "",
                                                     g["category"] or ""))
    return {"day": day, "totals": totals, "by_code": dict(sorted(by_code.items())),
            "by_warning": dict(sorted(by_warning.items())), "by_category": ordered}

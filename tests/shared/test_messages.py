"""messages_document(): the browser app's message table, generated from shared/."""
from __future__ import annotations

import json

from shared.codes import MESSAGES_EN, MESSAGES_RU, PRECEDENCE, Code, Warning_
from shared.credential import CATEGORIES, TYPES
from shared.messages import messages_document
from verifier import repeated, service


def test_every_code_and_warning_has_both_languages():
    doc = messages_document()
    for code in [*doc["codes"], *doc["warnings"]]:
        assert doc["messages"]["ru"][code] == MESSAGES_RU[code]
        assert doc["messages"]["en"][code] == MESSAGES_EN[code]
    assert doc["codes"] == [c.value for c in Code] and doc["warnings"] == [w.value for w in Warning_]
    assert doc["precedence"] == [c.value for c in PRECEDENCE]
    assert doc["types"] == TYPES and doc["categories"] == CATEGORIES


def test_texts_the_verifier_words_itself_are_the_same():
    """verifier/ still holds its own copies of these (until it imports them from shared/)."""
    texts = messages_document()["texts"]
    assert texts["recent_warn"] == [repeated.RECENT_WARN_RU, repeated.RECENT_WARN_EN]
    assert texts["recent_reject"] == [repeated.RECENT_REJECT_RU, repeated.RECENT_REJECT_EN]
    assert texts["trust_list_stale"] == [service.TRUST_LIST_STALE_RU, service.TRUST_LIST_STALE_EN]
    assert texts["cache_refused"] == [service.CACHE_REFUSED_RU, service.CACHE_REFUSED_EN]
    assert messages_document()["region_names"] == service.REGION_NAMES
    for seconds in (0, 59, 60, 125, 3600, 3 * 3600 + 7 * 60):
        ru, en = repeated.ago(seconds)
        minutes, hours = seconds // 60, seconds // 3600
        words = texts["ago"]["just_now" if seconds < 60 else "minutes" if minutes < 60 else "hours"]
        assert [w.format(minutes=minutes % 60 if hours else minutes, hours=hours) for w in words] == [ru, en]


def test_document_is_json():
    doc = messages_document()
    assert json.loads(json.dumps(doc, ensure_ascii=False)) == doc

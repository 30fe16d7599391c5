"""The message catalogues: both languages complete, every key a template uses exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from battrace.web import i18n
from battrace.web.i18n import MESSAGES, VOCABULARY, Translator, catalogue_gaps, pick_lang

WEB = Path(i18n.__file__).parent
KEY_CALL = re.compile(r"""\bt\(\s*["']([a-z0-9_]+(?:\.[a-z0-9_]+)+)["']\s*[,)]""")
VOCAB_CALL = re.compile(r"""\bv\(\s*["']([a-z_]+)["']""")


def test_every_message_has_both_languages() -> None:
    assert catalogue_gaps() == []


def test_every_key_the_templates_and_pages_use_is_in_the_catalogue() -> None:
    sources = [*WEB.glob("templates/*.html"), *WEB.glob("*.py"), *WEB.glob("pages/*.py")]
    used = {k for path in sources for k in KEY_CALL.findall(path.read_text(encoding="utf-8"))}
    assert used, "no t(...) calls found: the pattern is stale"
    assert sorted(used - set(MESSAGES)) == []
    kinds = {k for path in sources for k in VOCAB_CALL.findall(path.read_text(encoding="utf-8"))}
    assert kinds - set(VOCABULARY) <= {"chemistry", "province"}


@pytest.mark.parametrize(("query", "cookie", "expected"), [
    (None, None, "zh"), ("en", None, "en"), (None, "en", "en"), ("zh", "en", "zh"), ("fr", None, "zh"),
    ("fr", "en", "en"),
])
def test_language_is_the_query_then_the_cookie_then_chinese(query: str | None, cookie: str | None,
                                                             expected: str) -> None:
    assert pick_lang(query, cookie) == expected


def test_vocabularies_translate_and_unknown_values_pass_through() -> None:
    zh, en = Translator("zh"), Translator("en")
    assert zh.vocab("state", "waste") == "废旧电池"
    assert en.vocab("state", "waste") == "waste"
    assert zh.vocab("province", "440300") == "广东省"
    assert en.vocab("chemistry", "LFP") == "lithium iron phosphate"
    assert en.vocab("state", "teleported") == "teleported"
    assert zh("battery.title", code="X") == "电池 X"


def test_every_battery_state_and_event_type_is_translated() -> None:
    from battrace.domain.events import EVENT_TYPES
    from battrace.domain.state import BATTERY_STATES

    assert set(BATTERY_STATES) <= set(VOCABULARY["state"])
    assert set(EVENT_TYPES) <= set(VOCABULARY["event"])


def test_every_finding_rule_and_error_code_is_translated() -> None:
    from battrace import errors
    from battrace.services.compliance import rules_catalogue

    assert {r["id"] for r in rules_catalogue()} <= set(VOCABULARY["rule"])
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.BattraceError)]
    codes = {c.code for c in classes}
    assert codes <= set(VOCABULARY["error"])


def test_every_alarm_hazard_response_flag_and_grading_term_is_translated() -> None:
    from battrace.domain.alarms import ALARM_FLAG_BITS, HAZARDS_45688, RESPONSES, THERMAL_RUNAWAY
    from battrace.domain.grading import APPLICATIONS, RECYCLE, REUSE

    hazards = {*HAZARDS_45688, THERMAL_RUNAWAY, *(f"bms_level_{n}" for n in RESPONSES)}
    assert hazards <= set(VOCABULARY["hazard"])
    assert set(RESPONSES.values()) <= set(VOCABULARY["response"])
    assert set(ALARM_FLAG_BITS) <= set(VOCABULARY["alarm_flag"])
    assert set(APPLICATIONS) <= set(VOCABULARY["application"])
    assert {REUSE, RECYCLE} == set(VOCABULARY["path"])
    assert Translator("zh").vocab("response", "stop_at_once") == "立即停止使用"
    assert Translator("en").vocab("response", "within_1_day") == "repair within 1 day"

"""Rule titles have one source: the rule's registration; the pages' vocabulary is derived from it."""

from __future__ import annotations

import re
from pathlib import Path

import battrace
from battrace.domain.rules.registry import all_rules
from battrace.web.i18n import VOCABULARY, Translator

ROOT = Path(battrace.__file__).parent
#: A literal pair of texts keyed by a rule id, i.e. a second copy of a title.
TITLE_COPY = re.compile(r'"R\d\d[a-z]?"\s*:\s*\(\s*"')


def test_the_web_vocabulary_takes_the_registered_titles() -> None:
    assert VOCABULARY["rule"] == {r.id: (r.title_zh, r.title_en) for r in all_rules()}
    assert Translator("en").vocab("rule", "R04") == next(r.title_en for r in all_rules() if r.id == "R04")


def test_no_module_keeps_its_own_copy_of_rule_titles() -> None:
    copies = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py") if TITLE_COPY.search(p.read_text(encoding="utf-8"))]
    assert copies == []

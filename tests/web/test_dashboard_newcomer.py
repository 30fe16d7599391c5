"""Issue 16, point 8 (the parts done here): sankey labels do not overlap, the overdue table names
the responsible party (browser check of its height in tests/web/test_browser_newcomer.py)."""

from __future__ import annotations

import re

from battrace.services.flows import Flow
from battrace.web import charts
from battrace.web.i18n import Translator
from tests.web.conftest import Web


def test_the_sankey_hides_overlapping_labels_and_spaces_its_nodes() -> None:
    flows = [Flow("440000", "320000", 40, 40), Flow("110000", "320000", 1, 1), Flow("120000", "440000", 1, 1)]
    series = charts.flows(Translator("zh"), flows)["series"][0]
    assert series["labelLayout"] == {"hideOverlap": True} and series["nodeGap"] >= 10


def test_the_overdue_table_names_the_party_not_its_credit_code(web: Web) -> None:
    web.login("national_regulator")
    html = web.client.get("/dashboard").text
    parties = re.findall(r'<td class="party" title="([^"]*)">', html)
    assert all(not re.fullmatch(r"[0-9A-Z]{18}", p) for p in parties)


def test_days_overdue_count_to_the_date_the_findings_were_assessed() -> None:
    from datetime import datetime

    from battrace.web.pages.dashboard import overdue_as_of

    now = datetime.fromisoformat("2026-12-01T10:00:00+08:00")
    items = [{"raised_at": "2026-11-15T00:00:00+08:00"}, {"raised_at": "2026-11-10T00:00:00+08:00"}]
    assert overdue_as_of(items, now).date().isoformat() == "2026-11-15"
    assert overdue_as_of([], now) == now
    assert overdue_as_of([{"raised_at": "2027-01-01T00:00:00+08:00"}], now) == now


def test_the_overdue_table_states_its_date(web: Web) -> None:
    web.login("national_regulator")
    html = web.client.get("/dashboard").text
    assert 'id="overdue-as-of"' in html and "逾期天数计至" in html

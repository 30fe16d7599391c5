"""Issue 16, point 5: a code one character too long or short is not cut to a prefix; the lookup says
the length is wrong and offers the nearest valid readings, the ones on record first."""

from __future__ import annotations

import pytest

from battrace.domain.codes import nearest_codes, parse_code
from battrace.errors import InvalidCode
from tests import story as s
from tests.web.conftest import Web


def test_nearest_codes_drop_or_insert_one_character_and_are_all_valid() -> None:
    doubled = s.PACK[:10] + s.PACK[9] + s.PACK[10:]  # one key struck twice
    readings = nearest_codes(doubled, limit=None)
    assert s.PACK in readings[:3]
    assert all(len(r) == 24 and parse_code(r).code == r for r in readings)
    missing = s.PACK[:6] + s.PACK[7:]
    assert s.PACK in nearest_codes(missing, limit=None)
    assert nearest_codes(s.PACK) == [] and nearest_codes(s.PACK + "XY") == []


def test_the_length_error_names_the_nearest_readings() -> None:
    with pytest.raises(InvalidCode) as err:
        parse_code(s.PACK + "7")
    assert "length 25, expected 24" in err.value.message and "nearest valid reading" in err.value.message
    assert err.value.context["nearest"] and all(len(c) == 24 for c in err.value.context["nearest"])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_25_character_code_is_not_cut_to_a_prefix(web: Web, lang: str) -> None:
    typed = s.PACK + "7"
    r = web.client.get("/", params={"q": typed, "lang": lang}, follow_redirects=False)
    assert r.status_code == 422  # no redirect to the 24-character prefix's page
    if lang == "zh":
        assert "长度为 25 位，应为 24 位" in r.text and "最接近的有效编码" in r.text
    else:
        assert "it has 25 characters; a code has 24" in r.text and "nearest valid readings" in r.text
    first = r.text.index('id="lookup-suggestions"')
    # the reading on record comes first and is marked so
    assert r.text.index(f'href="/b/{s.PACK}"', first) < r.text.index("</ul>", first)
    assert ("平台有记录" if lang == "zh" else "on record") in r.text[first:]

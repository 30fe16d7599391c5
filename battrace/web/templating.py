"""Rendering a page: the Jinja2 environment, the per-request frame (language, caller) and the
language cookie."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from battrace import __version__
from battrace.clock import CHINA
from battrace.domain.access import Caller
from battrace.web.i18n import LANG_COOKIE, LANGS, Translator, pick_lang
from battrace.web.session import Viewer, viewer_of

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
LANG_COOKIE_AGE = 365 * 24 * 3600
#: Pages load nothing from elsewhere: scripts and styles are our own files (chart options travel as
#: ``application/json`` data, never as inline script); inline ``style`` attributes are allowed.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
                               "form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@cache
def echarts_version() -> str:
    """The vendored ECharts release (written by ``tools/vendor_echarts.sh``)."""
    path = STATIC / "vendor" / "ECHARTS-VERSION.txt"
    try:
        return path.read_text(encoding="utf-8").split()[1]
    except (OSError, IndexError):
        return "?"


def fmt_time(value: Any, *, date_only: bool = False) -> str:
    """An instant on China's clock, ``2026-05-03 10:00`` (or the date alone)."""
    if value is None or value == "":
        return "—"
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(CHINA)
    return moment.strftime("%Y-%m-%d" if date_only else "%Y-%m-%d %H:%M")


def fmt_number(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    number = float(value)
    if number == int(number):
        return f"{int(number):,}"
    return f"{number:,.{digits}f}"


def fmt_percent(value: Any, digits: int = 1) -> str:
    return "—" if value is None else f"{float(value) * 100:.{digits}f}%"


def to_json(value: Any) -> Markup:
    """JSON safe to place inside ``<script type="application/json">``."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(time=fmt_time, number=fmt_number, percent=fmt_percent, tojson_script=to_json)
    env.globals.update(version=__version__)
    from battrace.web.error_text import error_text  # messages in the page's language (issue 16)

    env.globals.update(error_text=error_text)
    return env


@dataclass(frozen=True)
class Frame:
    """What every page knows about its request."""

    request: Request
    t: Translator
    viewer: Viewer

    @property
    def caller(self) -> Caller:
        return self.viewer.caller

    def url_with(self, **params: Any) -> str:
        """This page's URL with some query parameters replaced (``None`` removes one)."""
        page_path = getattr(self.request.state, "page_path", None)  # where a POST's page lives
        query = dict(self.request.query_params) if self.request.method in ("GET", "HEAD") else {}
        for name, value in params.items():
            if value is None:
                query.pop(name, None)
            else:
                query[name] = str(value)
        path = page_path or self.request.url.path
        return f"{path}?{urlencode(query)}" if query else path


def frame(request: Request) -> Frame:
    lang = pick_lang(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))
    return Frame(request, Translator(lang), viewer_of(request))


def render(fr: Frame, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = environment().get_template(template).render(
        t=fr.t, v=fr.t.vocab, lang=fr.t.lang, langs=LANGS, fr=fr, viewer=fr.viewer,
        echarts_version=echarts_version(), **context,
    )
    response = HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
    remember_choices(fr, response)
    return response


def redirect(fr: Frame, url: str) -> RedirectResponse:
    """A 303 to ``url`` that still keeps the visitor's choices (and drops a dead key)."""
    response = RedirectResponse(url, status_code=303)
    remember_choices(fr, response)
    return response


def remember_choices(fr: Frame, response: Any) -> None:
    """Keep an explicit ``?lang=`` in a cookie and drop a key cookie that no longer works."""
    chosen = fr.request.query_params.get("lang")
    if chosen in LANGS:
        response.set_cookie(LANG_COOKIE, chosen, max_age=LANG_COOKIE_AGE, samesite="lax", path="/")
    if fr.viewer.stale:
        from battrace.web.session import KEY_COOKIE

        response.delete_cookie(KEY_COOKIE, path="/")

"""The organisation console ``/console``: what we hold, our open findings, and report uploads."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from battrace.errors import ValidationError
from battrace.services.compliance import count_findings, list_findings
from battrace.services.holdings_search import (
    HoldingsFilter,
    export_rows,
    make_filter,
    search_holdings,
    to_csv,
    to_xlsx,
)
from battrace.services.orgs import get_org
from battrace.services.oversight import data_version
from battrace.web.cache import cache_of
from battrace.web.pages.auth import login_page
from battrace.web.session import csrf_token, platform_of
from battrace.web.templating import Frame, frame, redirect, render
from battrace.web.upload import MAX_UPLOAD_BYTES, UploadError, read_upload

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
FINDINGS_SHOWN = 100
RESULTS_SHOWN = 200
MAX_READ = MAX_UPLOAD_BYTES + 1  # one byte more, to tell a file that is too large


def _guard(request: Request, fr: Frame) -> Response | None:
    if not fr.viewer.signed_in:
        return redirect(fr, "/login?next=/console")
    if fr.caller.org is None:
        return login_page(request, next_url="/console", reason="console.admin", status_code=403)
    return None


def _page(request: Request, fr: Frame, page: int, status_code: int = 200, form: HoldingsForm | None = None,
          **extra: Any) -> Response:
    platform = platform_of(request)
    org = fr.caller.org
    assert org is not None
    form = form or HoldingsForm()
    try:
        hfilter = form.to_filter()
    except ValidationError as exc:
        hfilter, status_code = HoldingsFilter(scope="held"), 422
        extra["filter_error"] = exc.message
    holdings = cache_of(request).get(("holdings", org, hfilter, page), data_version(platform.store),
                                     lambda: search_holdings(platform.store, org, hfilter, limit=PAGE_SIZE,
                                                             offset=(page - 1) * PAGE_SIZE))
    pages = max(1, -(-holdings.total // PAGE_SIZE))
    findings = list_findings(platform.store, org=org, state="open", limit=FINDINGS_SHOWN)
    findings.sort(key=lambda f: (f.get("due_at") is None, f.get("due_at") or "", f["id"]))
    return render(
        fr, "console.html", status_code=status_code, org=(the_org := get_org(platform.store, org)),
        holdings=holdings, form=form, query=form.query(), page=min(page, pages), pages=pages, findings=findings,
        can_report=the_org.type != "regulator",
        findings_total=count_findings(platform.store, org=org, state="open"),
        csrf=csrf_token(fr.viewer.key or ""), now=platform.now(), **extra,
    )


@dataclass(frozen=True)
class HoldingsForm:
    """The holdings search form as typed (strings; empty is "any")."""

    scope: str = "held"
    state: str = ""
    level: str = ""
    model: str = ""
    q: str = ""
    since: str = ""
    until: str = ""

    def to_filter(self) -> HoldingsFilter:
        return make_filter(scope=self.scope, state=self.state, level=self.level, model=self.model, code=self.q,
                           since=self.since, until=self.until)

    def query(self, **change: str) -> str:
        """The query string of this form (with changes), for links that keep the other filters."""
        values = {**asdict(self), **change}
        return urlencode({k: v for k, v in values.items() if v and not (k == "scope" and v == "held")})


def _form(scope: str, state: str, level: str, model: str, q: str, since: str, until: str) -> HoldingsForm:
    return HoldingsForm(scope or "held", state, level, model, q, since, until)


Text = Annotated[str, Query(max_length=64)]


@router.get("/console", name="web_console")
def console(request: Request, page: Annotated[int, Query(ge=1, le=100_000)] = 1, scope: Text = "held",
            state: Text = "", level: Text = "", model: Text = "", q: Text = "", since: Text = "",
            until: Text = "") -> Response:
    fr = frame(request)
    return _guard(request, fr) or _page(request, fr, page, form=_form(scope, state, level, model, q, since, until))


@router.get("/console/holdings.{fmt}", name="web_holdings_export")
def export_holdings(request: Request, fmt: str, scope: Text = "held", state: Text = "", level: Text = "",
                    model: Text = "", q: Text = "", since: Text = "", until: Text = "") -> Response:
    """The holdings that match the filters, as CSV or XLSX (at most EXPORT_LIMIT rows)."""
    fr = frame(request)
    refused = _guard(request, fr)
    if refused is not None:
        return refused
    if fmt not in ("csv", "xlsx"):
        return Response(status_code=404)
    org = fr.caller.org
    assert org is not None
    try:
        hfilter = _form(scope, state, level, model, q, since, until).to_filter()
    except ValidationError as exc:
        return Response(exc.message, status_code=422, media_type="text/plain; charset=utf-8")
    rows = export_rows(platform_of(request).store, org, hfilter)
    name = f"holdings-{hfilter.scope}-{org}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        return Response(to_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)
    return Response(to_xlsx(rows), headers=headers,
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _results(report: Any) -> dict[str, Any]:
    outcomes = report.outcomes
    shown = [o for i, o in enumerate(outcomes) if i < RESULTS_SHOWN or o.status == "rejected"]
    return {"accepted": report.accepted, "duplicate": report.duplicate, "rejected": report.rejected,
            "total": len(outcomes), "rows": shown, "truncated": len(shown) < len(outcomes)}


@router.post("/console/upload", name="web_upload")
def upload(request: Request, file: Annotated[UploadFile, File()], csrf: Annotated[str, Form()] = "") -> Response:
    request.state.page_path = "/console"
    fr = frame(request)
    refused = _guard(request, fr)
    if refused is not None:
        return refused
    name = file.filename or "upload"
    if fr.caller.org is not None and get_org(platform_of(request).store, fr.caller.org).type == "regulator":
        # regulators supervise; they do not report events (nothing is read from the file)
        return _page(request, fr, 1, status_code=403, upload_name=name, upload_error=fr.t("console.regulator_upload"))
    if csrf != csrf_token(fr.viewer.key or ""):
        return _page(request, fr, 1, status_code=403, upload_name=name, upload_error=fr.t("upload.csrf"))
    org = fr.caller.org
    assert org is not None
    platform = platform_of(request)
    data = file.file.read(MAX_READ)
    try:
        items = read_upload(fr.t, name, data, org)
    except UploadError as exc:
        return _page(request, fr, 1, status_code=422, upload_name=name, upload_error=exc.message)
    limit = platform.settings.batch_limit
    if len(items) > limit:
        return _page(request, fr, 1, status_code=413, upload_name=name,
                     upload_error=fr.t("upload.too_many", limit=limit, n=len(items)))
    report = platform.ledger.ingest(items)
    return _page(request, fr, 1, upload_name=name, results=_results(report))


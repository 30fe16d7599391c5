"""The organisation console ``/console``: what we hold, our open findings, and report uploads."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from battrace.services.compliance import count_findings, list_findings
from battrace.services.holdings import list_holdings
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


def _page(request: Request, fr: Frame, page: int, status_code: int = 200, **extra: Any) -> Response:
    platform = platform_of(request)
    org = fr.caller.org
    assert org is not None
    holdings = cache_of(request).get(("holdings", org, page), data_version(platform.store),
                                     lambda: list_holdings(platform.store, org, limit=PAGE_SIZE,
                                                           offset=(page - 1) * PAGE_SIZE))
    pages = max(1, -(-holdings.total // PAGE_SIZE))
    findings = list_findings(platform.store, org=org, state="open", limit=FINDINGS_SHOWN)
    findings.sort(key=lambda f: (f.get("due_at") is None, f.get("due_at") or "", f["id"]))
    return render(
        fr, "console.html", status_code=status_code, org=get_org(platform.store, org), holdings=holdings,
        page=min(page, pages), pages=pages, findings=findings,
        findings_total=count_findings(platform.store, org=org, state="open"),
        csrf=csrf_token(fr.viewer.key or ""), now=platform.now(), **extra,
    )


@router.get("/console", name="web_console")
def console(request: Request, page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    fr = frame(request)
    return _guard(request, fr) or _page(request, fr, page)


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


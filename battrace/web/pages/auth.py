"""Signing in with an API key (kept in an HttpOnly cookie) and signing out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from battrace.errors import Unauthorized
from battrace.web.session import KEY_COOKIE, KEY_COOKIE_AGE, csrf_token, is_secure, platform_of, sign_in
from battrace.web.templating import frame, remember_choices, render

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str | None:
    """A local path to return to (never another site)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def login_page(request: Request, *, next_url: str | None = None, reason: str | None = None,
               status_code: int = 200) -> Response:
    fr = frame(request)
    return render(fr, "login.html", status_code=status_code, next_url=safe_next(next_url) or "",
                  reason=fr.t(reason) if reason else None)


@router.get("/login", name="web_login")
def login_form(request: Request, next: str | None = None) -> Response:  # noqa: A002 - the query name
    return login_page(request, next_url=next)


@router.post("/login")
def login(request: Request, key: Annotated[str, Form(max_length=200)], next: Annotated[str, Form()] = "") -> Response:  # noqa: A002
    fr = frame(request)
    try:
        viewer = sign_in(platform_of(request), key)
    except Unauthorized:
        return render(fr, "login.html", status_code=401, next_url=safe_next(next) or "",
                      error=fr.t("login.invalid"))
    default = "/dashboard" if viewer.is_regulator else "/console"
    response = RedirectResponse(safe_next(next) or default, status_code=303)
    response.set_cookie(KEY_COOKIE, viewer.key or "", max_age=KEY_COOKIE_AGE, httponly=True, samesite="lax",
                        secure=is_secure(request), path="/")
    remember_choices(fr, response)
    return response


@router.post("/logout", name="web_logout")
def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    fr = frame(request)
    response = RedirectResponse("/", status_code=303)
    if not fr.viewer.signed_in or csrf == csrf_token(fr.viewer.key or ""):
        response.delete_cookie(KEY_COOKIE, path="/")
    return response

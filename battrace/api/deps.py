"""Request dependencies: the platform and the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from battrace.domain.access import Caller
from battrace.errors import Unauthorized
from battrace.services.access import authenticate
from battrace.services.platform import Platform


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def get_caller(
    request: Request,
    authorization: Annotated[str | None, Header(description="Bearer bt_<key>")] = None,
) -> Caller:
    return authenticate(get_platform(request).store, authorization)


def get_reader(
    request: Request,
    authorization: Annotated[str | None, Header(description="Bearer bt_<key>")] = None,
) -> Caller:
    """The caller of a guarded read: credentials that are refused (unknown or revoked key) do not
    fail the request here but are passed on, so that the guard audits the attempt before its 401."""
    try:
        return authenticate(get_platform(request).store, authorization)
    except Unauthorized as exc:
        return Caller(key_id=exc.context.get("key_id"), refused=exc.message)


PlatformDep = Annotated[Platform, Depends(get_platform)]
CallerDep = Annotated[Caller, Depends(get_caller)]
ReaderDep = Annotated[Caller, Depends(get_reader)]

"""Request dependencies: the platform and the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from battrace.domain.access import Caller
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


PlatformDep = Annotated[Platform, Depends(get_platform)]
CallerDep = Annotated[Caller, Depends(get_caller)]

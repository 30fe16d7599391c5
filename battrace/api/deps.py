"""Request dependencies: the platform, the caller, and the store a read-only route reads."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Annotated

from fastapi import Depends, Header, Request

from battrace.domain.access import Caller
from battrace.errors import StorageError, Unauthorized
from battrace.services.access import authenticate
from battrace.services.platform import Platform
from battrace.storage.replica import has_replayed, lag_seconds
from battrace.storage.store import Store


def platform_of(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


async def get_platform(request: Request) -> Platform:
    """The platform (a coroutine: FastAPI runs a plain function dependency in the thread pool, and
    that hop cost more than this lookup)."""
    return platform_of(request)


def get_caller(
    request: Request,
    authorization: Annotated[str | None, Header(description="Bearer bt_<key>")] = None,
) -> Caller:
    return authenticate(platform_of(request).store, authorization)


def get_reader(
    request: Request,
    authorization: Annotated[str | None, Header(description="Bearer bt_<key>")] = None,
) -> Caller:
    """The caller of a guarded read: credentials that are refused (unknown or revoked key) do not
    fail the request here but are passed on, so that the guard audits the attempt before its 401."""
    try:
        return authenticate(platform_of(request).store, authorization)
    except Unauthorized as exc:
        return Caller(key_id=exc.context.get("key_id"), refused=exc.message)


PlatformDep = Annotated[Platform, Depends(get_platform)]
CallerDep = Annotated[Caller, Depends(get_caller)]
ReaderDep = Annotated[Caller, Depends(get_reader)]


#: Response headers of the read-only routes when a replica is configured.
READ_FROM_HEADER = "X-Battrace-Read-From"
LAG_HEADER = "X-Battrace-Replica-Lag"
MIN_LSN_HEADER = "X-Battrace-Min-LSN"
COMMIT_LSN_HEADER = "X-Battrace-Commit-LSN"


def get_read_store(
    request: Request,
    x_battrace_min_lsn: Annotated[
        str | None,
        Header(description="Read-your-writes: the X-Battrace-Commit-LSN of your write; a replica that has "
               "not replayed that far is not used for this request"),
    ] = None,
) -> Store:
    """The store a read-only route reads from: the replica, unless it lags behind the caller's own
    write (``X-Battrace-Min-LSN``) or cannot be reached; then the primary. Says which, and the
    replica's lag in seconds, in response headers (on an error response too: see
    :mod:`battrace.api.observe`)."""
    platform = platform_of(request)
    headers: dict[str, str] = {}
    request.state.response_headers = headers
    return choose_read_store(platform, headers, x_battrace_min_lsn)


def choose_read_store(platform: Platform, headers: MutableMapping[str, str], min_lsn: str | None) -> Store:
    if platform.read_store is platform.store:
        return platform.store
    replica = platform.read_store
    try:
        lag = lag_seconds(replica)
        fresh = min_lsn is None or has_replayed(replica, min_lsn)
    except StorageError:
        lag, fresh = None, False
    if lag is not None:
        headers[LAG_HEADER] = f"{lag:.3f}"
    headers[READ_FROM_HEADER] = "replica" if fresh else "primary"
    return replica if fresh else platform.store


ReadStoreDep = Annotated[Store, Depends(get_read_store)]

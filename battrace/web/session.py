"""Who is looking at a page: the API key kept in an HttpOnly cookie, turned into a caller.

The key is the same ``bt_<id>_<secret>`` the API takes as a bearer token; the web console keeps it
in the ``bt_key`` cookie (HttpOnly, SameSite=Lax, Secure over HTTPS), so page scripts never see it.
A key that stops working (revoked, organisation removed) makes the visitor anonymous again and the
cookie is dropped. Forms that change something carry a token derived from the key (double submit):
a page of another site cannot produce it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from fastapi import Request

from battrace.domain.access import Caller
from battrace.errors import Unauthorized
from battrace.services.access import authenticate
from battrace.services.orgs import get_org
from battrace.services.platform import Platform

KEY_COOKIE = "bt_key"
KEY_COOKIE_AGE = 12 * 3600


@dataclass(frozen=True)
class Viewer:
    caller: Caller
    key: str | None = None
    org_name: str | None = None
    stale: bool = False

    @property
    def signed_in(self) -> bool:
        return not self.caller.anonymous

    @property
    def is_regulator(self) -> bool:
        return self.caller.admin or self.caller.org_type == "regulator"

    @property
    def csrf(self) -> str:
        return csrf_token(self.key or "")


def csrf_token(key: str) -> str:
    return hmac.new(key.encode("utf-8"), b"battrace-web-form", hashlib.sha256).hexdigest()[:32]


def platform_of(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def sign_in(platform: Platform, key: str) -> Viewer:
    """The viewer behind ``key``; raises :class:`Unauthorized` for a key that does not work."""
    key = key.strip()
    caller = authenticate(platform.store, f"Bearer {key}")
    name = get_org(platform.store, caller.org).name if caller.org is not None else None
    return Viewer(caller, key, name)


def viewer_of(request: Request) -> Viewer:
    cached = getattr(request.state, "battrace_viewer", None)
    if isinstance(cached, Viewer):
        return cached
    key = request.cookies.get(KEY_COOKIE)
    viewer = Viewer(Caller())
    if key:
        try:
            viewer = sign_in(platform_of(request), key)
        except Unauthorized:
            viewer = Viewer(Caller(), stale=True)
    request.state.battrace_viewer = viewer
    return viewer


def is_secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"

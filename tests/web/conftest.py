"""Fixtures for the web console: the real app (API + pages) on a real SQLite file.

``web`` is the scripted story alone (cheap, one per test); ``big_world`` adds a few hundred
simulated packs for the charts (built once per session). ``live_server`` serves ``big_world`` with
uvicorn on a free localhost port in a background thread, for the browser tests.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from battrace.api import create_app
from tests.web.world import World, build_world

BIG_WORLD_PACKS = 300


@dataclass
class Web:
    client: TestClient
    world: World

    @property
    def keys(self) -> dict[str, str]:
        return self.world.keys

    def login(self, role: str) -> None:
        """Sign in through the form, as a browser does (the key ends up in the HttpOnly cookie)."""
        r = self.client.post("/login", data={"key": self.keys[role], "next": "/"}, follow_redirects=False)
        assert r.status_code == 303, r.text


@pytest.fixture
def web(sqlite_url: str) -> Iterator[Web]:
    world = build_world(sqlite_url)
    with TestClient(create_app(world.platform)) as client:
        yield Web(client, world)
    world.platform.close()


@pytest.fixture(scope="session")
def big_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("web-world")
    world = build_world(f"sqlite:///{root / 'battrace.db'}", packs=BIG_WORLD_PACKS, work=root / "sim")
    yield world
    world.platform.close()


@pytest.fixture(scope="session")
def live_server(big_world: World) -> Iterator[str]:
    """The real app served by uvicorn on 127.0.0.1 (a free port), in a background thread."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(big_world.platform), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


# -- the browser (Chromium via Playwright) for every browser test module, one per session --------------
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}: run `make browser-deps` "
                    "(apt-get install chromium; needs the network once)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    playwright = sync_api.sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    except Exception:
        playwright.stop()
        raise
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server, viewport={"width": 1360, "height": 900}, locale="zh-CN")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    pg.set_default_timeout(15_000)
    yield pg
    context.close()
    assert errors == [], f"JavaScript errors or blocked content on the page: {errors}"

"""``battrace serve`` and ``battrace keys``."""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Annotated

import typer

from battrace import clock
from battrace.cli.ledger import open_platform
from battrace.cli.output import console, err_console, print_json, print_table
from battrace.services.access import create_key, list_keys, revoke_key
from battrace.storage.server_settings import setting_warnings

keys = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)


@keys.command("create")
def keys_create(
    ctx: typer.Context,
    org: Annotated[str | None, typer.Argument(help="The organisation's credit code.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Create a platform-admin key instead.")] = False,
    label: Annotated[str | None, typer.Option(help="A note to recognise the key by.")] = None,
) -> None:
    """Create a key and print it once; only its hash is stored."""
    key = create_key(open_platform(ctx).store, org, clock.now(), admin=admin, label=label)
    typer.echo(key)


@keys.command("list")
def keys_list(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List keys (ids only; secrets are never stored)."""
    rows = list_keys(open_platform(ctx).store)
    if as_json:
        print_json(rows)
        return
    print_table("API keys", ["key id", "org", "role", "label", "created", "revoked"],
                [[r["key_id"], r["org"], r["role"], r["label"], r["created_at"], r["revoked_at"]] for r in rows])


@keys.command("revoke")
def keys_revoke(ctx: typer.Context, key_id: Annotated[str, typer.Argument(help="The key id (bt_<id>_...).")]) -> None:
    """Revoke a key: it stops working at once."""
    revoke_key(open_platform(ctx).store, key_id.removeprefix("bt_").split("_")[0], clock.now())
    console.print(f"revoked {key_id}")


def serve_cmd(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (uvicorn); each has its own connections.")]
    = 1,
    graceful_timeout: Annotated[
        int, typer.Option(min=1, help="On SIGTERM, seconds to let requests in flight finish before closing.")
    ] = 30,
) -> None:
    """Start the HTTP API (and web pages) with uvicorn: /healthz (liveness), /readyz (readiness),
    /metrics (Prometheus). SIGTERM stops accepting connections and finishes the requests in flight."""
    import uvicorn

    platform = open_platform(ctx)  # migrates the database once, before any worker starts
    console.print(f"battrace on http://{host}:{port}/  ({workers} worker{'s' if workers > 1 else ''}; "
                  "API docs: /docs, OpenAPI: /openapi.json, /healthz, /readyz, /metrics)")
    for warning in setting_warnings(platform.store):
        err_console.print(f"[yellow]warning:[/yellow] {warning}")
    if workers == 1:
        from battrace.api import create_app

        uvicorn.run(create_app(platform), host=host, port=port, log_level="warning", access_log=False,
                    timeout_graceful_shutdown=graceful_timeout)
        return
    platform.close()
    os.environ["BATTRACE_DATABASE_URL"] = platform.settings.database_url  # the workers read their settings here
    with tempfile.TemporaryDirectory(prefix="battrace-metrics-") as metrics_dir:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        try:
            run_workers(host, port, workers, graceful_timeout)
        finally:
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)


def run_workers(host: str, port: int, workers: int, graceful_timeout: int = 30) -> None:
    """``workers`` uvicorn worker processes, each building the app from the environment
    (:func:`battrace.api.app.create_app_from_env`), on one listening socket that keeps TCP_NODELAY on
    the connections it accepts (:class:`battrace.api.listener.TcpConfig`)."""
    from uvicorn.supervisors import Multiprocess

    from battrace.api.listener import TcpConfig

    config = TcpConfig("battrace.api.app:create_app_from_env", factory=True, workers=workers, host=host, port=port,
                       log_level="warning", access_log=False, timeout_graceful_shutdown=graceful_timeout)
    with contextlib.suppress(KeyboardInterrupt):
        Multiprocess(config, sockets=[config.bind_socket()]).run()


def register(app: typer.Typer) -> None:
    app.add_typer(keys, name="keys")
    app.command("serve")(serve_cmd)

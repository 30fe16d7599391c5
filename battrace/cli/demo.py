"""``battrace demo``: simulate a national world, ingest it, create keys, serve it."""

from __future__ import annotations

import time as _time
from pathlib import Path
from typing import Annotated

import typer

from battrace import clock
from battrace.cli.context import display_url
from battrace.cli.output import console, print_table
from battrace.cli.progress import progress
from battrace.services.demo import prepare_demo


def demo_cmd(
    data_dir: Annotated[Path, typer.Option("--data", help="Folder for the demo world and database.")] = Path(
        "demo-data"),
    packs: Annotated[int, typer.Option(help="Packs in the simulated world.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same world).")] = 1,
    full_cells: Annotated[bool, typer.Option("--full-cells", help="Realistic cell counts (slower).")] = False,
    fresh: Annotated[bool, typer.Option("--fresh", help="Rebuild the world even if one exists.")] = False,
    host: Annotated[str, typer.Option(help="Interface to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Start the server afterwards.")] = True,
) -> None:
    """Build (or reuse) the demo world and serve it on http://HOST:PORT/."""
    started = _time.perf_counter()
    with progress(announce=True) as stage:
        world = prepare_demo(data_dir, packs=packs, seed=seed, full_cells=full_cells, fresh=fresh, now=clock.now(),
                             on_stage=stage)
    elapsed = _time.perf_counter() - started
    ingest = world.summary.get("ingest", {})
    console.print(
        f"[bold]battrace demo[/bold] — {'reused' if world.reused else 'built'} in {elapsed:.0f} s: "
        f"{world.summary.get('events', '?')} events, accepted {ingest.get('accepted', '?')}, "
        f"rejected {ingest.get('rejected', '?')}; database {display_url(world.database_url)}"
    )
    base = f"http://{host}:{port}"
    print_table("demo keys (send as 'Authorization: Bearer KEY', or paste into the web console)",
                ["role", "organisation", "key"],
                [[role, f"{k['name']} {k['org']}".strip(), k["key"]] for role, k in world.keys.items()])
    print_table("where to look", ["what", "URL"], [
        ["home / code lookup", f"{base}/"],
        ["regulator dashboard", f"{base}/dashboard"],
        ["organisation console", f"{base}/console"],
        *[[f"battery page ({c})", f"{base}/b/{c}"] for c in world.sample_codes],
        ["API docs", f"{base}/docs"],
        ["public API example", f"{base}/api/v1/public/batteries/{world.sample_codes[0]}" if world.sample_codes
         else f"{base}/api/v1/public/batteries/CODE"],
    ])
    if serve:
        import uvicorn

        from battrace.api import create_app
        from battrace.services.platform import Platform

        console.print(f"serving on {base}/ — Ctrl-C to stop")
        uvicorn.run(create_app(Platform.open(world.database_url)), host=host, port=port, log_level="warning")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_cmd)

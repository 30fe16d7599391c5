"""``battrace ingest``, ``passport``, ``history``, ``vehicle``, ``verify``."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from battrace.cli.context import state
from battrace.cli.output import console, err_console, print_fields, print_json, print_table
from battrace.domain.events import parse_time
from battrace.errors import BattraceError, InvalidEvent
from battrace.interop.jsonl import read_jsonl
from battrace.services.passport import get_history, get_passport, get_vehicle
from battrace.services.platform import Platform
from battrace.services.verify import verify


def open_platform(ctx: typer.Context) -> Platform:
    return Platform.open(state(ctx).database_url)


def progress_bar(total: int, label: str) -> Progress:
    return Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=err_console, disable=not sys.stderr.isatty(), transient=False,
    )


def ingest_cmd(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A JSON Lines file of events.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    import_history: Annotated[
        bool, typer.Option("--import-history", help="Migration mode: keep each event's own recorded_at.")
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help="jsonl (default), csv or epcis.")] = "jsonl",
    workers: Annotated[int, typer.Option(
        "--workers", min=1, help="Writer processes (JSON Lines on PostgreSQL; events are split by the "
        "batteries and vehicles they name, each battery's events in file order).")] = 1,
) -> None:
    """Ingest events in order; exit 1 when any was rejected."""
    if workers > 1:
        _ingest_sharded(ctx, file, fmt, workers, import_history, as_json)
        return
    platform = open_platform(ctx)
    items = _read_items(file, fmt)
    with file.open(encoding="utf-8", errors="replace") as handle:
        total = sum(1 for line in handle if line.strip()) if fmt == "jsonl" else 0
    with progress_bar(total, "ingest") as bar:
        task = bar.add_task("ingest", total=total or None)
        report = platform.ledger.ingest(
            items, import_history=import_history, progress=lambda n: bar.advance(task, n)
        )
    if as_json:
        print_json(report.as_dict())
    else:
        console.print(
            f"accepted [green]{report.accepted}[/green], duplicate {report.duplicate}, "
            f"rejected [red]{report.rejected}[/red]"
        )
        rejections = report.as_dict()["rejections"]
        if rejections:
            print_table("rejections", ["line", "event_id", "code", "message"],
                        [[r["line"], r["event_id"], r["code"], r["message"]] for r in rejections[:50]])
            if len(rejections) > 50:
                console.print(f"... and {len(rejections) - 50} more (use --json for all)")
    if report.rejected:
        raise typer.Exit(1)


def _ingest_sharded(ctx: typer.Context, file: Path, fmt: str, workers: int, import_history: bool,
                    as_json: bool) -> None:
    from battrace.services.sharded_ingest import ingest_sharded

    if fmt != "jsonl":
        raise InvalidEvent(f"--workers needs --format jsonl, got {fmt}", field="format")
    url = state(ctx).database_url
    open_platform(ctx).close()  # migrate once, before the writers start
    with file.open(encoding="utf-8", errors="replace") as handle:
        total = sum(1 for line in handle if line.strip())
    with progress_bar(total, f"ingest ({workers} writers)") as bar:
        task = bar.add_task("ingest", total=total or None)
        report = ingest_sharded(url, file, workers, import_history=import_history,
                                progress=lambda n: bar.advance(task, n))
    if as_json:
        print_json(report.as_dict())
    else:
        console.print(
            f"accepted [green]{report.accepted}[/green], duplicate {report.duplicate}, "
            f"rejected [red]{report.rejected}[/red] ({len(report.writers)} writer(s))"
        )
        rejections = report.as_dict()["rejections"]
        if rejections:
            print_table("rejections", ["line", "event_id", "code", "message"],
                        [[r["line"], r["event_id"], r["code"], r["message"]] for r in rejections[:50]])
    if report.rejected:
        raise typer.Exit(1)


def _read_items(file: Path, fmt: str) -> Iterator[tuple[int | None, Any]]:
    if fmt == "jsonl":
        yield from read_jsonl(file)
        return
    if fmt == "csv":  # a malformed file or cell stops here (one line, exit 1); events go to the ledger
        from battrace.interop.csv_io import read_events_csv_lines

        yield from read_events_csv_lines(file.read_bytes(), validate=False)
        return
    if fmt == "epcis":  # read whole first: a document outside the mapping is refused before anything is stored
        from battrace.interop.epcis import from_epcis_document

        try:
            doc = json.loads(file.read_bytes().decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidEvent(f"{file} is not a UTF-8 JSON document: {exc}") from None
        yield from enumerate(from_epcis_document(doc), 1)
        return
    raise InvalidEvent(f"--format must be jsonl, csv or epcis, got {fmt!r}", field="format")


def _time(value: str | None) -> Any:
    if value is None:
        return None
    if len(value) == 10:
        value += "T23:59:59.999999+08:00"
    return parse_time(value, "--at")


def passport_cmd(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="GB/T 34014 battery code.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    at: Annotated[str | None, typer.Option("--at", help="Rebuild the passport as it was at TIME (RFC 3339 or date).")]
    = None,
) -> None:
    """Show a battery's digital ID."""
    p = get_passport(open_platform(ctx).store, code, at=_time(at))
    if as_json:
        print_json(p)
        return
    org = lambda o: f"{o['name']} ({o['credit_code']})" if o else None  # noqa: E731
    health = p["health"] or {}
    print_fields(
        f"digital ID {code}" + (f" as of {p['as_of']}" if p["as_of"] else ""),
        [
            ("level / chemistry", f"{p['parsed']['level']} / {p['chemistry']}" + (" (re-made)" if p["remade"] else "")),
            ("maker", org(p["maker"])),
            ("model", p["model"]),
            ("rated", f"{p['rated_capacity_ah']} Ah, {p['nominal_voltage_v']} V, {p['rated_energy_kwh']} kWh"
             if p["rated_capacity_ah"] else None),
            ("produced", p["produced_at"]),
            ("state", p["state"] + (" (waste)" if p["waste"] else "")),
            ("custodian", org(p["custodian"])),
            ("vehicle", p["vin"]),
            ("parent", p["parent"]),
            ("children", _shorten(p["children"])),
            ("sources (lineage)", ", ".join(p["sources"]) or None),
            ("re-made into", ", ".join(p["products"]) or None),
            ("health", f"SOH {health.get('soh')} ({health.get('method') or 'method not given'}, "
                       f"{health.get('tested_at')})" if health else None),
            ("findings", ", ".join(f"{f['rule']} {f['state']}" for f in p["findings"]) or None),
            ("events / head", f"{p['version']} / {p['head']}"),
        ],
    )
    _history_table(p["history"])


def _shorten(codes: list[str], keep: int = 4) -> str | None:
    if not codes:
        return None
    return f"{len(codes)}: " + ", ".join(codes[:keep]) + (" ..." if len(codes) > keep else "")


def _history_table(history: list[dict[str, Any]]) -> None:
    print_table(
        "history", ["seq", "occurred_at", "type", "reporter", "recorded_at", "hash"],
        [[h["seq"], h["occurred_at"], h["type"], h["reporter"], h["recorded_at"], h["hash"][:16]] for h in history],
    )


def history_cmd(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="GB/T 34014 battery code.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show a battery's event history with hashes."""
    history = get_history(open_platform(ctx).store, code)
    if as_json:
        print_json(history)
    else:
        _history_table(history)


def vehicle_cmd(
    ctx: typer.Context,
    vin: Annotated[str, typer.Argument(help="Vehicle identification number.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show a vehicle's record: bound packs, swap model, sold, scrapped."""
    v = get_vehicle(open_platform(ctx).store, vin)
    if as_json:
        print_json(v)
        return
    print_fields(f"vehicle {vin}", [
        ("model", v["vehicle_model"]), ("maker", (v["maker"] or {}).get("name")), ("state", v["state"]),
        ("swap model", v["swap_model"]), ("packs", ", ".join(v["packs"])), ("certified", v["certified_at"]),
        ("sold", v["sold_at"]), ("scrapped", v["scrapped_at"]),
    ])
    _history_table(v["history"])


def verify_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Check the whole log's hash chains and the read models; exit 1 naming the first broken event."""
    report = verify(open_platform(ctx).store)
    if as_json:
        print_json(report.as_dict())
    elif report.ok:
        console.print(f"[green]intact[/green]: {report.events} events, {report.streams} streams, {report.links} links")
    else:
        first = report.problems[0]
        console.print(f"[red]BROKEN[/red]: {first['message']}")
        for p in report.problems[1:10]:
            console.print(f"  {p['message']}")
    if not report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_cmd)
    app.command("passport")(passport_cmd)
    app.command("history")(history_cmd)
    app.command("vehicle")(vehicle_cmd)
    app.command("verify")(verify_cmd)


__all__ = ["register", "open_platform", "read_jsonl", "BattraceError"]

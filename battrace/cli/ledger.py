"""``battrace ingest``, ``passport``, ``history``, ``vehicle``, ``verify``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from battrace.cli.context import empty_database, state
from battrace.cli.output import console, print_fields, print_json, print_table
from battrace.cli.progress import progress
from battrace.domain.events import parse_time
from battrace.errors import BattraceError, InvalidEvent, NotFound
from battrace.interop.jsonl import read_jsonl
from battrace.services.passport import get_history, get_passport, get_vehicle
from battrace.services.platform import Platform
from battrace.services.verify import verify

T = TypeVar("T")


def open_platform(ctx: typer.Context) -> Platform:
    return Platform.open(state(ctx).database_url)


def read_platform(ctx: typer.Context) -> Platform:
    """The platform for a read command: a missing SQLite file is an error instead of a new empty one."""
    return Platform.open(state(ctx).existing_database_url())


def lookup(platform: Platform, find: Callable[[], T]) -> T:
    """Run a per-code lookup; "unknown" on a database with no events says the database is empty."""
    try:
        return find()
    except NotFound:
        with platform.store.reader() as conn:
            if platform.store.max_seq(conn) == 0:
                raise empty_database(platform.store.url) from None
        raise


def ingest_cmd(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A JSON Lines file of events.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    import_history: Annotated[
        bool, typer.Option("--import-history", help="Migration mode: keep each event's own recorded_at.")
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help="jsonl (default), csv or epcis.")] = "jsonl",
) -> None:
    """Ingest events in order; exit 1 when any was rejected."""
    platform = open_platform(ctx)
    items = _read_items(file, fmt)
    with file.open(encoding="utf-8", errors="replace") as handle:
        total = sum(1 for line in handle if line.strip()) if fmt == "jsonl" else 0
    with progress() as stage:
        report = platform.ledger.ingest(items, import_history=import_history, progress=stage("ingest", total or None))
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
    platform = read_platform(ctx)
    p = lookup(platform, lambda: get_passport(platform.store, code, at=_time(at)))
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
    platform = read_platform(ctx)
    history = lookup(platform, lambda: get_history(platform.store, code))
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
    platform = read_platform(ctx)
    v = lookup(platform, lambda: get_vehicle(platform.store, vin))
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
    platform = read_platform(ctx)
    with progress() as stage:
        with platform.store.reader() as conn:
            total = platform.store.max_seq(conn)
        report = verify(platform.store, progress=stage("verify events", total or None))
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

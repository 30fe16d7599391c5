"""``battrace ingest``, ``passport``, ``history``, ``vehicle``, ``verify``, ``rebuild``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from battrace.cli.context import empty_database, state
from battrace.cli.output import console, print_fields, print_json, print_table
from battrace.cli.progress import progress
from battrace.config import Settings
from battrace.domain.events import parse_moment
from battrace.domain.limits import MAX_DEPTH, decode_utf8, loads
from battrace.errors import BattraceError, InvalidEvent, NotFound
from battrace.interop.jsonl import read_jsonl
from battrace.services.passport import get_history, get_passport, get_vehicle
from battrace.services.platform import Platform
from battrace.services.verify import verify

#: An EPCIS document wraps each event in a few levels (document, body, event list, event).
EPCIS_MAX_DEPTH = MAX_DEPTH + 8
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
    workers: Annotated[int, typer.Option(
        "--workers", min=1, help="Writer processes (JSON Lines on PostgreSQL; events are split by the "
        "batteries and vehicles they name, each battery's events in file order).")] = 1,
    parse_workers: Annotated[int, typer.Option(
        "--parse-workers", min=0, help="Processes that decode and validate JSON Lines ahead of the one "
        "writer, which decides and writes in order (pays when a core is free for them: PostgreSQL).")] = 0,
) -> None:
    """Ingest events in order; exit 1 when any was rejected."""
    if workers > 1:
        _ingest_sharded(ctx, file, fmt, workers, import_history, as_json)
        return
    if parse_workers and fmt != "jsonl":
        raise InvalidEvent(f"--parse-workers needs --format jsonl, got {fmt}", field="format")
    platform = open_platform(ctx)
    items = _jsonl_lines(file) if parse_workers else _read_items(file, fmt)
    with file.open(encoding="utf-8", errors="replace") as handle:
        total = sum(1 for line in handle if line.strip()) if fmt == "jsonl" else 0
    with progress() as stage:
        report = platform.ledger.ingest(items, import_history=import_history, progress=stage("ingest", total or None),
                                        parse_workers=parse_workers)
    _print_ingest_report(report, as_json)


def _print_ingest_report(report: Any, as_json: bool, note: str = "") -> None:
    """The outcome of an ingest (one writer or many): counts, the first 50 rejections; exit 1 on any."""
    if as_json:
        print_json(report.as_dict())
    else:
        console.print(
            f"accepted [green]{report.accepted}[/green], duplicate {report.duplicate}, "
            f"rejected [red]{report.rejected}[/red]{note}"
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
    with progress() as stage:
        report = ingest_sharded(url, file, workers, import_history=import_history,
                                progress=stage(f"ingest ({workers} writers)", total or None))
    _print_ingest_report(report, as_json, f" ({len(report.writers)} writer(s))")


def _jsonl_lines(file: Path) -> Iterator[tuple[int | None, Any]]:
    """``(line number, bytes)`` of each non-blank line, undecoded (the parse workers decode them, as
    :func:`~battrace.interop.jsonl.decode_lines` would: a UTF-8 BOM on the first line is dropped)."""
    with file.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if raw.strip():
                yield number, raw


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
            doc = loads(decode_utf8(file.read_bytes()), max_depth=EPCIS_MAX_DEPTH)
        except BattraceError as exc:
            raise InvalidEvent(f"{file} is not a UTF-8 JSON document within the limits: {exc.message}") from None
        yield from enumerate(from_epcis_document(doc), 1)
        return
    raise InvalidEvent(f"--format must be jsonl, csv or epcis, got {fmt!r}", field="format")


def _time(value: str | None) -> Any:
    """``--at``: the one parser the API uses too (a date is the end of that day, China time)."""
    return None if value is None else parse_moment(value, "--at")


def passport_cmd(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="GB/T 34014 battery code.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    at: Annotated[str | None, typer.Option("--at", help="Rebuild the passport as it was at TIME (RFC 3339 with "
                                                         "offset, or a date: the end of that day, China time).")]
    = None,
    by: Annotated[str, typer.Option("--by", help="With --at: 'recorded' (what the platform had recorded by then, "
                                                 "the default) or 'occurred' (what had happened by then).")]
    = "recorded",
) -> None:
    """Show a battery's digital ID."""
    platform = read_platform(ctx)
    p = lookup(platform, lambda: get_passport(platform.store, code, at=_time(at), by=by))
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
            ("state", p["state"] + (" (waste)" if p["waste"] else "")
             + (f" (with its pack {p['pack']['code']}, {p['pack']['state']})" if p.get("pack") else "")),
            ("vehicle state", (p["vehicle"] or {}).get("state")),
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
    anchor: Annotated[
        Path | None, typer.Option("--anchor", help="Also check a signed anchor file (battrace anchor): "
                                  "every head it recorded must still be in the log.")
    ] = None,
    public_key: Annotated[
        Path | None, typer.Option("--public-key", help="The platform's Ed25519 public key (PEM) the anchor must "
                                  "be signed with (default: the setting BATTRACE_ANCHOR_PUBLIC_KEY).")
    ] = None,
) -> None:
    """Check every hash chain and re-derive every read model from the log; exit 1 naming what differs."""
    payload = None
    trusted = False
    if anchor is not None:
        from battrace.services.anchor import load_public_key, read_anchor

        if public_key is None and (configured := Settings.from_env().anchor_public_key):
            public_key = Path(configured)
        payload, trusted = read_anchor(anchor, load_public_key(public_key) if public_key else None)
    platform = read_platform(ctx)
    with progress() as stage:
        with platform.store.reader() as conn:
            total = platform.store.max_seq(conn)
        report = verify(platform.store, progress=stage("verify events", total or None), anchor=payload)
    if as_json:
        print_json(report.as_dict() | ({"anchor_key_trusted": trusted} if anchor else {}))
    elif report.ok:
        console.print(f"[green]intact[/green]: {report.events} events, {report.streams} streams, {report.links} links"
                      f" ({', '.join(report.checks)})")
        if anchor is not None and not trusted:
            console.print("note: the anchor's signature was checked against the key it names; pass --public-key "
                          "to check it is the platform's")
    else:
        first = report.problems[0]
        console.print(f"[red]BROKEN[/red]: {first['message']}")
        for p in report.problems[1:10]:
            console.print(f"  {p['message']}")
    if not report.ok:
        raise typer.Exit(1)


def rebuild_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Replay the log into the read models (batteries, vehicles, techinfo, lineage) in one transaction,
    with the fold verify compares with; report the rows that differed. A broken log is refused."""
    from battrace.services.rebuild import rebuild
    from battrace.storage.verification import link_count

    platform = read_platform(ctx)
    with progress() as stage:
        with platform.store.reader() as conn:
            total = link_count(conn)
        report = rebuild(platform.store, progress=stage("rebuild read models", total or None))
    if as_json:
        print_json(report.as_dict())
        return
    if report.identical:
        console.print(f"[green]identical[/green]: {report.streams} streams, {report.links} links replayed; "
                      "every read model already equalled the log")
        return
    print_table("rows rewritten from the log", ["table", "added", "changed", "removed"],
                [(t, c["added"], c["changed"], c["removed"]) for t, c in report.tables.items()])
    print_table(None, ["table", "key", "difference", "column"],
                [(d["table"], d["key"], d["difference"], d.get("column", "")) for d in report.differences[:20]])
    console.print(f"rebuilt: {report.streams} streams, {report.links} links replayed")


def anchor_cmd(
    ctx: typer.Context,
    key: Annotated[Path | None, typer.Option("--key", exists=True, dir_okay=False,
                                             help="The platform's Ed25519 private key (PEM; battrace anchor-key); "
                                             "default: the setting BATTRACE_ANCHOR_KEY.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the signed anchor to this file.")] = None,
    url: Annotated[str | None, typer.Option("--url", help="POST the signed anchor (JSON) to this URL.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the anchor document.")] = False,
) -> None:
    """Sign the head of every chain with the platform key and write it out of reach (run it on a schedule)."""
    from battrace import clock
    from battrace.services.anchor import load_private_key, make_anchor, send_anchor, write_anchor

    if out is None and url is None and not as_json:
        raise InvalidEvent("give --out FILE, --url URL or --json", field="out")
    if key is None:
        configured = Settings.from_env().anchor_key
        if configured is None:
            raise InvalidEvent("give --key FILE (or set BATTRACE_ANCHOR_KEY)", field="key")
        key = Path(configured)
    doc = make_anchor(open_platform(ctx).store, load_private_key(key), clock.now())
    if out is not None:
        write_anchor(doc, out)
    if url is not None:
        send_anchor(doc, url)
    if as_json:
        print_json(doc)
    else:
        payload = doc["anchor"]
        where = (f" -> {out}" if out else "") + (f" -> {url}" if url else "")
        console.print(f"anchored {len(payload['heads'])} streams, log at event {payload['log'][0]}, "
                      f"signed at {payload['signed_at']}{where}")


def anchor_key_cmd(
    path: Annotated[Path, typer.Argument(dir_okay=False, help="Where to write the private key (PEM, mode 0600).")],
) -> None:
    """Create the platform's Ed25519 anchor key (PATH) and its public key (PATH.pub)."""
    from battrace.services.anchor import generate_key

    public = generate_key(path)
    console.print(f"private key {path} (keep it secret), public key {public} (give it to whoever verifies)")


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_cmd)
    app.command("passport")(passport_cmd)
    app.command("history")(history_cmd)
    app.command("vehicle")(vehicle_cmd)
    app.command("verify")(verify_cmd)
    app.command("rebuild")(rebuild_cmd)
    app.command("anchor")(anchor_cmd)
    app.command("anchor-key")(anchor_key_cmd)


__all__ = ["register", "open_platform", "read_jsonl", "BattraceError"]

"""``battrace code``: parse and build GB/T 34014 battery codes."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from battrace.cli.output import console, print_json, print_table
from battrace.domain.codes import FULL_LENGTH, BatteryCode, build_code, find_code, parse_code
from battrace.errors import InvalidCode

app = typer.Typer(help="Parse and build GB/T 34014 battery codes.", no_args_is_help=True)

_FIELDS = ("code", "level", "battery_type", "chemistry", "manufacturer", "spec", "trace", "production_date", "serial")


def describe(raw: str) -> dict[str, Any]:
    """The ``--json`` shape of one parsed input (valid or not)."""
    try:
        parsed = parse_code(raw)
    except InvalidCode as exc:
        found = find_code(raw) if len(raw) > FULL_LENGTH else None
        if found is not None:
            return _valid(raw, found)
        out: dict[str, Any] = {"input": raw, "valid": False}
        out.update({k: None for k in _FIELDS})
        out["error"] = {"code": exc.code, "message": exc.message, "position": exc.context.get("position")}
        return out
    return _valid(raw, parsed)


def _valid(raw: str, parsed: BatteryCode) -> dict[str, Any]:
    d = parsed.as_dict()
    out = {"input": raw, "valid": True}
    out.update({k: d[k] for k in _FIELDS})
    out["remade"] = parsed.remade
    out["error"] = None
    return out


@app.command("parse")
def parse_cmd(
    codes: Annotated[list[str], typer.Argument(help="One or more codes (or labels containing a code).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Parse codes (a longer label is searched for a code inside it); exit 1 when any is invalid."""
    results = [describe(c) for c in codes]
    if as_json:
        print_json(results)
    else:
        print_table(
            "GB/T 34014 codes",
            ["input", "valid", "level", "type", "chemistry", "maker", "spec", "trace", "date", "serial"],
            [
                [r["input"], "yes" if r["valid"] else "NO", r["level"], r["battery_type"], r["chemistry"],
                 r["manufacturer"], r["spec"], r["trace"] or ("(re-made)" if r["valid"] else None),
                 r["production_date"], r["serial"]]
                for r in results
            ],
        )
        for r in results:
            if r["error"]:
                console.print(f"[red]{r['error']['message']}[/red]")
    if not all(r["valid"] for r in results):
        raise typer.Exit(1)


@app.command("new")
def new_cmd(
    maker: Annotated[str, typer.Option(help="3-character manufacturer code.")],
    level: Annotated[str, typer.Option(help="P pack, M module, C cell.")],
    type_: Annotated[str, typer.Option("--type", help="Battery type character (B LFP, E NCM, ...).")],
    spec: Annotated[str, typer.Option(help="2-character specification code.")],
    date_: Annotated[str, typer.Option("--date", help="Production date, YYYY-MM-DD.")],
    serial: Annotated[int, typer.Option(help="Serial number within the day.")],
    trace: Annotated[
        str | None, typer.Option(help="7-character traceability code; omit for a re-made product code.")
    ] = None,
) -> None:
    """Build a valid code from its fields and print it."""
    try:
        produced = date.fromisoformat(date_)
    except ValueError:
        raise InvalidCode(f"--date {date_!r} is not a YYYY-MM-DD date", field="date") from None
    typer.echo(build_code(maker, level, type_, spec, produced, serial, trace=trace))

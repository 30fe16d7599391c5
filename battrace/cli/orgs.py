"""``battrace orgs import|list``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from battrace import clock
from battrace.cli.ledger import open_platform, read_platform
from battrace.cli.output import console, print_json, print_table
from battrace.domain.orgs import InvalidOrg
from battrace.services.orgs import import_orgs, list_orgs

app = typer.Typer(help="The organisations registry.", no_args_is_help=True)


@app.command("import")
def import_cmd(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A JSON list of organisations.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Import organisations (idempotent; updates by credit code). All or nothing."""
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InvalidOrg(f"{file} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    counts = import_orgs(open_platform(ctx).store, raw, clock.now())
    if as_json:
        print_json(counts)
    else:
        console.print(f"created {counts['created']}, updated {counts['updated']}, unchanged {counts['unchanged']}")


@app.command("list")
def list_cmd(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List registered organisations."""
    orgs = list_orgs(read_platform(ctx).store)
    if as_json:
        print_json([o.as_dict() for o in orgs])
        return
    print_table("organisations", ["credit code", "type", "name", "region", "maker codes", "qualifications"], [
        [o.credit_code, o.type, o.name, o.region, ",".join(o.manufacturer_codes),
         ", ".join(f"{q.kind}→{q.valid_to or '∞'}" for q in o.qualifications)]
        for o in orgs
    ])


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="orgs")

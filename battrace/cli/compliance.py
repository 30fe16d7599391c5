"""``battrace findings``, ``check`` and ``rules``: the compliance engine's findings on the command line."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from battrace.cli.context import state
from battrace.cli.output import console, print_json, print_table
from battrace.domain.codes import parse_code
from battrace.domain.rules import VIOLATION
from battrace.errors import ValidationError
from battrace.services.compliance import battery_findings, evaluate_as_of, list_findings, rules_catalogue
from battrace.services.platform import Platform


def _platform(ctx: typer.Context) -> Platform:
    return Platform.open(state(ctx).database_url)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"--as-of must be a date YYYY-MM-DD, got {value!r}", field="as_of") from None


def _short(items: list[str], n: int = 2) -> str:
    return ", ".join(items[:n]) + (f" (+{len(items) - n})" if len(items) > n else "")


def _table(title: str, findings: list[dict[str, Any]], lang: str) -> None:
    print_table(title, ["id", "rule", "severity", "state", "batteries", "vin", "responsible", "event", "due",
                        "message"], [
        [f["id"], f["rule"], f["severity"], f["state"], _short(f["batteries"]), f["vin"], f["responsible"],
         f["event_id"], (f["due_at"] or "")[:10], f["message"][lang]]
        for f in findings
    ])


def findings_cmd(
    ctx: typer.Context,
    rule: Annotated[str | None, typer.Option("--rule", help="Only this rule (R01 ... R11).")] = None,
    org: Annotated[str | None, typer.Option("--org", help="Only findings naming this credit code.")] = None,
    battery: Annotated[str | None, typer.Option("--battery", help="Only findings naming this battery code.")] = None,
    vin: Annotated[str | None, typer.Option("--vin", help="Only findings naming this VIN.")] = None,
    finding_state: Annotated[str | None, typer.Option("--state", help="open or resolved.")] = None,
    severity: Annotated[str | None, typer.Option("--severity", help="violation, warning or notice.")] = None,
    region: Annotated[str | None, typer.Option("--region", help="Region code prefix (44: Guangdong).")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="First evaluate the time-based rules (R04b, R05, R11) as of DATE.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many (1-1000).")] = 1000,
    offset: Annotated[int, typer.Option("--offset")] = 0,
    lang: Annotated[str, typer.Option("--lang", help="Message language in the table: en or zh.")] = "en",
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """List compliance findings (oldest first)."""
    platform = _platform(ctx)
    try:
        if as_of is not None:
            summary = evaluate_as_of(platform.store, _date(as_of), config=platform.rules)
            if not as_json:
                console.print(f"as of {summary['as_of']}: raised {summary['raised'] or 0}, "
                              f"resolved {summary['resolved'] or 0}")
        found = list_findings(platform.store, rule=rule, org=org, battery=battery, vin=vin, state=finding_state,
                              severity=severity, region_prefix=region, limit=limit, offset=offset)
    finally:
        platform.close()
    if as_json:
        print_json(found)
        return
    _table(f"findings ({len(found)})", found, "zh" if lang == "zh" else "en")


def check_cmd(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="GB/T 34014 battery code.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    lang: Annotated[str, typer.Option("--lang", help="en or zh.")] = "en",
) -> None:
    """A battery's findings; exit 1 when any violation is open."""
    parse_code(code)
    platform = _platform(ctx)
    try:
        found = battery_findings(platform.store, code)
    finally:
        platform.close()
    open_violations = [f for f in found if f["state"] == "open" and f["severity"] == VIOLATION]
    if as_json:
        print_json(found)
    elif not found:
        console.print(f"{code}: no findings")
    else:
        _table(f"findings of {code}", found, "zh" if lang == "zh" else "en")
        console.print(f"{len(open_violations)} open violation(s)")
    if open_violations:
        raise typer.Exit(1)


def rules_cmd(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The finding rules of the compliance catalogue."""
    catalogue = rules_catalogue()
    if as_json:
        print_json(catalogue)
        return
    print_table("rules", ["id", "severity", "as of", "rule", "规则"],
                [[r["id"], r["severity"], "yes" if r["as_of"] else "", r["title_en"], r["title_zh"]]
                 for r in catalogue])


def register(app: typer.Typer) -> None:
    app.command("findings")(findings_cmd)
    app.command("check")(check_cmd)
    app.command("rules")(rules_cmd)

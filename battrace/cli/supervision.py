"""``battrace cases``, ``obligations``, ``webhooks``, ``outlets`` and ``reports``: supervision on the
command line. Commands that act take ``--as CREDIT_CODE`` (the acting regulator or company, from the
registry); without it they act as the platform admin (national reach)."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from battrace import clock
from battrace.cli.context import state
from battrace.cli.output import console, print_json, print_table
from battrace.domain.access import Caller
from battrace.domain.deadlines import china_date
from battrace.errors import UnknownOrg, ValidationError
from battrace.services import cases as svc
from battrace.services import outlets as outlet_svc
from battrace.services import reports as report_svc
from battrace.services import webhooks
from battrace.services.exports import OBLIGATION_COLUMNS, export
from battrace.services.obligations import notify_due_soon, obligations_for, parse_within
from battrace.services.platform import Platform

cases_app = typer.Typer(help="Supervision cases: list, show, open, and move them through their steps.",
                        no_args_is_help=True)
webhooks_app = typer.Typer(help="Webhook notifications: deliver the outbox, list deliveries.", no_args_is_help=True)
outlets_app = typer.Typer(help="The collection outlets directory.", no_args_is_help=True)
reports_app = typer.Typer(help="Public reports of suspicious batteries (regulators).", no_args_is_help=True)

AsOption = Annotated[str | None, typer.Option("--as", help="Act as this organisation (credit code); default admin.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _platform(ctx: typer.Context) -> Platform:
    return Platform.open(state(ctx).database_url)


def _caller(platform: Platform, credit: str | None) -> Caller:
    if credit is None:
        return Caller(admin=True)
    with platform.store.reader() as conn:
        org = platform.store.load_orgs(conn).get(credit)
    if org is None:
        raise UnknownOrg(f"unknown organisation {credit}", org=credit)
    return Caller(org=org.credit_code, org_type=org.type, jurisdiction=org.jurisdiction)


def _cases_table(rows: list[dict[str, Any]]) -> None:
    print_table("cases", ["id", "state", "org", "department", "region", "opened", "due", "findings", "title"],
                [[c["id"], c["state"], c["org"], c["department"], c["region"], (c["opened_at"] or "")[:10],
                  c["due_date"], ",".join(map(str, c["findings"])), c["title"][:60]] for c in rows])


@cases_app.command("list")
def cases_list(ctx: typer.Context, as_: AsOption = None,
               case_state: Annotated[str | None, typer.Option("--state")] = None,
               limit: Annotated[int, typer.Option("--limit")] = 100, as_json: JsonOption = False) -> None:
    """Cases the actor may see (newest first)."""
    platform = _platform(ctx)
    rows = svc.list_cases(platform.store, _caller(platform, as_), state=case_state, limit=limit)
    print_json(rows) if as_json else _cases_table(rows)


@cases_app.command("show")
def cases_show(ctx: typer.Context, case_id: int, as_: AsOption = None, as_json: JsonOption = False) -> None:
    """One case with its steps."""
    platform = _platform(ctx)
    case = svc.get_case(platform.store, _caller(platform, as_), case_id)
    if as_json:
        print_json(case)
        return
    _cases_table([case])
    print_table(f"steps of case {case_id}", ["#", "at", "actor", "action", "state", "detail", "hash"],
                [[s["version"], s["at"][:16], s["actor"], s["action"], s["state"],
                  json.dumps(s["body"], ensure_ascii=False)[:80], s["hash"][:12]] for s in case["steps"]])
    for r in case["resolved_by_ledger"]:
        console.print(f"finding {r['finding']} was resolved by event {r['event_id']}")


@cases_app.command("open")
def cases_open(ctx: typer.Context,
               finding: Annotated[list[int], typer.Option("--finding", help="A finding id (repeatable).")],
               reason: Annotated[str | None, typer.Option("--reason")] = None, as_: AsOption = None,
               as_json: JsonOption = False) -> None:
    """Open a case on findings."""
    platform = _platform(ctx)
    case = svc.open_case(platform.store, _caller(platform, as_), finding, reason=reason, now=platform.now())
    print_json(case) if as_json else console.print(f"opened case {case['id']} ({case['org']}, {case['department']})")


@cases_app.command("step")
def cases_step(ctx: typer.Context, case_id: int,
               action: Annotated[str, typer.Argument(help="order, respond, escalate or close")],
               field: Annotated[list[str] | None, typer.Option("--field", "-f", help="name=value (repeatable), "
                                "e.g. due_date=2026-12-31 legal_basis=… text=… curing_events=e-1,e-2 measure=fine "
                                "amount=20000 department=environment reason=…")] = None,
               as_: AsOption = None, as_json: JsonOption = False) -> None:
    """Apply one step to a case."""
    fields: dict[str, Any] = {}
    for item in field or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise ValidationError(f"--field must be name=value, got {item!r}", field="field")
        fields[name] = value == "true" if name == "verified" else value
    platform = _platform(ctx)
    case = svc.act(platform.store, _caller(platform, as_), case_id, action, fields, platform.now())
    print_json(case) if as_json else console.print(f"case {case_id}: {action} → {case['state']}")


@cases_app.command("simulate")
def cases_simulate(ctx: typer.Context, seed: Annotated[int, typer.Option("--seed")] = 1,
                   end: Annotated[str, typer.Option("--end", help="The simulation's end date YYYY-MM-DD.")] = "",
                   case_rate: Annotated[float, typer.Option("--case-rate")] = 0.02) -> None:
    """Populate an ingested (simulated) world with outlets, cases, answers and public reports."""
    from datetime import date

    from battrace.services.simulate.supervision import populate

    platform = _platform(ctx)
    try:
        day = date.fromisoformat(end) if end else china_date(platform.now())
    except ValueError:
        raise ValidationError(f"--end must be a date YYYY-MM-DD, got {end!r}", field="end") from None
    counts = populate(platform, seed=seed, end=day, case_rate=case_rate)
    console.print(", ".join(f"{k} {v}" for k, v in counts.items()))


@cases_app.command("stats")
def cases_stats(ctx: typer.Context, region: Annotated[str | None, typer.Option("--region")] = None,
                as_json: JsonOption = False) -> None:
    """Cases by state and department; mean days to close."""
    stats = svc.case_stats(_platform(ctx).store, region_prefix=region)
    if as_json:
        print_json(stats)
        return
    print_table("cases by department", ["department", *stats["by_state"]],
                [[d, *[row.get(s, 0) for s in stats["by_state"]]] for d, row in stats["by_department"].items()])
    console.print(f"{stats['total']} cases; mean days to close: {stats['mean_days_to_close']}")


def obligations_cmd(
    ctx: typer.Context,
    org: Annotated[str | None, typer.Option("--org", help="Only this organisation's obligations.")] = None,
    due_within: Annotated[str | None, typer.Option("--due-within", help="e.g. 5d or 2w.")] = None,
    out: Annotated[Path | None, typer.Option("--export", help="Write a .csv or .xlsx file.")] = None,
    notify: Annotated[bool, typer.Option("--notify", help="Queue obligation.due_soon webhooks (with --due-within)."
                                         )] = False,
    lang: Annotated[str, typer.Option("--lang", help="en or zh.")] = "en", as_json: JsonOption = False,
) -> None:
    """What each organisation must report, and by when, before it is overdue."""
    platform = _platform(ctx)
    caller = _caller(platform, org) if org else Caller(admin=True)
    within = parse_within(due_within)
    if notify:
        n = notify_due_soon(platform.store, platform.now(), within_days=within if within is not None else 5)
        console.print(f"queued {n} notification(s)")
    rows = obligations_for(platform.store, caller, today=china_date(platform.now()), org=org, due_within=within)
    if out is not None:
        fmt = out.suffix.lstrip(".").lower()
        out.write_bytes(export(rows, OBLIGATION_COLUMNS, fmt, sheet="obligations"))
        console.print(f"wrote {len(rows)} obligation(s) to {out}")
        return
    if as_json:
        print_json(rows)
        return
    print_table("obligations", ["due", "days left", "org", "rule", "kind", "battery", "vin", "what"],
                [[o["due"], o["days_left"], o["org"], o["rule"], o["kind"], o["battery"], o["vin"],
                  o["message"]["zh" if lang == "zh" else "en"]] for o in rows])


@webhooks_app.command("deliver")
def webhooks_deliver(ctx: typer.Context, loop: Annotated[float | None, typer.Option(
        "--loop", help="Keep delivering every SECONDS (until interrupted).")] = None) -> None:
    """Deliver the pending webhook notifications that are due (retries included)."""
    platform = _platform(ctx)
    while True:
        now: datetime = platform.now()
        counts = webhooks.deliver_due(platform.store, now, signed_at=clock.now())
        console.print(f"{now.isoformat(timespec='seconds')}: delivered {counts['delivered']}, "
                      f"retrying {counts['retrying']}, failed {counts['failed']}")
        if loop is None:
            return
        time.sleep(max(loop, 0.5))


@webhooks_app.command("list")
def webhooks_list(ctx: typer.Context, as_: AsOption = None,
                  status: Annotated[str | None, typer.Option("--status")] = None, as_json: JsonOption = False) -> None:
    """Deliveries with their status."""
    platform = _platform(ctx)
    rows = webhooks.list_deliveries(platform.store, _caller(platform, as_), status=status)
    print_json(rows) if as_json else print_table(
        "deliveries", ["id", "msg", "event", "status", "attempts", "next attempt", "last error"],
        [[d["id"], d["msg_id"], d["event_type"], d["status"], d["attempts"], d["next_attempt_at"][:19],
          d["last_error"]] for d in rows])


@outlets_app.command("list")
def outlets_list(ctx: typer.Context, region: Annotated[str | None, typer.Option("--region")] = None,
                 operated_for: Annotated[str | None, typer.Option("--for")] = None, as_json: JsonOption = False
                 ) -> None:
    """Outlets by region (a province 440000, a city 440300) and producer."""
    rows = outlet_svc.list_outlets(_platform(ctx).store, region=region, operated_for=operated_for)
    print_json(rows) if as_json else print_table(
        "outlets", ["name", "for", "region", "address", "accepts"],
        [[o["name"], o["operated_for_name"] or o["operated_for"], o["region"], o["address"], ",".join(o["accepts"])]
         for o in rows])


@outlets_app.command("import")
def outlets_import(ctx: typer.Context, path: Path, as_: AsOption = None) -> None:
    """Register outlets from a JSON file (an object or a list)."""
    platform = _platform(ctx)
    items = json.loads(path.read_text(encoding="utf-8"))
    result = outlet_svc.add_outlets(platform.store, _caller(platform, as_), items, platform.now())
    console.print(f"added {result['added']} outlet(s)")


@reports_app.command("list")
def reports_list(ctx: typer.Context, as_: AsOption = None,
                 report_state: Annotated[str | None, typer.Option("--state")] = None, as_json: JsonOption = False
                 ) -> None:
    """Public reports within the actor's jurisdiction."""
    platform = _platform(ctx)
    rows = report_svc.list_reports(platform.store, _caller(platform, as_), state=report_state)
    print_json(rows) if as_json else print_table(
        "public reports", ["receipt", "state", "code", "region", "submitted", "what"],
        [[r["receipt"], r["state"], r["code"], r["region"], r["submitted_at"][:16], r["what"][:60]] for r in rows])


def register(app: typer.Typer) -> None:
    app.add_typer(cases_app, name="cases")
    app.add_typer(webhooks_app, name="webhooks")
    app.add_typer(outlets_app, name="outlets")
    app.add_typer(reports_app, name="reports")
    app.command("obligations")(obligations_cmd)

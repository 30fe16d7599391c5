"""``battrace simulate``: generate a deterministic China-like world of batteries and events."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from battrace.cli.output import console, err_console, print_json, print_table
from battrace.errors import ValidationError
from battrace.services.simulate import RULES, SimulationParams, parse_range, simulate


def _date(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{what} must be a YYYY-MM-DD date, got {text!r}", field=what) from None


def _rates(items: list[str]) -> dict[str, float]:
    rates = {rule: rate for rule, (rate, _) in RULES.items()}
    for item in items:
        rule, sep, value = item.partition("=")
        if not sep or rule not in RULES:
            raise ValidationError(f"--rate takes RULE=SHARE with RULE one of {', '.join(RULES)}, got {item!r}",
                                  field="rate")
        try:
            rates[rule] = float(value)
        except ValueError:
            raise ValidationError(f"--rate {item!r}: {value!r} is not a number", field="rate") from None
    return rates


def simulate_cmd(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the four files into.")],
    packs: Annotated[int, typer.Option("--packs", help="Vehicles (one pack each at first) to simulate.")] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same bytes.")] = 1,
    end: Annotated[str, typer.Option("--end", help="End of the simulation (YYYY-MM-DD).")] = "2026-11-15",
    start: Annotated[str, typer.Option("--start", help="First day of the simulation.")] = "2018-01-01",
    cells_per_module: Annotated[
        str, typer.Option("--cells-per-module", help="Cells per module of modular packs, N or LO-HI.")
    ] = "8-12",
    modules_per_pack: Annotated[
        str, typer.Option("--modules-per-pack", help="Modules per modular pack, N or LO-HI.")
    ] = "8-12",
    ctp_cells: Annotated[int, typer.Option("--ctp-cells", help="Cells of a cell-to-pack design.")] = 170,
    no_cells: Annotated[
        bool, typer.Option("--no-cells", help="Packs only: no module or cell events (fast demos).")
    ] = False,
    swaps_per_year: Annotated[float, typer.Option("--swaps-per-year", help="Swaps a year per swap vehicle.")] = 4.0,
    rate: Annotated[
        list[str] | None,
        typer.Option("--rate", help="Violation rate, RULE=SHARE (repeatable), e.g. --rate R01=0.05."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Generate orgs.json, events.jsonl, expected_findings.json and summary.json into --out."""
    params = SimulationParams(
        packs=packs, seed=seed, start=_date(start, "start"), end=_date(end, "end"),
        cells_per_module=parse_range(cells_per_module, "cells_per_module"),
        modules_per_pack=parse_range(modules_per_pack, "modules_per_pack"),
        ctp_cells=ctp_cells, with_cells=not no_cells, swaps_per_year=swaps_per_year, rates=_rates(rate or []),
    )
    began = time.perf_counter()
    if err_console.is_terminal and not as_json:
        with Progress(TextColumn("simulating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err_console, transient=True) as bar:
            task = bar.add_task("packs", total=packs)
            result = simulate(params, out, progress=lambda n: bar.advance(task, n))
    else:
        result = simulate(params, out)
    elapsed = time.perf_counter() - began
    s = result.summary
    if as_json:
        print_json({**s, "out": str(out), "seconds": round(elapsed, 2)})
        return
    _print_summary(s, out, elapsed)


def _print_summary(s: dict[str, Any], out: Path, elapsed: float) -> None:
    b = s["batteries"]
    rows: list[list[Any]] = [
        ["vehicles", s["vehicles"]],
        ["packs / modules / cells", f"{b['pack']} / {b['module']} / {b['cell']}"],
        ["re-made products", b["remade"]],
        ["organisations", sum(s["orgs"].values())],
        ["events", f"{s['events']} ({s['events_per_pack']} per pack)"],
        ["events.jsonl", f"{s['bytes']['events.jsonl'] / 1e6:.1f} MB"],
        ["seconds", f"{elapsed:.1f} ({s['events'] / max(elapsed, 1e-9):,.0f} events/s)"],
    ]
    rows += [[f"packs {state}", n] for state, n in s["packs_by_final_state"].items()]
    print_table(f"Simulated world in {out}", ["", "value"], rows)
    print_table(
        "Injected violations",
        ["rule", "configured", "opportunities", "injected", "realised", "expected findings"],
        [[rule, v["configured"], v["opportunities"], v["injected"], v["realised"], s["expected_findings"].get(rule, 0)]
         for rule, v in s["violations"].items()],
    )
    files = ("orgs.json", "events.jsonl", "expected_findings.json", "summary.json")
    console.print("files: " + ", ".join(str(out / f) for f in files))


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_cmd)

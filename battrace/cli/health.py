"""``battrace health``: SOH estimates from pulse tests, grading, residual value, retirement forecast."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated, Any

import typer

from battrace.cli.output import console, print_fields, print_json, print_table
from battrace.domain.forecast import Weibull, check_national, forecast, national_totals, read_installations
from battrace.domain.grading import METHODS, GradingPolicy, grade
from battrace.domain.health import InvalidHealthInput, PulseTest, estimate_many, load_model
from battrace.domain.valuation import PriceSheet, ReuseTerms, residual_value

app = typer.Typer(
    help="Health assessment: pulse-test SOH, grading, residual value, retirement forecast.",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def register(root: typer.Typer) -> None:
    """Add the ``health`` sub-app to the main CLI."""
    root.add_typer(app, name="health")


def _read_csv(path: Path) -> list[dict[str, str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidHealthInput(f"cannot read {path}: {exc.strerror}", file=str(path)) from None
    except UnicodeDecodeError:
        raise InvalidHealthInput(f"{path} is not UTF-8 text", file=str(path)) from None
    return list(csv.DictReader(text.splitlines()))


def read_pulse_rows(path: Path) -> list[PulseTest | InvalidHealthInput]:
    """Parse a pulse-test CSV row by row: a test, or the error naming the row (1 = first data row) and
    column. A bad row does not stop the others."""
    out: list[PulseTest | InvalidHealthInput] = []
    model = load_model()
    for n, row in enumerate(_read_csv(path), start=1):
        try:
            test = PulseTest.from_mapping(row)
            model.choose(test.chemistry, test.rated_capacity_ah)
            out.append(test)
        except InvalidHealthInput as exc:
            column = exc.context.get("field")
            out.append(InvalidHealthInput(
                f"{path.name} row {n}" + (f", column {column}" if column else "") + f": {exc.message}",
                file=str(path), row=n, column=column,
            ))
    if not out:
        raise InvalidHealthInput(f"{path.name} has no data rows", file=str(path))
    return out


def estimate_file(path: Path) -> list[dict[str, Any]]:
    """One result per data row: ``{row, status, soh, …, notes}``; a row that could not be read has
    status ``invalid`` and its ``error``, and the other rows are still estimated."""
    rows = read_pulse_rows(path)
    tests = [(n, r) for n, r in enumerate(rows, start=1) if isinstance(r, PulseTest)]
    estimates = dict(zip((n for n, _ in tests), estimate_many([t for _, t in tests], load_model()), strict=True))
    out: list[dict[str, Any]] = []
    for n, item in enumerate(rows, start=1):
        if isinstance(item, InvalidHealthInput):
            out.append({"row": n, "status": "invalid", "soh": None, "soh_low": None, "soh_high": None,
                        "grade": None, "error": item.to_dict(), "notes": [item.message]})
        else:
            out.append({"row": n, **estimates[n].as_dict()})
    return out


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


@app.command("estimate")
def estimate_cmd(
    file: Annotated[
        Path, typer.Argument(help="CSV: chemistry, rated_capacity_ah, U1…U21, optional soc_percent "
                                  "(sample: docs/examples/pulse-tests.csv).")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Estimate SOH (with a 90 % interval) for every pulse test in a CSV file, row by row.

    A row that cannot be read, or whose input lies outside the model's training data, gets no SOH
    and says why; the other rows are still estimated. Exit status 1 when any row got no SOH."""
    rows = estimate_file(file)
    if as_json:
        print_json(rows)
    else:
        print_table(
            "Pulse-test SOH estimates (90 % interval)",
            ["row", "status", "SOH", "low", "high", "grade", "model", "match"],
            [[r["row"], r["status"], _pct(r["soh"]), _pct(r["soh_low"]), _pct(r["soh_high"]), r["grade"] or "—",
              r.get("model") or "—", r.get("matched") or "—"] for r in rows],
        )
        for r in rows:
            for note in r["notes"]:
                colour = "yellow" if r["status"] == "ok" else "red"
                console.print(f"[{colour}]row {r['row']}: {note}[/{colour}]")
        failed = sum(1 for r in rows if r["status"] != "ok")
        console.print(f"{len(rows) - failed} of {len(rows)} rows estimated" + (f"; {failed} without an SOH" if failed
                                                                                 else ""))
    if any(r["status"] != "ok" for r in rows):
        raise typer.Exit(1)


def _policy(path: Path | None) -> GradingPolicy:
    if path is None:
        return GradingPolicy()
    try:
        return GradingPolicy.from_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidHealthInput(f"cannot read {path}: {exc.strerror}") from None


@app.command("grade")
def grade_cmd(
    soh: Annotated[float, typer.Option(help="State of health as a fraction (0.82) or percent (82).")],
    method: Annotated[str, typer.Option(help=f"How SOH was obtained: {', '.join(METHODS)}.")],
    chemistry: Annotated[str, typer.Option(help="Chemistry: LFP, NCM, LMO, …")],
    soh_low: Annotated[float | None, typer.Option(help="Lower bound of a pulse estimate's interval.")] = None,
    policy: Annotated[Path | None, typer.Option(help="Grading policy JSON (defaults otherwise).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Decide re-use (and for what) or material recycling."""
    decision = grade(
        _fraction(soh),
        method,
        chemistry,
        soh_low=None if soh_low is None else _fraction(soh_low),
        policy=_policy(policy),
    )
    if as_json:
        print_json(decision.as_dict())
        return
    print_fields(
        "Grading decision",
        [
            ("path", decision.path),
            ("applications", ", ".join(decision.applications) or "—"),
            ("SOH", f"{decision.soh:.1%}"),
            ("SOH judged", f"{decision.soh_used:.1%}"),
            ("method", decision.method),
            ("chemistry", decision.chemistry),
            ("reason", decision.reason_en),
            ("理由", decision.reason_zh),
        ],
    )


def _fraction(value: float) -> float:
    """Accept 0.82 or 82 (percent)."""
    return value / 100.0 if value > 1.5 else value


@app.command("value")
def value_cmd(
    chemistry: Annotated[str, typer.Option(help="Chemistry: NCM, LFP, NCA, …")],
    energy_kwh: Annotated[float, typer.Option(help="Rated pack energy in kWh.")],
    soh: Annotated[float, typer.Option(help="State of health as a fraction (0.82) or percent (82).")],
    reuse_cny_per_kwh: Annotated[
        float, typer.Option(help="Re-use price per kWh of remaining capacity.")
    ] = 300.0,
    as_json: JsonOpt = False,
) -> None:
    """Residual value: material value vs re-use value, and the better path."""
    result = residual_value(
        chemistry, energy_kwh, _fraction(soh), reuse=ReuseTerms(cny_per_kwh=reuse_cny_per_kwh)
    )
    d = result.as_dict()
    if as_json:
        print_json(d)
        return
    material = "n/a" if d["material_value_cny"] is None else f"{d['material_value_cny']:,.0f}"
    print_fields(
        "Residual value (CNY)",
        [
            ("chemistry", f"{d['chemistry']} → {d['materials_row'] or '—'}"),
            ("energy", f"{energy_kwh:g} kWh"),
            ("SOH", f"{result.soh:.1%}"),
            ("material value", material),
            (
                "re-use value",
                f"{d['reuse_value_cny']:,.0f}" + ("" if d["reuse_allowed"] else " (re-use not allowed)"),
            ),
            ("better path", d["better_path"]),
            ("residual value", f"{d['residual_value_cny']:,.0f}"),
            ("prices as of", f"{d['prices_as_of']} ({PriceSheet().source})"),
        ],
    )
    for note in d["notes"]:
        if not note.startswith("metal prices"):
            console.print(f"[yellow]{note}[/yellow]")


@app.command("forecast")
def forecast_cmd(
    installations: Annotated[Path, typer.Option(help="CSV: province, year, count (packs installed).")],
    shape: Annotated[float, typer.Option(help="Weibull shape of the service life.")] = 3.5,
    scale: Annotated[float, typer.Option(help="Weibull scale of the service life, years.")] = 10.0,
    until: Annotated[
        int | None, typer.Option(help="Last year to forecast (default last install year + 15).")
    ] = None,
    kg_per_pack: Annotated[float, typer.Option(help="Pack mass for the national check, kg.")] = 400.0,
    as_json: JsonOpt = False,
) -> None:
    """Expected retirements per province and year, and a check against published national figures."""
    insts = read_installations(_read_csv(installations))
    result = forecast(insts, life=Weibull(shape, scale), last_year=until)
    checks = check_national(result, kg_per_pack=kg_per_pack)
    if as_json:
        print_json(
            {
                "life": {"shape": shape, "scale": scale},
                "retirements": [r.as_dict() for r in result],
                "national": {str(y): round(v, 1) for y, v in national_totals(result).items()},
                "checks": [c.as_dict() for c in checks],
            }
        )
        return
    print_table(
        f"Expected retirements (Weibull k={shape:g}, λ={scale:g} y)",
        ["province", "year", "expected packs"],
        [[r.province, r.year, f"{r.expected:,.0f}"] for r in result if r.expected >= 0.5],
    )
    if checks:
        print_table(
            f"National check ({kg_per_pack:g} kg per pack)",
            ["year", "forecast kt", "published", "ratio"],
            [
                [
                    c.year,
                    f"{c.forecast_kilotonnes:,.1f}",
                    f"> {c.reference_kilotonnes:g} kt",
                    f"{c.ratio:.2f}",
                ]
                for c in checks
            ],
        )

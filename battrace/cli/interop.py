"""``battrace export epcis|passport|qr|label``: a battery's data for other systems and for print.

(EPCIS and CSV *import* is ``battrace ingest FILE --format epcis|csv``, in :mod:`battrace.cli.ledger`.)
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from battrace.cli.ledger import lookup, read_platform
from battrace.cli.output import err_console
from battrace.config import Settings
from battrace.errors import ValidationError
from battrace.services import interop
from battrace.services.passport import get_passport

export = typer.Typer(help="Export a battery: EPCIS 2.0, EU Battery Pass, QR code, label.", no_args_is_help=True)


class PassportFormat(StrEnum):
    eu_batterypass = "eu-batterypass"
    native = "native"


class QrFormat(StrEnum):
    png = "png"
    svg = "svg"


CodeArg = Annotated[str, typer.Argument(help="GB/T 34014 battery code.")]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", dir_okay=False, help="Write to FILE (default: stdout).")]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option("--base-url", help="Public base URL of the platform; the QR code holds {base}/b/{code} "
                 f"(default: the setting {interop.PUBLIC_BASE_URL_ENV})."),
]


def _write(data: str | bytes, out: Path | None) -> None:
    if out is None:
        if isinstance(data, bytes):
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            sys.stdout.write(data)
        return
    if isinstance(data, bytes):
        out.write_bytes(data)
    else:
        out.write_text(data, encoding="utf-8")
    err_console.print(f"wrote {out}")


def _json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n"


def _require_base(base_url: str | None) -> str:
    base_url = base_url or Settings.from_env().public_base_url
    if not base_url:
        raise ValidationError(f"the QR code needs the public base URL: pass --base-url or set "
                              f"{interop.PUBLIC_BASE_URL_ENV}", field="base_url")
    return base_url


@export.command("epcis")
def export_epcis(ctx: typer.Context, code: CodeArg, out: OutOpt = None) -> None:
    """The battery's history as an EPCIS 2.0 document (JSON-LD), one EPCIS event per ledger event."""
    platform = read_platform(ctx)
    passport = lookup(platform, lambda: get_passport(platform.store, code))
    _write(_json(interop.epcis_document(passport, created_at=platform.now())), out)


@export.command("passport")
def export_passport(
    ctx: typer.Context, code: CodeArg,
    fmt: Annotated[PassportFormat, typer.Option("--format", help="EU Battery Pass v1.2.0 aspects, or native.")]
    = PassportFormat.eu_batterypass,
    out: OutOpt = None,
) -> None:
    """The battery's passport as the EU Battery Pass aspects we can fill, or the native digital ID."""
    platform = read_platform(ctx)
    passport = lookup(platform, lambda: get_passport(platform.store, code))
    _write(_json(interop.passport_export(passport, fmt.value)), out)


@export.command("qr")
def export_qr(
    ctx: typer.Context, code: CodeArg,
    out: Annotated[Path, typer.Option("--out", "-o", dir_okay=False, help="The image file to write.")],
    fmt: Annotated[QrFormat | None, typer.Option("--format", help="png or svg (default: from --out's suffix).")]
    = None,
    base_url: BaseUrlOpt = None,
) -> None:
    """A QR code (PNG or SVG) of the battery's public page, {base}/b/{code}."""
    base = _require_base(base_url)
    chosen = fmt.value if fmt else ("svg" if out.suffix.lower() == ".svg" else "png")
    platform = read_platform(ctx)
    lookup(platform, lambda: get_passport(platform.store, code))  # only codes on record
    _write(interop.qr_code(code, base, chosen), out)


@export.command("label")
def export_label(
    ctx: typer.Context, code: CodeArg,
    out: Annotated[Path, typer.Option("--out", "-o", dir_okay=False, help="The SVG file to write.")],
    base_url: BaseUrlOpt = None,
) -> None:
    """A printable label (SVG, 100 mm x 50 mm): code, maker, chemistry, ratings, QR code; public data only."""
    base = _require_base(base_url)
    platform = read_platform(ctx)
    passport = lookup(platform, lambda: get_passport(platform.store, code))
    _write(interop.label(passport, base), out)


def register(app: typer.Typer) -> None:
    app.add_typer(export, name="export")

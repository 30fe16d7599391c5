"""``battrace telemetry``: BMS frames from an MQTT broker or a JSON Lines file → early-warning alarms."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from battrace.cli.context import state
from battrace.cli.output import console, err_console, print_json, print_table
from battrace.errors import InvalidHealthInput
from battrace.services.platform import Platform
from battrace.services.telemetry import TelemetryReport, list_alarms
from battrace.services.telemetry_mqtt import DEFAULT_TOPIC, MqttSubscriber

app = typer.Typer(help="BMS telemetry (GB/T 32960-style frames) and early-warning alarms.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def register(root: typer.Typer) -> None:
    """Add the ``telemetry`` sub-app to the main CLI."""
    root.add_typer(app, name="telemetry")


def _platform(ctx: typer.Context) -> Platform:
    return Platform.open(state(ctx).database_url)


def _print_report(report: TelemetryReport, as_json: bool) -> None:
    if as_json:
        print_json(report.as_dict())
        return
    console.print(f"frames {report.frames}: accepted [green]{report.accepted}[/green], rejected "
                  f"[red]{report.rejected}[/red], late {report.late}; alarms raised {len(report.alarms)}")
    if report.alarms:
        print_table("alarms", ["battery", "hazard", "level", "response", "first frame"],
                    [[a["battery"], a["hazard"], a["level"], a["response"], a["first_at"]] for a in report.alarms[:50]])
    if report.rejections:
        print_table("rejections", ["frame", "code", "message"],
                    [[r["frame"], r["code"], r["message"]] for r in report.rejections[:20]])


def _lines(path: Path) -> Iterator[Any]:
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise InvalidHealthInput(f"cannot read {path}: {exc.strerror}", file=str(path)) from None
    with handle:
        try:
            for line in handle:
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError:
                        yield None  # rejected by the service, by position
        except UnicodeDecodeError:
            raise InvalidHealthInput(f"{path} is not UTF-8 text", file=str(path)) from None


@app.command("ingest")
def ingest_cmd(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(dir_okay=False, help="JSON Lines: one frame a line.")],
    batch: Annotated[int, typer.Option(min=1, max=100_000, help="Frames per batch.")] = 1000,
    as_json: JsonOpt = False,
) -> None:
    """Evaluate a file of frames (time order per battery) and store the alarms they raise.

    Frame positions in rejections count from 0 within each batch."""
    service = _platform(ctx).telemetry
    total = TelemetryReport()
    chunk: list[Any] = []
    for frame in _lines(file):
        chunk.append(frame)
        if len(chunk) >= batch:
            total.merge(service.ingest(chunk, source="file"))
            chunk = []
    if chunk:
        total.merge(service.ingest(chunk, source="file"))
    _print_report(total, as_json)


@app.command("subscribe")
def subscribe_cmd(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="MQTT broker host.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="MQTT broker port.")] = 1883,
    topic: Annotated[str, typer.Option(help="Topic filter to subscribe to.")] = DEFAULT_TOPIC,
    qos: Annotated[int, typer.Option(min=0, max=2, help="Subscription QoS.")] = 1,
    batch: Annotated[int, typer.Option(min=1, max=100_000, help="Frames per batch.")] = 1000,
    flush: Annotated[float, typer.Option(min=0.01, help="Seconds before a partial batch is ingested.")] = 1.0,
    max_frames: Annotated[int | None, typer.Option(min=1, help="Stop after about this many frames.")] = None,
    duration: Annotated[float | None, typer.Option(min=0.0, help="Stop after this many seconds.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Subscribe to BMS frames on an MQTT broker and store the alarms they raise (Ctrl-C stops).

    A payload is one frame (JSON object), an array of frames, or JSON Lines."""
    service = _platform(ctx).telemetry
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())

    def show(report: TelemetryReport) -> None:
        for a in report.alarms:
            err_console.print(f"[red]{a['hazard']}[/red] level {a['level']} ({a['response']}) "
                              f"{a['battery']} at {a['first_at']}")

    subscriber = MqttSubscriber(service, host=host, port=port, topic=topic, qos=qos, batch_size=batch,
                                flush_s=flush, on_report=None if as_json else show)
    err_console.print(f"subscribed to {topic} on {host}:{port}; Ctrl-C stops")
    try:
        total = subscriber.run(stop, max_frames=max_frames, duration_s=duration)
    finally:
        signal.signal(signal.SIGINT, previous)
    _print_report(total, as_json)


@app.command("alarms")
def alarms_cmd(
    ctx: typer.Context,
    battery: Annotated[str | None, typer.Option(help="Only this battery.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 100,
    as_json: JsonOpt = False,
) -> None:
    """List stored alarms, newest first."""
    rows = list_alarms(_platform(ctx).store, battery=battery, limit=limit)
    if as_json:
        print_json(rows)
        return
    print_table("alarms", ["id", "battery", "hazard", "level", "response", "respond by", "first frame"],
                [[r["id"], r["battery"], r["hazard"], r["level"], r["response"], r["respond_by"], r["first_at"]]
                 for r in rows])

"""Frames published to a real MQTT broker reach the subscriber, which stores the alarms they raise.

Needs a broker on 127.0.0.1:1883 (Mosquitto on the project's machines); skips, saying so, without one.
Each test uses its own topic, so parallel runs on one broker do not see each other's frames.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from typer.testing import CliRunner

from battrace.cli import app
from battrace.clock import CHINA
from battrace.config import Settings
from battrace.services.orgs import import_orgs
from battrace.services.platform import Platform
from battrace.services.telemetry import TelemetryReport, list_alarms, telemetry_for
from battrace.services.telemetry_mqtt import MqttSubscriber, frames_of
from tests import story as s

HOST, PORT = "127.0.0.1", 1883
NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=CHINA)


def broker_answers() -> bool:
    try:
        with socket.create_connection((HOST, PORT), timeout=1.0):
            return True
    except OSError:
        return False


needs_broker = pytest.mark.skipif(not broker_answers(), reason=f"no MQTT broker answers on {HOST}:{PORT}")


def frame(sec: float, **fields: Any) -> dict[str, Any]:
    f: dict[str, Any] = {
        "vin": s.VIN, "time": (T0 + timedelta(seconds=sec)).isoformat(), "soc": 55.0, "voltage": 355.2,
        "current": 15.0, "cell_voltages": [3.7] * 96, "temperatures": [31.0] * 16, "insulation_kohm": 4000.0,
        "alarm_level": 0, "alarm_flags": 0,
    }
    f.update(fields)
    return f


def hazardous_frames() -> list[dict[str, Any]]:
    """Normal driving, then a hot probe, low insulation (kΩ) and a sampling fault; plus one near miss."""
    frames = [frame(k) for k in range(5)]
    frames.append(frame(5, temperatures=[31.0] * 15 + [59.9]))  # near miss
    frames.append(frame(6, temperatures=[31.0] * 15 + [64.0]))
    frames += [frame(10 + 60 * k, insulation_kohm=30.0) for k in range(5)]
    cells = [3.7] * 96
    cells[40], cells[41] = 3.97, 3.43
    frames.append(frame(400, cell_voltages=cells))
    return frames


@pytest.fixture
def platform(sqlite_url: str) -> Iterator[Platform]:
    p = Platform(Settings(database_url=sqlite_url), now=lambda: NOW)
    import_orgs(p.store, s.orgs(), NOW)
    assert p.ledger.ingest(list(enumerate(s.story()[:11], 1))).rejected == 0  # the pack is in the sold vehicle
    yield p
    p.close()


def publish(topic: str, payloads: list[bytes]) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
    client.connect(HOST, PORT, keepalive=10)
    client.loop_start()
    try:
        for payload in payloads:
            client.publish(topic, payload, qos=1).wait_for_publish(timeout=5)
    finally:
        client.loop_stop()
        client.disconnect()


@needs_broker
def test_frames_published_to_the_broker_raise_stored_alarms(platform: Platform) -> None:
    base = f"battrace-test/{uuid.uuid4().hex}"
    subscriber = MqttSubscriber(telemetry_for(platform), host=HOST, port=PORT, topic=f"{base}/#",
                                batch_size=4, flush_s=0.1)
    stop = threading.Event()
    result: dict[str, TelemetryReport] = {}
    worker = threading.Thread(target=lambda: result.setdefault("total", subscriber.run(stop, duration_s=30)))
    worker.start()
    try:
        assert subscriber.subscribed.wait(10), "the subscriber did not subscribe within 10 s"
        frames = hazardous_frames()
        # one frame per message, then an array, then JSON Lines with a broken line
        payloads = [json.dumps(f).encode() for f in frames[:7]]
        payloads.append(json.dumps(frames[7:11]).encode())
        payloads.append(("\n".join(json.dumps(f) for f in frames[11:]) + "\n{broken\n").encode())
        publish(f"{base}/{s.VIN}", payloads)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(list_alarms(platform.store)) < 3:
            time.sleep(0.1)
    finally:
        stop.set()
        worker.join(15)
    assert not worker.is_alive()
    stored = list_alarms(platform.store)
    assert sorted(a["hazard"] for a in stored) == ["low_insulation", "over_temperature", "voltage_sampling_fault"]
    assert all(a["battery"] == s.PACK and a["source"] == "mqtt" and a["vin"] == s.VIN for a in stored)
    hot = next(a for a in stored if a["hazard"] == "over_temperature")
    assert hot["evidence"]["max_temp_c"] == 64.0 and hot["level"] == 1
    total = result["total"]
    assert total.frames == len(hazardous_frames()) + 1 and total.rejected == 1 and subscriber.messages == 9
    assert len(total.alarms) == 3


@needs_broker
def test_the_cli_subscriber_stops_after_its_duration(sqlite_url: str, platform: Platform) -> None:
    topic = f"battrace-test/{uuid.uuid4().hex}/#"
    result = CliRunner().invoke(app, ["--db", sqlite_url, "telemetry", "subscribe", "--topic", topic,
                                      "--duration", "0.5", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["frames"] == 0


def test_an_unreachable_broker_is_one_clear_error(platform: Platform) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subscriber = MqttSubscriber(telemetry_for(platform), host="127.0.0.1", port=port)
    with pytest.raises(Exception, match=f"cannot reach the MQTT broker at 127.0.0.1:{port}"):
        subscriber.run(duration_s=1)


def test_payloads_carry_one_frame_an_array_or_json_lines() -> None:
    assert frames_of(b'{"a": 1}') == [{"a": 1}]
    assert frames_of(b'[{"a": 1}, {"b": 2}]') == [{"a": 1}, {"b": 2}]
    assert frames_of(b'{"a": 1}\n\n{"b": 2}\n{oops') == [{"a": 1}, {"b": 2}, None]
    assert frames_of(b"\xff") == [None] and frames_of(b"  ") == []


def test_cli_ingests_a_jsonl_file_and_lists_the_alarms(tmp_path: Path, sqlite_url: str, platform: Platform) -> None:
    path = tmp_path / "frames.jsonl"
    path.write_text("\n".join(json.dumps(f) for f in hazardous_frames()) + "\nnot json\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["--db", sqlite_url, "telemetry", "ingest", str(path), "--batch", "5", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["frames"], report["rejected"]) == (len(hazardous_frames()) + 1, 1)
    assert sorted(a["hazard"] for a in report["alarms"]) == ["low_insulation", "over_temperature",
                                                              "voltage_sampling_fault"]
    listed = runner.invoke(app, ["--db", sqlite_url, "telemetry", "alarms", "--json"])
    assert listed.exit_code == 0 and len(json.loads(listed.stdout)) == 3
    table = runner.invoke(app, ["--db", sqlite_url, "telemetry", "alarms"])
    assert "voltage_sampling_fault" in table.stdout

"""MQTT adapter: subscribe to a broker's telemetry topic and feed the frames, in batches, to the
platform's :class:`~battrace.services.telemetry.TelemetryService` (the same path as ``POST /telemetry``).

A message's payload is one frame (JSON object), an array of frames, or JSON Lines. Frames are
batched up to ``batch_size`` or ``flush_s`` seconds, whichever comes first. The subscriber reports
as the platform itself (the broker's own authentication and ACLs decide who may publish).

paho-mqtt runs the network loop in its own thread; :meth:`MqttSubscriber.run` drains the queue in
the calling thread until ``stop`` is set, ``max_frames`` frames were handled or ``duration_s``
passed. It can therefore run in a thread of its own (tests) or in the foreground (the CLI).
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from battrace.errors import BattraceError
from battrace.services.telemetry import TelemetryReport, TelemetryService

DEFAULT_TOPIC = "battrace/telemetry/#"


def frames_of(payload: bytes | bytearray) -> list[Any]:
    """The frames in one MQTT payload; an unreadable payload or line becomes ``None`` (rejected later)."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return [None]
    stripped = text.strip()
    if not stripped:
        return []
    try:
        parsed = json.loads(stripped)
    except json.JSONDecodeError:
        out: list[Any] = []
        for line in stripped.splitlines():
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    out.append(None)
        return out
    return parsed if isinstance(parsed, list) else [parsed]


class MqttSubscriber:
    """Subscribe to ``topic`` on ``host:port`` and ingest what arrives."""

    def __init__(
        self,
        service: TelemetryService,
        *,
        host: str = "127.0.0.1",
        port: int = 1883,
        topic: str = DEFAULT_TOPIC,
        qos: int = 1,
        batch_size: int = 1000,
        flush_s: float = 1.0,
        client_id: str | None = None,
        on_report: Callable[[TelemetryReport], None] | None = None,
    ) -> None:
        self.service = service
        self.host, self.port, self.topic, self.qos = host, port, topic, qos
        self.batch_size, self.flush_s = batch_size, flush_s
        self.client_id = client_id or f"battrace-{uuid.uuid4().hex[:12]}"
        self.on_report = on_report
        self.subscribed = threading.Event()
        self.messages = 0
        self._queue: queue.Queue[list[Any]] = queue.Queue()

    # paho callbacks (network thread) --------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any = None) -> None:
        if not reason.is_failure:
            client.subscribe(self.topic, qos=self.qos)

    def _on_subscribe(self, _client: mqtt.Client, _userdata: Any, _mid: int, _reasons: Any, _props: Any = None) -> None:
        self.subscribed.set()

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.messages += 1
        self._queue.put(frames_of(message.payload))

    # the loop (calling thread) --------------------------------------------------------------

    def _client(self) -> mqtt.Client:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=True)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        return client

    def run(
        self,
        stop: threading.Event | None = None,
        *,
        max_frames: int | None = None,
        duration_s: float | None = None,
    ) -> TelemetryReport:
        """Subscribe and ingest until ``stop`` is set, ``max_frames`` or ``duration_s`` is reached."""
        stop = stop or threading.Event()
        client = self._client()
        try:
            client.connect(self.host, self.port, keepalive=30)
        except OSError as exc:
            raise BattraceError(
                f"cannot reach the MQTT broker at {self.host}:{self.port}: {exc}", host=self.host, port=self.port
            ) from None
        total = TelemetryReport()
        pending: list[Any] = []
        deadline = None if duration_s is None else time.monotonic() + duration_s
        last_flush = time.monotonic()
        client.loop_start()
        try:
            while not stop.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    break
                if max_frames is not None and total.frames + len(pending) >= max_frames:
                    break
                with contextlib.suppress(queue.Empty):
                    pending.extend(self._queue.get(timeout=min(self.flush_s, 0.2)))
                due = time.monotonic() - last_flush >= self.flush_s
                if pending and (len(pending) >= self.batch_size or due):
                    self._flush(pending, total)
                    pending = []
                    last_flush = time.monotonic()
                elif due:
                    last_flush = time.monotonic()
        finally:
            client.loop_stop()
            client.disconnect()
            while True:  # what arrived before the loop stopped
                try:
                    pending.extend(self._queue.get_nowait())
                except queue.Empty:
                    break
            if pending:
                self._flush(pending, total)
        return total

    def _flush(self, frames: list[Any], total: TelemetryReport) -> None:
        for i in range(0, len(frames), self.batch_size):
            report = self.service.ingest(frames[i:i + self.batch_size], source="mqtt")
            total.merge(report)
            if self.on_report is not None:
                self.on_report(report)

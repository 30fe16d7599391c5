"""Prometheus metrics of the HTTP face: ingest outcomes, rejections by code, request latency, requests
in flight (the queue at the server) and, at each scrape, the read replica's lag.

With ``battrace serve --workers N`` every worker process writes its samples to
``PROMETHEUS_MULTIPROC_DIR`` (set by the command) and ``/metrics`` adds them up, whichever worker
answers the scrape (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from battrace.errors import StorageError
from battrace.services.ledger import IngestReport
from battrace.services.platform import Platform
from battrace.storage.replica import lag_seconds

EVENTS = Counter("battrace_events_total", "Events reported through the API, by outcome.", ["outcome"])
REJECTIONS = Counter("battrace_event_rejections_total", "Rejected events, by error code.", ["code"])
INGEST_REQUESTS = Counter("battrace_ingest_requests_total", "POST /api/v1/events requests answered with a report.")
REQUEST_SECONDS = Histogram(
    "battrace_http_request_duration_seconds", "HTTP request latency, by route template and status.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
IN_FLIGHT = Gauge("battrace_http_requests_in_flight", "Requests being served now (the server's queue depth).",
                  multiprocess_mode="livesum")

CONTENT_TYPE = CONTENT_TYPE_LATEST


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


if multiprocess_dir():  # a worker of ``serve --workers N``: drop this process's live gauges when it ends
    atexit.register(multiprocess.mark_process_dead, os.getpid())


def record_ingest(report: IngestReport) -> None:
    INGEST_REQUESTS.inc()
    for outcome in ("accepted", "duplicate", "rejected"):
        n = report.count(outcome)
        if n:
            EVENTS.labels(outcome).inc(n)
    for o in report.outcomes:
        if o.status == "rejected":
            REJECTIONS.labels(o.code or "unknown").inc()


class ReplicaLag(Collector):
    """``battrace_replica_lag_seconds``, asked of the replica at each scrape (absent without one)."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    def collect(self) -> Iterator[Any]:
        if self.platform.read_store is self.platform.store:
            return
        family = GaugeMetricFamily("battrace_replica_lag_seconds",
                                   "How far the read replica trails the primary (-1: unreachable).")
        try:
            lag = lag_seconds(self.platform.read_store)
        except StorageError:
            lag = -1.0
        family.add_metric([], -1.0 if lag is None else lag)
        yield family


def exposition(platform: Platform) -> bytes:
    """The text of ``/metrics``."""
    registry: CollectorRegistry
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_Forward(REGISTRY))
    registry.register(ReplicaLag(platform))
    return generate_latest(registry)


class _Forward(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Any]:
        yield from self.registry.collect()

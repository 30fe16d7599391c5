"""``battrace ingest --workers N``: one file ingested by several writer processes at once.

Events must be decided in order *per stream* (a pack is produced before it is installed), not
globally. So the file is first cut into independent shares: a union-find over what each line names
(battery codes, ``vin:<VIN>``, a maker's tech-info filing) groups the lines into families that share
no stream, and the families are dealt out to ``N`` shares, largest first onto the lightest share.
Each share keeps the file's order. Then ``N`` worker processes each read the file, keep their own
lines and run the ordinary :meth:`Ledger.ingest` on them — parsing, validating, deciding and
hashing in parallel — and write through their own connection. On PostgreSQL the writers commit in
parallel (no global lock: see docs/ledger.md); SQLite allows one writer at a time, so there the
work is done by one process, as without ``--workers``.

Memory: the first pass keeps one entry per distinct stream and one share number per line (tens of
bytes each), not the events.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from battrace.errors import InvalidEvent, StorageError

_CODE_KEYS = ("battery", "product", "removed", "installed")
_LIST_KEYS = ("batteries", "components", "sources", "batteries_present")


def streams_named(raw: Any) -> list[str]:
    """The streams a raw event (a JSON object) names, read leniently: what cannot be read names
    nothing (the ledger rejects it with its own message)."""
    if not isinstance(raw, dict):
        return []
    out: list[str] = []
    for key in _CODE_KEYS:
        value = raw.get(key)
        if isinstance(value, str):
            out.append(value)
    for key in _LIST_KEYS:
        values = raw.get(key)
        if isinstance(values, list):
            out.extend(v for v in values if isinstance(v, str))
    for item in raw.get("components_replaced") or ():
        if isinstance(item, dict):
            out.extend(v for v in (item.get("removed"), item.get("installed")) if isinstance(v, str))
    vin = raw.get("vin")
    if isinstance(vin, str):
        out.append(f"vin:{vin}")
    if raw.get("type") == "techinfo.filed":
        out.append(f"techinfo:{raw.get('reporter')}:{raw.get('model')}")
    return out


class _Families:
    """Union-find over stream names (path halving, union by size)."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.size: dict[str, int] = {}

    def find(self, x: str) -> str:
        parent = self.parent
        if x not in parent:
            parent[x] = x
            self.size[x] = 0
            return x
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, names: list[str]) -> str:
        root = self.find(names[0])
        for other in names[1:]:
            r = self.find(other)
            if r != root:
                if self.size[r] > self.size[root]:
                    root, r = r, root
                self.parent[r] = root
                self.size[root] += self.size[r]
        self.size[root] += 1
        return root


def plan_shares(path: Path, shares: int) -> list[int]:
    """The share (0..shares-1) of every line of ``path`` (index = line number - 1): lines that name a
    common stream, directly or through other lines, share one share; lines that name nothing, or
    cannot be read, go to share 0 (where the ledger reports them)."""
    families = _Families()
    roots: list[str | None] = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                names = streams_named(json.loads(line)) if line.strip() else []
            except json.JSONDecodeError:
                names = []
            roots.append(families.union(names) if names else None)
    sizes: dict[str, int] = {}
    for root in roots:
        if root is not None:
            top = families.find(root)
            sizes[top] = sizes.get(top, 0) + 1
    load = [0] * shares
    share_of: dict[str, int] = {}
    for top, size in sorted(sizes.items(), key=lambda kv: -kv[1]):  # largest family onto the lightest share
        k = min(range(shares), key=load.__getitem__)
        share_of[top] = k
        load[k] += size
    return [0 if root is None else share_of[families.find(root)] for root in roots]


def _own_lines(path: Path, plan: list[int], share: int) -> Iterator[tuple[int, Any]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if plan[number - 1] != share or not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, InvalidEvent(f"line {number} is not valid JSON: {exc.msg} (column {exc.colno})",
                                           line=number)


@dataclass
class ShardedReport:
    """What ``--workers`` reports: totals, rejections (by line) and each writer's share."""

    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    rejections: list[dict[str, Any]] = field(default_factory=list)
    writers: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicate": self.duplicate, "rejected": self.rejected,
                "rejections": sorted(self.rejections, key=lambda r: r["line"] or 0), "writers": self.writers}


def _writer(url: str, path: str, plan: list[int], share: int, import_history: bool, now: datetime | None,
            done: Any, results: Any) -> None:
    from battrace.config import Settings
    from battrace.services.platform import Platform

    platform = Platform(Settings(database_url=url), **({"now": lambda: now} if now else {}))
    start = time.perf_counter()

    def progress(n: int) -> None:
        with done.get_lock():
            done.value += n

    try:
        report = platform.ledger.ingest(_own_lines(Path(path), plan, share), import_history=import_history,
                                        progress=progress, keep_outcomes=False)
        results.put({"share": share, "accepted": report.accepted, "duplicate": report.duplicate,
                     "rejected": report.rejected, "rejections": report.as_dict()["rejections"],
                     "retries": platform.ledger.retries, "seconds": round(time.perf_counter() - start, 2)})
    except Exception as exc:  # reported by the parent, which exits 1
        results.put({"share": share, "error": f"{type(exc).__name__}: {exc}"})
    finally:
        platform.close()


def ingest_sharded(url: str, path: Path, workers: int, *, import_history: bool = False,
                   progress: Callable[[int], None] | None = None, now: datetime | None = None) -> ShardedReport:
    """Ingest ``path`` with ``workers`` writer processes (one on SQLite); see the module's text."""
    if url.startswith("sqlite"):
        workers = 1
    plan = plan_shares(path, workers)
    ctx = multiprocessing.get_context("spawn")
    done, results = ctx.Value("q", 0), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(url, str(path), plan, k, import_history, now, done, results))
             for k in range(workers)]
    for p in procs:
        p.start()
    report, seen = ShardedReport(), 0
    answers: list[dict[str, Any]] = []
    while len(answers) < workers:
        try:
            answers.append(results.get(timeout=0.5))
        except Exception:  # queue.Empty: report progress, and notice a writer that died
            if all(not p.is_alive() for p in procs) and results.empty():
                break
        if progress and done.value > seen:
            progress(done.value - seen)
            seen = done.value
    for p in procs:
        p.join()
    if progress and done.value > seen:
        progress(done.value - seen)
    errors = [a for a in answers if "error" in a]
    if errors or len(answers) < workers:
        detail = "; ".join(f"writer {a['share']}: {a['error']}" for a in errors) or "a writer process died"
        raise StorageError(f"ingest --workers {workers} failed: {detail}")
    for a in sorted(answers, key=lambda a: a["share"]):
        report.accepted += a["accepted"]
        report.duplicate += a["duplicate"]
        report.rejected += a["rejected"]
        report.rejections.extend(a["rejections"])
        report.writers.append({k: a[k] for k in ("share", "accepted", "duplicate", "rejected", "retries", "seconds")})
    return report

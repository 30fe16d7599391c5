"""Emitting events: ids, ``recorded_at``, the ordering guarantee and late reports (R04).

A *unit* is an independent slice of the world (one vehicle's story, one swap operator's fleet) with
its own RNG and event numbering. :meth:`Recorder.emit` keeps one invariant the ledger relies on when
it imports history in ``recorded_at`` order: an event about a battery or vehicle *occurs* after the
previous event about it was *recorded* (``keys`` name what it depends on), so every event is
recorded after everything it depends on, and a late predecessor never makes its successors late.
An event that would be recorded after the end of the simulation is not emitted (``None``): the
story stops there, as the platform would not know of it yet.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from battrace.services.simulate.timeline import DAY, HOUR, MINUTE, day_of, rfc3339
from battrace.services.simulate.violations import Injector
from battrace.services.simulate.world import Org
from battrace.services.simulate.writer import EventSink, dumps

WORK_START = 8 * HOUR
WORK_END = 19 * HOUR


@dataclass(frozen=True, slots=True)
class Ev:
    event_id: str
    occurred: int
    recorded: int

    def after(self, rng: random.Random, hold: float) -> int:
        """When a follow-up can happen: ``hold`` seconds after this event, once it is recorded."""
        return max(self.occurred + int(hold), self.recorded + rng.randint(10 * MINUTE, 2 * HOUR))


class Recorder:
    def __init__(self, sink: EventSink, injector: Injector, counts: Counter[str], end: int, unit: int,
                 rng: random.Random) -> None:
        self.sink = sink
        self.injector = injector
        self.counts = counts
        self.end = end
        self.unit = unit
        self.rng = rng
        self.position = 0
        self.last: dict[str, int] = {}

    def _id(self) -> tuple[str, int]:
        self.position += 1
        return f"sim-{self.unit}-{self.position}", self.position

    def normal_delay(self, event_type: str) -> int:
        rng = self.rng
        if event_type == "battery.swapped":
            return rng.randint(1 * MINUTE, 20 * MINUTE)
        if event_type == "vehicle.certified":
            return rng.randint(6 * HOUR, 10 * DAY)
        return rng.randint(5 * MINUTE, 2 * DAY)

    def emit(
        self,
        event_type: str,
        t: int,
        reporter: Org,
        fields: dict[str, Any],
        *,
        keys: Iterable[str] = (),
        region: str | None = None,
        data: dict[str, Any] | None = None,
        delay: int | None = None,
        may_be_late: bool = True,
        office_hours: bool = True,
    ) -> Ev | None:
        """Write one event; return it, or None when it would be recorded after the end."""
        rng = self.rng
        keys = list(keys)
        dep = max((self.last.get(k, -1) for k in keys), default=-1)
        if dep >= t:
            t = dep + rng.randint(10 * MINUTE, 3 * HOUR)
        if office_hours:
            s = t % DAY
            if s < WORK_START:
                t += WORK_START - s + rng.randint(0, 2 * HOUR)
            elif s > WORK_END:
                t += DAY - s + WORK_START + rng.randint(0, 2 * HOUR)
        late = None
        rolled = False
        if delay is None:
            if may_be_late:
                rolled, late = self.injector.late_delay(reporter.type, event_type, rng, day_of(t))
                if late is not None and t + late > self.end:
                    late = None
            delay = late if late is not None else self.normal_delay(event_type)
        recorded = t + delay
        if recorded > self.end:
            if rolled:
                self.injector.uncount("R04")
            return None
        event_id, position = self._id()
        obj: dict[str, Any] = {"event_id": event_id, "type": event_type, "occurred_at": rfc3339(t),
                               "recorded_at": rfc3339(recorded), "reporter": reporter.credit_code}
        if region:
            obj["region"] = region
        obj.update(fields)
        if data:
            obj["data"] = data
        self.sink.put(recorded, self.unit, position, dumps(obj))
        self.counts[event_type] += 1
        for k in keys:
            self.last[k] = recorded
        if late is not None:
            codes = [v for k, v in fields.items() if k in ("battery", "removed", "installed", "product")]
            for k in ("batteries", "batteries_present"):
                codes.extend(fields.get(k) or ())
            self.injector.add("R04", codes, fields.get("vin"), [reporter.credit_code], event_id,
                              f"{event_type} recorded {late / DAY:.0f} days after it occurred")
        return Ev(event_id, t, recorded)

    def produced_batch(self, codes: list[str], t: int, reporter: Org, region: str, tail: str, delay: int,
                       step: int) -> int:
        """Fast path for many ``battery.produced`` events sharing their figures (cells).

        ``tail`` is the JSON of the shared fields without braces; event ``j`` occurs at
        ``t + j * step`` and is recorded ``delay`` later. Returns the last recorded instant.
        """
        head_type = '","type":"battery.produced","occurred_at":"'
        rep = f'","reporter":"{reporter.credit_code}","region":"{region}","battery":"'
        recorded = t
        for j, code in enumerate(codes):
            occurred = t + j * step
            recorded = occurred + delay
            event_id, position = self._id()
            line = (f'{{"event_id":"{event_id}{head_type}{rfc3339(occurred)}","recorded_at":"{rfc3339(recorded)}'
                    f'{rep}{code}",{tail}}}')
            self.sink.put(recorded, self.unit, position, line)
        self.counts["battery.produced"] += len(codes)
        return recorded

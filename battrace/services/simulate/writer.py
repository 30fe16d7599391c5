"""Output of a simulated world: events streamed to disk and sorted, plus the JSON side files.

Events are generated story by story, not in time order, so :class:`EventSink` writes each line to a
temporary file per month of ``recorded_at``, prefixed with a fixed-width sort key
(``recorded_at``, unit, position in the unit). :meth:`EventSink.finish` sorts each month in turn
and concatenates them into ``events.jsonl``: memory holds one month, never the whole world.
Within one instant the key keeps generation order, which is the order the events must be applied.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import IO, Any

from battrace.services.simulate.timeline import month_index

KEY_WIDTH = 26  # 11 digits recorded_at + 8 unit + 7 position


class EventSink:
    def __init__(self, out_dir: Path) -> None:
        self.tmp = out_dir / ".events.tmp"
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        self.tmp.mkdir(parents=True)
        self._files: dict[int, IO[str]] = {}
        self.count = 0
        self._month_of_day: dict[int, int] = {}

    def put(self, recorded: int, unit: int, position: int, line: str) -> None:
        day = recorded // 86400
        month = self._month_of_day.get(day)
        if month is None:
            month = self._month_of_day[day] = month_index(recorded)
        f = self._files.get(month)
        if f is None:
            f = self._files[month] = open(self.tmp / f"{month}.part", "w", encoding="utf-8")  # noqa: SIM115
        f.write(f"{recorded:011d}{unit:08d}{position:07d}{line}\n")
        self.count += 1

    def finish(self, path: Path) -> int:
        """Sort and write ``events.jsonl``; return its size in bytes."""
        for f in self._files.values():
            f.close()
        with open(path, "w", encoding="utf-8", newline="\n") as out:
            for month in sorted(self._files):
                part = self.tmp / f"{month}.part"
                with open(part, encoding="utf-8") as f:
                    lines = f.readlines()
                lines.sort()
                out.writelines(line[KEY_WIDTH:] for line in lines)
                part.unlink()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return path.stat().st_size

    def abort(self) -> None:
        for f in self._files.values():
            f.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def dumps(obj: Any) -> str:
    """One event line: compact, UTF-8, key order as built."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def write_json(path: Path, obj: Any) -> int:
    text = json.dumps(obj, ensure_ascii=False, indent=2) + "\n"
    path.write_text(text, encoding="utf-8")
    return len(text.encode("utf-8"))

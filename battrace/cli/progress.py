"""Progress for long work: a Rich bar on a terminal, periodic plain lines otherwise.

When stderr is a terminal, :func:`progress` shows Rich bars. When it is a file or a pipe (``make demo
> demo.log``, CI logs), it prints a line at most every ``interval`` seconds (``· ingest: 120,000 /
410,000 (29 %), 12 s``) and a last line with the total when the stage ends, so that a log shows the
work is moving. Short work stays quiet: a stage prints nothing until it has run ``interval`` seconds,
unless ``announce`` is set (the demo announces each stage as it starts). ``BATTRACE_PROGRESS_INTERVAL``
sets the interval (seconds, default 5).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from battrace import config
from battrace.cli.output import err_console

Advance = Callable[[int], None]
Stage = Callable[[str, "int | None"], Advance]


class PlainProgress:
    """Plain-line progress for a non-terminal stream; one line per ``interval`` seconds at most."""

    def __init__(self, stream: TextIO, interval: float = 5.0, monotonic: Callable[[], float] = time.monotonic,
                 announce: bool = False):
        self.stream = stream
        self.interval = interval
        self.monotonic = monotonic
        self.announce = announce
        self._open: list[_PlainStage] = []

    def stage(self, name: str, total: int | None) -> Advance:
        for previous in self._open:
            previous.finish()
        st = _PlainStage(self, name, total)
        self._open = [st]
        if self.announce:
            st.spoke = True
            self.write(f"· {name} ..." + (f" ({total:,} to do)" if total else ""))
        return st.advance

    def write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def close(self, ok: bool = True) -> None:
        for st in self._open:
            if ok:
                st.finish()
        self._open = []


class _PlainStage:
    def __init__(self, owner: PlainProgress, name: str, total: int | None):
        self.owner, self.name, self.total = owner, name, total
        self.done = 0
        self.started = owner.monotonic()
        self.last = self.started
        self.finished = False
        self.spoke = False  # whether this stage has printed anything (then it also prints its end)

    def advance(self, n: int) -> None:
        self.done += n
        now = self.owner.monotonic()
        if now - self.last >= self.owner.interval:
            self.last = now
            self.spoke = True
            self.owner.write(f"· {self.name}: {self._count()}, {now - self.started:.0f} s")

    def finish(self) -> None:
        if self.finished or not self.spoke:
            return
        self.finished = True
        elapsed = self.owner.monotonic() - self.started
        self.owner.write(f"· {self.name} done: {self.done:,}" + (f" / {self.total:,}" if self.total else "")
                         + f" in {elapsed:.0f} s")

    def _count(self) -> str:
        if self.total:
            return f"{self.done:,} / {self.total:,} ({100 * self.done / self.total:.0f} %)"
        return f"{self.done:,}"


def default_interval() -> float:
    return config.progress_interval()


@contextmanager
def progress(stream: TextIO | None = None, interval: float | None = None, announce: bool = False
             ) -> Iterator[Stage]:
    """Yield ``stage(name, total) -> advance(n)``: Rich bars on a TTY, plain lines otherwise."""
    out = stream if stream is not None else sys.stderr
    if out.isatty():
        with Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err_console) as bar:

            def stage(name: str, total: int | None) -> Advance:
                task = bar.add_task(name, total=total)
                return lambda n: bar.advance(task, n)

            yield stage
        return
    plain = PlainProgress(out, default_interval() if interval is None else interval, announce=announce)
    try:
        yield plain.stage
    except BaseException:
        plain.close(ok=False)
        raise
    plain.close()

"""The CLI's entry point (:func:`battrace.cli.main`, what ``python -m battrace`` runs) called in this
process, with its own argv, environment and captured streams: the same code path as a subprocess
without a new interpreter's start-up (about a second each). The fast twins of the subprocess tests
use it; the subprocess versions still run under ``-m slow``."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from battrace.cli import main


def run_main(*args: str, env: dict[str, str | None] | None = None) -> subprocess.CompletedProcess[str]:
    """``battrace ARGS`` in-process: its exit status, stdout and stderr as a subprocess would give them."""
    argv = ["battrace", *args]
    with CliRunner().isolation(env=env) as (out, err, _):
        saved, sys.argv = sys.argv, argv
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            sys.argv = saved
            sys.stdout.flush()  # the captured streams are text wrappers over bytes: empty until flushed
            sys.stderr.flush()
        return subprocess.CompletedProcess(argv, code, out.getvalue().decode("utf-8", "replace"),
                                           err.getvalue().decode("utf-8", "replace"))

"""A real PostgreSQL primary and streaming standby, in temporary directories, for one test module.

The machine's own server refuses replication connections (its ``pg_hba.conf`` trusts ``all``, which
does not cover replication), and tests do not change it; so the pair is made here: ``initdb`` a
primary that trusts replication from 127.0.0.1, start it on a free port, ``pg_basebackup -R -X
stream`` it into a second directory, start that as the standby on another free port. Both are
stopped (``pg_ctl stop -m fast``) and removed afterwards. See ../shared/design/postgres-replica-testing.md.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Pair:
    primary_url: str
    standby_url: str
    primary_dir: Path
    standby_dir: Path


def pg_bin() -> Path | None:
    """The server binaries' folder (initdb, pg_ctl, pg_basebackup), newest version first."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_basebackup"), reverse=True)
    if found:
        return Path(found[0]).parent
    which = shutil.which("pg_basebackup")
    return Path(which).parent if which and shutil.which("initdb") else None


def unavailable() -> str | None:
    """Why a pair cannot run here, or None."""
    if pg_bin() is None:
        return "the PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) are not installed"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run the server as"
        if shutil.which("runuser") is None:
            return "running as root without runuser to switch to the 'postgres' user"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(*args: str | Path) -> None:
    cmd = [str(a) for a in args]
    if os.geteuid() == 0:  # the server refuses to run as root
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")


def _settings(port: int, socket_dir: Path) -> str:
    return (f"\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{socket_dir}'\n"
            "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nshared_buffers = 16MB\n"
            "max_connections = 40\nhot_standby = on\nwal_level = replica\nmax_wal_senders = 4\n")


@contextmanager
def streaming_pair() -> Iterator[Pair]:
    bindir = pg_bin()
    assert bindir is not None
    root = Path(tempfile.mkdtemp(prefix="battrace-pgpair-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    primary, standby = root / "primary", root / "standby"
    p1, p2 = _free_port(), _free_port()
    started: list[Path] = []
    try:
        _run(bindir / "initdb", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "-D", primary)
        with open(primary / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(_settings(p1, root))
        with open(primary / "pg_hba.conf", "a", encoding="utf-8") as hba:
            hba.write("\nhost replication all 127.0.0.1/32 trust\n")
        _run(bindir / "pg_ctl", "-D", primary, "-l", root / "primary.log", "-w", "start")
        started.append(primary)
        _run(bindir / "pg_basebackup", "-h", "127.0.0.1", "-p", str(p1), "-U", "postgres", "-D", standby,
             "-R", "-X", "stream", "--no-sync")
        with open(standby / "postgresql.auto.conf", "a", encoding="utf-8") as conf:
            conf.write(f"\nport = {p2}\n")
        _run(bindir / "pg_ctl", "-D", standby, "-l", root / "standby.log", "-w", "start")
        started.append(standby)
        yield Pair(f"postgresql+psycopg://postgres@127.0.0.1:{p1}/postgres",
                   f"postgresql+psycopg://postgres@127.0.0.1:{p2}/postgres", primary, standby)
    finally:
        for data in reversed(started):
            with suppress(RuntimeError):
                _run(bindir / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def stop(data: Path) -> None:
    bindir = pg_bin()
    assert bindir is not None
    _run(bindir / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop")


def wait_until(check: object, what: str, timeout: float = 30.0) -> None:
    """Poll ``check()`` until true (replication is asynchronous); fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)

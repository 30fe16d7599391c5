"""The ``battrace`` command line: thin commands over the services.

Each area lives in its own module and registers a Typer sub-app or commands here. Errors of the
platform's hierarchy are mapped once, in :func:`main`, to a one-line message and exit status 1.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from battrace import __version__
from battrace.cli.context import CliState
from battrace.errors import BattraceError

app = typer.Typer(
    name="battrace",
    help="Digital ID and lifecycle traceability for EV power batteries.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"battrace {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option("--db", envvar="BATTRACE_DATABASE_URL", help="Database URL (default sqlite:///battrace.db)."),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    ctx.obj = CliState(db)


def _register() -> None:
    from battrace.cli import code

    app.add_typer(code.app, name="code")
    modules = ("ledger", "orgs", "health", "compliance", "server", "interop", "simulate", "telemetry", "demo",
               "supervision")
    for module_name in modules:
        try:
            module = __import__(f"battrace.cli.{module_name}", fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name == f"battrace.cli.{module_name}":
                continue
            raise
        module.register(app)


_register()


#: Options of the root command that may also be written after the subcommand (``passport CODE --db URL``).
GLOBAL_VALUE_OPTIONS = ("--db",)
GLOBAL_FLAGS = ("--version",)


def hoist_global_options(argv: list[str]) -> list[str]:
    """Move global options written after the subcommand to the front, and a ``--json`` written before
    the subcommand to the end, so that both orders work (``battrace --json passport X --db URL``)."""
    front: list[str] = []
    rest: list[str] = []
    tail: list[str] = []
    seen_command = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest.extend(argv[i:])
            break
        if arg in GLOBAL_VALUE_OPTIONS and i + 1 < len(argv):
            front += [arg, argv[i + 1]]
            i += 2
            continue
        if arg.split("=", 1)[0] in GLOBAL_VALUE_OPTIONS or arg in GLOBAL_FLAGS:
            front.append(arg)
        elif arg == "--json" and not seen_command:
            tail.append(arg)
        else:
            seen_command = seen_command or not arg.startswith("-")
            rest.append(arg)
        i += 1
    if tail and "--" in rest:
        cut = rest.index("--")
        return front + rest[:cut] + tail + rest[cut:]
    return front + rest + tail


def _click_exceptions() -> tuple[type[Exception], ...]:
    """Click's exception base class, from Typer's vendored copy and from click itself."""
    found: list[type[Exception]] = []
    for name in ("typer._click.exceptions", "click.exceptions"):
        try:
            found.append(__import__(name, fromlist=["ClickException"]).ClickException)
        except ImportError:
            continue
    return tuple(found)


def usage_line(exc: Exception) -> str:
    """One line for a usage error: what is wrong and where to read the usage."""
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "battrace"
    return f"error [usage]: {' '.join(message.split())} (see '{command} --help')"


def main() -> None:
    """Entry point: run the app, mapping platform errors to one line on stderr and exit 1, and usage
    errors to one line and exit 2."""
    click_errors = _click_exceptions()
    try:
        rc = app(args=hoist_global_options(sys.argv[1:]), standalone_mode=False, prog_name="battrace")
    except BattraceError as exc:
        typer.echo(f"error [{exc.code}]: {exc.message}", err=True)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except click_errors as exc:
        code = getattr(exc, "exit_code", 1)
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:  # bare ``battrace`` / ``battrace code``
            typer.echo(ctx.get_help())
            sys.exit(0)
        typer.echo(usage_line(exc) if code == 2 else f"error: {' '.join(str(exc).split())}", err=True)
        sys.exit(code)
    sys.exit(rc if isinstance(rc, int) else 0)

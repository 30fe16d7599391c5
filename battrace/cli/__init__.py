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


def main() -> None:
    """Entry point: run the app, mapping platform errors to one line on stderr and exit 1."""
    try:
        rc = app(standalone_mode=False)
    except BattraceError as exc:
        typer.echo(f"error [{exc.code}]: {exc.message}", err=True)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except __import__("click").exceptions.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    sys.exit(rc if isinstance(rc, int) else 0)

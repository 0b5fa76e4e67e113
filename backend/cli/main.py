"""Entry point: `netspace COMMAND`. Each command group lives in its own module and registers on `app`."""

from __future__ import annotations

import json
import sys

import click
import typer
from pydantic import ValidationError

from . import (
    backup_cmds,  # noqa: F401
    designspace_cmds,  # noqa: F401  (each import registers its commands on app)
    import_cmds,  # noqa: F401
    refine_cmds,  # noqa: F401
    report_cmds,  # noqa: F401
    server_cmds,  # noqa: F401
    worker_cmds,  # noqa: F401
)
from .app import app
from .errors import CliError, one_line, print_error


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; usage and input errors become one line on stderr with exit code 2."""
    try:
        app(args=argv, standalone_mode=False)
    except (typer.Abort, click.exceptions.Abort):
        print_error("aborted")
        sys.exit(130)
    except (typer.Exit, click.exceptions.Exit) as e:
        sys.exit(getattr(e, "exit_code", 0))
    except (typer.TyperException, click.ClickException) as e:  # usage errors (typer vendors click)
        message = e.format_message() if hasattr(e, "format_message") else str(e)
        print_error(" ".join(message.split()))
        sys.exit(2)
    except (CliError, ValidationError, ValueError, KeyError, json.JSONDecodeError) as e:
        print_error(one_line(e))
        sys.exit(2)
    except BrokenPipeError:
        sys.exit(0)


if __name__ == "__main__":
    main()

"""The `netspace` command line (typer)."""

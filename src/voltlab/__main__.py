"""`python -m voltlab ...` runs the CLI."""

from voltlab.cli import app

app(prog_name="voltlab")

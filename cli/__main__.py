"""``python -m cli …`` runs the ``dialer`` command (tests start the engine this way, without the entry point)."""

from cli import app

app(prog_name="dialer")

"""The engine's own statements, apart from its behaviour: the rows only ``dialer/`` writes (docs/ARCHITECTURE.md,
who owns which tables)."""

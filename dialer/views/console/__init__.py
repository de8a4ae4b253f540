"""The operator console's widgets: status bar, customer card, call script, disposition form and the
control bar. Each keeps its data in reactive attributes and renders (or composes) itself from them;
``dialer/views/operator_console.py`` sets them from the engine's snapshots and the store."""

"""Pacing: how many calls to dial now, as pure functions of a snapshot; no I/O, nothing else of ours imported.

The same functions run in the engine, in ``dialer simulate`` and in the benchmarks, so what is measured
offline is what dials. ``policies`` is the entry point (one function per dial mode). Beside it: the models
(``predictive``, ``queue_model``, ``erlang``, ``handle_time``), the estimates they read (``snapshot``,
``estimators``), the outer loop on measured abandonment (``abandonment``, ``targets``), operators shared by
a group of campaigns (``pool*``), staffing, and the simulated world and day that try them (``world``,
``day``, ``simulation``).
"""

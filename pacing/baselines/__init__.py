"""Other dialers' pacing rules, reimplemented from their public sources for the benchmark only.

Nothing here is used by the engine. Each module cites the files it was read from; no code was copied.
They plug into ``pacing.simulation`` as pacers and see the floor through the same ``DayFloor`` view (``pacing.day``).
"""

"""The people's views: the operator console and the supervisor's watch, both fed by engine snapshots."""

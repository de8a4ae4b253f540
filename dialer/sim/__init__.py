"""The simulated world: the demo, simulated operators and callees, virtual time, and what-if."""

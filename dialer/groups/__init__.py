"""Campaign groups in the engine: campaigns sharing one pool of operators, paced as one."""

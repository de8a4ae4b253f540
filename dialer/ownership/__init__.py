"""Several engines on one store: which engine runs which campaign, and taking over a dead one's calls."""

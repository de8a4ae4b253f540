"""The engine's own statements, apart from its behaviour: the rows only ``dialer/`` writes (docs/ARCHITECTURE.md,
who owns which tables, and where SQL lives): ``engines`` (heartbeats), ``ownership`` (``campaign_owner`` and its
advisory lock), ``operator_commands`` and ``pictures`` (the control plane's rows and channels), ``dead_letters``
(writes set aside) and ``plans`` (the claim's transaction on generic plans)."""

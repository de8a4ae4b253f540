"""Compliance: rules a campaign cannot be talked out of.

Pure rules (no I/O, no asyncio; a rule takes a number or lead, an aware moment and a policy, and answers a
``Verdict`` with a reason): ``hours`` (calling windows in the callee's local time; presets in ``presets``,
window values in ``windows``), ``caps`` (per-number attempt and conversation caps, UK repeat block),
``abandonment`` (the cap and the fall-back to progressive), ``dnc`` (scopes, numbers, registry age),
``caller_id``, ``safe_harbor``, ``zones`` (number → zones, US state), ``rules`` (a campaign's rules as one
value and the per-lead check before originate). ``store`` holds the queries that feed them; ``report``
the values of the compliance report.
"""

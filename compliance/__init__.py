"""Compliance: rules a campaign cannot be talked out of.

Pure rules (no I/O, no asyncio; a rule takes a number or lead, an aware moment and a policy, and answers a
``Verdict`` with a reason): ``hours`` (calling windows in the callee's local time; presets in ``presets``,
window values in ``windows``), ``caps`` (per-number attempt and conversation caps, UK repeat block),
``limits`` (each legal figure once per preset — abandonment cap and window, safe-harbor seconds, minimum
ring — and the checks that let a setting tighten them, never loosen them), ``abandonment`` (the window's
rate and the policy built from the limits), ``dnc`` (scopes, numbers, registry age), ``caller_id``,
``zones`` (number → zones, US state), ``rules`` (a campaign's rules as one value and the per-lead check
before originate). ``store`` holds the queries that feed them; ``report`` the values of the compliance
report.
"""

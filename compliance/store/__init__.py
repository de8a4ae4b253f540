"""The queries that feed the compliance rules, one module per concept: a campaign's rules (``rules``), DNC
lists and registry copies (``dnc_lists``), the engine's two calls around a claim and the per-number history
they read (``claim``), and the abandonment figures: the ledger and the compliance report (``report``).

Every business time is a parameter (``now``); SQL never calls now(). Callers use ``compliance.store`` as
one surface; the names below are it.
"""

from compliance.store.claim import (
    HISTORY_LOOKBACK,
    ClaimableLead,
    ClaimPermit,
    Screened,
    before_claim,
    contact_history,
    lead_contact_history,
    repeat_block_condition,
    repeat_blocked_phones,
    screen_claimed,
)
from compliance.store.dnc_lists import (
    DncEntry,
    RegistryCopy,
    StaleRegistryRefusal,
    add_dnc,
    import_registry,
    is_dnc,
    list_dnc,
    registries,
    registry_verdict,
    require_fresh_registries,
)
from compliance.store.report import ComplianceReport, answered_since, compliance_report, ledger
from compliance.store.rules import campaign_rules, rules_document, set_campaign_rules

__all__ = [
    "HISTORY_LOOKBACK",
    "ClaimPermit",
    "ClaimableLead",
    "ComplianceReport",
    "DncEntry",
    "RegistryCopy",
    "Screened",
    "StaleRegistryRefusal",
    "add_dnc",
    "answered_since",
    "before_claim",
    "campaign_rules",
    "compliance_report",
    "contact_history",
    "import_registry",
    "is_dnc",
    "lead_contact_history",
    "ledger",
    "list_dnc",
    "registries",
    "registry_verdict",
    "repeat_block_condition",
    "repeat_blocked_phones",
    "require_fresh_registries",
    "rules_document",
    "screen_claimed",
    "set_campaign_rules",
]

"""The dial modes, one name each: what a campaign's ``mode`` may say (``pacing.policies`` implements them).

A module of its own, with nothing to import, so the lists' validation of a campaign, the command line's
choices and the tuning form read the one tuple without loading the models; the store's check constraint on
``campaign.mode`` (``lists/migrations/001_initial.sql``) names the same four, and a test holds them equal.
"""

MODES = ("preview", "progressive", "ratio", "predictive")

-- attempt.campaign_id is written by the claim from the lead it just claimed, in the same transaction, and
-- campaigns are never deleted (their leads, and through lead_id the attempts, cascade with them). The
-- foreign key's check cost a trigger per attempt row and a KEY SHARE lock on the one campaign row that
-- every concurrent claim of the campaign took (a multixact as soon as two overlap): a fifth of the
-- database's work per claim in benchmarks/lists.py. The lead_id key stays.
ALTER TABLE attempt DROP CONSTRAINT IF EXISTS attempt_campaign_id_fkey;

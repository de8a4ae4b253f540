-- The claim resumes where its last claim stopped (lists/leads.py, ClaimCursor) instead of walking, from
-- the head of the list, past the index entries of every lead claimed since the last VACUUM: a claimed
-- lead leaves the ready set, but its entry stays in this partial index until VACUUM, and at thousands of
-- claims a second the walk grew by a page of dead entries every few claims. Resuming needs a row
-- comparison on the index's columns in one direction, hence -priority (highest first) instead of
-- priority DESC. Same order, same rows.
DROP INDEX lead_claim_order;
CREATE INDEX lead_claim_order ON lead (campaign_id, category, (-priority), next_due_at, id) WHERE state = 'ready';

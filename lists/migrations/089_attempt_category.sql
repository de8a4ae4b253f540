-- The lead's category when it was dialed: the lead's own moves on after the call (no answer: retry;
-- information sent: follow-up), so only the attempt can say which category a dial was
-- (lists.attempt_samples, `dialer simulate --from-campaign`). Rows from before stay NULL.
ALTER TABLE attempt ADD COLUMN category text;

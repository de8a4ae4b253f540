-- A lead made by an operator's manual dial of a number not in the campaign's lists: the operator's call, never
-- the dialer's. It ends done after its call whatever the outcome (a callback the operator sets still brings it
-- back), so the predictive dialer never calls on its own a number someone typed.
ALTER TABLE lead ADD COLUMN by_hand boolean NOT NULL DEFAULT false;

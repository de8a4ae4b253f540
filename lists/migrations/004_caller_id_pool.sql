-- Local presence: caller IDs keyed by the callee's E.164 prefix ('+1305') or region ('GB').
ALTER TABLE campaign ADD COLUMN caller_id_pool jsonb NOT NULL DEFAULT '{}';

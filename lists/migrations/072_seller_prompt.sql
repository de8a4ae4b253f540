-- A campaign's seller prompt, the part of the safe-harbor message that says who calls (config/asterisk/
-- extensions.conf, dialer-safeharbor), and the language its prompts are played in. The sound file itself
-- lives where Asterisk reads it (<sounds>/<language>/dialer/seller-<id>.wav); the row says that it was made,
-- from what and for which seller, so `dialer campaign start` can refuse a campaign whose preset wants it.
-- language NULL: the engine leaves the channel's own language (pjsip.conf's endpoint `language=`).
ALTER TABLE campaign ADD COLUMN language text;
ALTER TABLE campaign ADD COLUMN seller_prompt jsonb;

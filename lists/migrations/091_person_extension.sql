-- A supervisor's (or manager's) own phone: the extension rung to listen, whisper or barge from a browser
-- session of `dialer serve`. The engine lets a supervisor listen only from it.
ALTER TABLE person ADD COLUMN extension text CHECK (extension ~ '^[0-9]+$');

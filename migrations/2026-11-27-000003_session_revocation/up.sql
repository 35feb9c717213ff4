-- Sessions live in signed cookies, so the server keeps no list of them. Signing out moves this
-- instant forward: every session of the account issued before it ends, including a copy of the
-- cookie kept by someone else.
ALTER TABLE accounts ADD COLUMN sessions_valid_after timestamptz NOT NULL DEFAULT now();

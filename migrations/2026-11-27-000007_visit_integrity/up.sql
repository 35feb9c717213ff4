-- One response per visit: one-time codes handed out with the receipt, limits on the open desk
-- QR and the kiosk, and what every online response records about how it came in.

-- One-time codes ("mã đánh giá"), minted by staff or by the one-stop software through an API
-- token, printed on a slip with the receipt. A code is accepted once: the response that uses it
-- sets used_at and response_id in the same transaction as its insert, and the unique index on
-- responses.visit_code_id refuses a second response even when two arrive at the same moment.
CREATE TABLE visit_codes (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- 10 characters of the unambiguous alphabet (31 symbols): about 49.5 random bits.
    code             text NOT NULL UNIQUE CHECK (code ~ '^[a-z2-9]{8,32}$'),
    desk_id          integer NOT NULL REFERENCES desks (id),
    -- The codes minted together (printed together on one sheet of slips).
    batch            uuid NOT NULL,
    -- "Mã hồ sơ": the dossier the code was handed out with, when known.
    dossier_no       text CHECK (length(btrim(dossier_no)) BETWEEN 1 AND 64),
    -- Who minted it: a staff account, and the API token when it came through the API.
    created_by       integer REFERENCES accounts (id),
    created_by_token integer REFERENCES api_tokens (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    used_at          timestamptz,
    response_id      bigint UNIQUE REFERENCES responses (id),
    CHECK ((used_at IS NULL) = (response_id IS NULL))
);
CREATE INDEX visit_codes_desk_idx ON visit_codes (desk_id, created_at);
CREATE INDEX visit_codes_batch_idx ON visit_codes (batch);

-- How an online response came in. All NULL for paper ballots and other staff-entered channels.
--   client_key:    HMAC-SHA256 (installation secret) of the client address and the first-party
--                  cookie id; the raw address is never stored.
--   started_at:    when the form was rendered (carried in a signed hidden field).
--   visit_code_id: the one-time code the response used.
--   via:           'desk' (the desk's open QR code), 'code' (a one-time code), 'kiosk' (the
--                  tablet at the desk).
ALTER TABLE responses
    ADD COLUMN client_key    bytea CHECK (length(client_key) = 32),
    ADD COLUMN started_at    timestamptz,
    ADD COLUMN visit_code_id bigint REFERENCES visit_codes (id),
    ADD COLUMN via           text CHECK (via IN ('desk', 'code', 'kiosk')),
    ADD CONSTRAINT responses_code_via CHECK ((visit_code_id IS NULL) = (via IS DISTINCT FROM 'code'));
CREATE UNIQUE INDEX responses_visit_code_idx ON responses (visit_code_id)
    WHERE visit_code_id IS NOT NULL;
CREATE INDEX responses_client_idx ON responses (client_key, submitted_at)
    WHERE client_key IS NOT NULL;

-- Submission limits, enforced in the database so that they hold across instances: one token
-- bucket per subject, updated by one atomic upsert in the transaction that stores the response
-- (a refusal rolls the bucket back with it).
--   kind 'person':  key = HMAC of the client address and its cookie id (the open desk QR);
--   kind 'address': key = HMAC of the client address alone (many people behind one address);
--   kind 'kiosk':   key = the desk id (4 bytes, big-endian).
CREATE TABLE visit_limits (
    kind       text NOT NULL CHECK (kind IN ('person', 'address', 'kiosk')),
    key        bytea NOT NULL,
    -- Submissions still allowed now (refills continuously up to the burst size).
    tokens     double precision NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, key)
);
CREATE INDEX visit_limits_updated_idx ON visit_limits (updated_at);

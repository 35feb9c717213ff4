-- Kiosks: the tablets at a desk that staff enrolled as its rating device. The kiosk door
-- (/k/{desk code}) takes responses only from an enrolled device, and limits them per device;
-- before this, anyone who knew a desk's public code could use that door from anywhere, at the
-- kiosk's rate and past the per-person limits of the open QR.
--
-- The device keeps a random secret in a cookie (set when a staff member enrols it, on the
-- device itself); only its SHA-256 is stored here. A revoked device is refused at once.
CREATE TABLE kiosks (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    desk_id     integer NOT NULL REFERENCES desks (id),
    label       text NOT NULL CHECK (length(btrim(label)) BETWEEN 1 AND 100),
    secret_hash bytea NOT NULL CHECK (length(secret_hash) = 32),
    enrolled_by integer NOT NULL REFERENCES accounts (id),
    enrolled_at timestamptz NOT NULL DEFAULT now(),
    -- When the tablet last opened or sent a form (to the nearest few minutes: written at most
    -- once per five minutes), so that staff see which tablets are in use.
    last_seen_at timestamptz,
    revoked_by  integer REFERENCES accounts (id),
    revoked_at  timestamptz,
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
CREATE INDEX kiosks_desk_idx ON kiosks (desk_id, enrolled_at);

-- Exports requested from the staff pages ("Xuất dữ liệu"): a job per request, run in the
-- background by any instance (claimed with FOR UPDATE SKIP LOCKED), its file kept under
-- SIPAS_DATA_DIR/exports for download until it expires.

CREATE TABLE export_jobs (
    id           integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Who asked: only this account lists and downloads the job.
    account_id   integer NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- The account's units when it asked (their subtrees included); NULL: every unit. The job
    -- is resolved within this scope, and downloads check the scope again.
    scope        integer[],
    -- What was asked: the unit whose subtree is exported, the year, the period token of
    -- `crate::periods` ("2026", "2026-q1", "2026-h1", "2026-03", "p12"), the form, the
    -- channel, the format.
    unit_id      integer NOT NULL REFERENCES units (id),
    year         smallint NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    period       text NOT NULL CHECK (length(period) BETWEEN 1 AND 32),
    form_id      text NOT NULL REFERENCES forms (id),
    -- Only responses of this channel ('qr', 'paper', ...); NULL: every channel.
    channel      text CHECK (length(channel) BETWEEN 1 AND 32),
    -- `crate::export::ExportFormat::as_str`.
    format       text NOT NULL CHECK (format IN ('xlsx', 'csv', 'codebook', 'sps', 'zip')),
    -- "Quý I/2026 · UBND huyện Xuân Lộc", for the lists.
    label        text NOT NULL,
    -- queued → running → done | failed; done → expired when the file is deleted. A running job
    -- whose heartbeat stops (its process died) goes back to queued, `attempts` counting tries.
    status       text NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'running', 'done', 'failed', 'expired')),
    attempts     smallint NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    rows_done    bigint NOT NULL DEFAULT 0 CHECK (rows_done >= 0),
    -- The number of responses to write, when known (an estimate until the job is done).
    rows_total   bigint CHECK (rows_total >= 0),
    -- The file's name on disk, `{file_key}.{extension}` under SIPAS_DATA_DIR/exports: not
    -- guessable, and never the same for two databases that share a data directory.
    file_key     uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
    -- The name the file is downloaded as ("SIPAS_2026_Q1_XuanLoc.xlsx").
    file_name    text CHECK (length(file_name) BETWEEN 1 AND 200),
    byte_size    bigint CHECK (byte_size >= 0),
    -- Why the job failed, in Vietnamese, for the user (the cause goes to the log).
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    heartbeat_at timestamptz,
    finished_at  timestamptz,
    expires_at   timestamptz,
    CHECK (status <> 'running' OR (started_at IS NOT NULL AND heartbeat_at IS NOT NULL)),
    CHECK (status NOT IN ('done', 'expired')
           OR (file_name IS NOT NULL AND byte_size IS NOT NULL AND finished_at IS NOT NULL
               AND expires_at IS NOT NULL)),
    CHECK (status <> 'failed' OR (error IS NOT NULL AND finished_at IS NOT NULL))
);

-- The queue, oldest first.
CREATE INDEX export_jobs_queued_idx ON export_jobs (id) WHERE status = 'queued';
-- Running jobs, for the recovery of those whose process died.
CREATE INDEX export_jobs_running_idx ON export_jobs (heartbeat_at) WHERE status = 'running';
-- An account's recent exports.
CREATE INDEX export_jobs_account_idx ON export_jobs (account_id, id DESC);
-- Files to delete.
CREATE INDEX export_jobs_expiry_idx ON export_jobs (expires_at) WHERE status = 'done';

-- The rows each retention rule removes or clears (crates/sipas-db/src/retention.rs). This file is the
-- start of a WITH list: `retention_apply.sql` (the purge) or `retention_count.sql` (the dry
-- run) follows it, so that both judge by the same predicates.
--   $1 comments, $2 client keys, $3 limit buckets, $4 flags' evidence, $5 dossier numbers,
--   $6 exported files: how many days each is kept (`Rules`).
-- Ages count from the response's submission (comments, client keys, evidence), the code's
-- minting (dossier numbers), the bucket's last use, the failure itself, the export's end.
-- Columns of a response the fraud detection still needs are cleared only once the response
-- has been examined and folded (id up to the rollups' watermark).
WITH folded AS (
    SELECT last_response_id AS upto FROM rollup_state
),
old_comments AS (
    SELECT t.response_id, t.item_id
    FROM response_texts t
    JOIN responses r ON r.id = t.response_id
    WHERE r.submitted_at < now() - make_interval(days => $1)
),
old_client_keys AS (
    SELECT r.id
    FROM responses r
    WHERE r.client_key IS NOT NULL
      AND r.submitted_at < now() - make_interval(days => $2)
      AND r.id <= (SELECT upto FROM folded)
),
old_sign_in_failures AS (
    SELECT s.id FROM sign_in_failures s WHERE s.at < now() - make_interval(days => $2)
),
old_limit_buckets AS (
    SELECT l.kind, l.key FROM visit_limits l WHERE l.updated_at < now() - make_interval(days => $3)
),
old_flag_details AS (
    SELECT f.response_id, f.reason
    FROM response_flags f
    JOIN responses r ON r.id = f.response_id
    WHERE f.detail <> '{}'::jsonb
      AND r.submitted_at < now() - make_interval(days => $4)
),
old_start_times AS (
    SELECT r.id
    FROM responses r
    WHERE r.started_at IS NOT NULL
      AND r.submitted_at < now() - make_interval(days => $4)
      AND r.id <= (SELECT upto FROM folded)
),
old_dossier_numbers AS (
    SELECT v.id
    FROM visit_codes v
    WHERE v.dossier_no IS NOT NULL AND v.created_at < now() - make_interval(days => $5)
),
-- Done exports past their expiry, or older than the setting now says (a shorter setting
-- applies to files made before it, too).
old_exports AS (
    SELECT j.id, j.file_key, j.format
    FROM export_jobs j
    WHERE j.status = 'done'
      AND (j.expires_at < now() OR j.finished_at < now() - make_interval(days => $6))
)

-- The number of online responses (not paper ballots) of each desk per day, Vietnam's date,
-- for the responses the fraud detection has examined (ids up to rollup_state's watermark).
-- The desk-burst signal (src/db/sql/flags_burst_desk.sql) judges a desk against its usual
-- rate, its responses per day over the 28 days before: read here, a few rows per desk,
-- instead of every response of those 28 days at each fold (which a long flood, the very thing
-- the signal is for, made dearer with every fold). Kept by that statement, in the fold's
-- transaction, under the rollup lock.
CREATE TABLE desk_days (
    desk_id   integer NOT NULL REFERENCES desks (id),
    day       date NOT NULL,
    responses integer NOT NULL CHECK (responses > 0),
    PRIMARY KEY (desk_id, day)
);

-- The responses examined so far, counted under the rollup lock (src/db/rollup.rs,
-- ROLLUP_LOCK) so that no fold moves the watermark meanwhile.
SELECT pg_advisory_xact_lock(6001416219949748785);
INSERT INTO desk_days (desk_id, day, responses)
SELECT desk_id, (submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, count(*)
FROM responses
WHERE desk_id IS NOT NULL AND channel <> 'paper'
  AND id <= (SELECT last_response_id FROM rollup_state)
GROUP BY 1, 2;

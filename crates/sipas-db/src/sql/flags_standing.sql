-- The standing of the responses $1 that are not simply counted, for the raw data
-- (crates/sipas-db/src/flags.rs, `standing`): above the rollups' watermark (not yet examined nor folded),
-- and/or excluded by `{excluded}` (the fragment the folds use, EXCLUDED_SQL), with their
-- signals and an admin's decision. A response not returned counts.
-- The ids are read from the array, not looked up in `responses`: a lookup by id alone probes
-- every yearly partition (an export of one year slowed down as years accumulated: README,
-- "Responses partitioned by year").
SELECT r.id AS response_id,
       r.id > s.last_response_id AS pending,
       {excluded} AS excluded,
       coalesce(array(SELECT f.reason FROM response_flags f WHERE f.response_id = r.id),
                '{}') AS reasons,
       v.decision
FROM unnest($1::int8[]) AS r (id)
CROSS JOIN rollup_state s
LEFT JOIN response_reviews v ON v.response_id = r.id
WHERE (r.id > s.last_response_id
       OR v.response_id IS NOT NULL
       OR EXISTS (SELECT 1 FROM response_flags f WHERE f.response_id = r.id))

-- Responses and moments of the respondents' scores regrouped "by lineage" (issue 19,
-- sipas_core::lineage): a weighted sum of the rollup rows of today's units and their
-- predecessors, each weight applying to the days of one segment.
-- $1 form id; $2..$3 the days (inclusive); $4..$5 the whole months inside them (as in
-- stats_responses.sql); $6 unit ids, $7 weights, $8 first days, $9 end days (exclusive) of the
-- segments: a rollup row of unit $6[i] on a day in [$8[i], $9[i]) counts $7[i] times in the
-- figures of $12[i] (the unit of today, or the id, they are added up under; one row per period
-- and target); $10 channel (NULL: all); $11 'month', 'quarter' or 'year' (NULL: one row for
-- the range).
-- Counts weighted by a split's share are rounded to whole responses; sums are not.
WITH versions AS (
    SELECT id FROM form_versions WHERE form_id = $1
),
w AS (
    SELECT * FROM unnest($6::int4[], $7::float8[], $8::date[], $9::date[], $12::int4[])
        AS w(unit_id, weight, starts, ends, target)
),
source AS (
    SELECT m.unit_id, m.month AS day, m.responses, m.score_n, m.score_sum, m.score_sum_sq
    FROM rollup_responses_month m
    WHERE m.form_version_id IN (SELECT id FROM versions)
      AND m.month >= $4 AND m.month < $5
      AND m.unit_id = ANY ($6)
      AND ($10::text IS NULL OR m.channel = $10)
    UNION ALL
    SELECT d.unit_id, d.day, d.responses, d.score_n, d.score_sum, d.score_sum_sq
    FROM rollup_responses d
    WHERE d.form_version_id IN (SELECT id FROM versions)
      AND ((d.day >= $2 AND d.day < $4) OR (d.day >= $5 AND d.day <= $3))
      AND d.unit_id = ANY ($6)
      AND ($10::text IS NULL OR d.channel = $10)
)
SELECT CASE WHEN $11::text IS NOT NULL THEN date_trunc($11, s.day::timestamp)::date END AS period,
       w.target,
       round(sum(s.responses * w.weight))::int8 AS responses,
       round(sum(s.score_n * w.weight))::int8 AS score_n,
       sum(s.score_sum * w.weight)::float8 AS score_sum,
       sum(s.score_sum_sq * w.weight)::float8 AS score_sum_sq
FROM source s
JOIN w ON w.unit_id = s.unit_id AND s.day >= w.starts AND s.day < w.ends
GROUP BY 1, 2
ORDER BY 1, 2

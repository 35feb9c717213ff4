-- The responses of a filtered figure per period ($6; NULL: the whole range), unit and pattern
-- (filtered_picked.sql: which conditions of the filter each response meets), and for the
-- responses meeting them all (pattern 2^n - 1, n = cardinality($7)) the moments of the
-- respondents' scores (score.sql), as stats_responses.sql gives them from the rollups. The
-- counts of the other patterns are what the small-cell rule needs (crates/sipas-core/src/
-- respondent_filter.rs). Parameters as in filtered_picked.sql, and $9: whether to score (a
-- trend needs no scores: their moments are then 0).
WITH {score_rules},
{picked},
-- Materialized: the score is computed once per response (and only for those meeting every
-- condition, when $9 asks for scores), the rows kept small for the grouping.
scored AS MATERIALIZED (
    SELECT r.period, r.unit_id, r.pattern,
           CASE WHEN $9::bool AND r.pattern = (1 << cardinality($7::text[])) - 1
                THEN {score}
           END AS score
    FROM picked r
    LEFT JOIN score_rules v ON v.form_version_id = r.form_version_id
)
SELECT period, unit_id, pattern,
       count(*)::int8 AS responses,
       count(score)::int8 AS score_n,
       coalesce(sum(score), 0)::float8 AS score_sum,
       coalesce(sum(score * score), 0)::float8 AS score_sum_sq
FROM scored
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3

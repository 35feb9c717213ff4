-- Folds the responses `{source}` selects (crates/sipas-db/src/rollup.rs: ids in ($1, $2], or one
-- unit-month of them; never an excluded response, see crates/sipas-db/src/flags.rs) into rollup_responses
-- (per unit, form version, day in Vietnam's time and channel) and into its month totals
-- rollup_responses_month: the number of responses and the moments (n, Σs, Σs²) of the
-- respondents' own index scores.
--
-- A respondent's score (crates/sipas-core/src/stats, `respondent_score`): over the criteria they answered
-- validly (not NULL, not 0 = "not applicable"), s = Σ w·[answer is a positive code] / Σ w,
-- with the criterion weights w = 1 / (F · n_f) of the view rollup_rules. A response without
-- any valid criterion has no score (it still counts as a response).
-- The score's rules and expression are score_rules.sql and score.sql, put in by
-- crates/sipas-db/src/stats.rs (`with_score`) before the query is used.
WITH {score_rules},
-- Materialized: the score is computed once per response, not once per aggregate using it.
scored AS MATERIALIZED (
    SELECT r.unit_id, r.form_version_id,
           (r.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day,
           r.channel,
           {score} AS score
    FROM responses r
    LEFT JOIN score_rules v ON v.form_version_id = r.form_version_id
    WHERE {source}
),
delta AS MATERIALIZED (
    SELECT unit_id, form_version_id, day, channel,
           count(*)::int4 AS responses,
           count(score)::int4 AS score_n,
           coalesce(sum(score), 0) AS score_sum,
           coalesce(sum(score * score), 0) AS score_sum_sq
    FROM scored
    GROUP BY unit_id, form_version_id, day, channel
),
days AS (
    INSERT INTO rollup_responses AS rr
        (unit_id, form_version_id, day, channel, responses, score_n, score_sum, score_sum_sq)
    SELECT unit_id, form_version_id, day, channel, responses, score_n, score_sum, score_sum_sq
    FROM delta
    ON CONFLICT (unit_id, form_version_id, day, channel)
    DO UPDATE SET responses = rr.responses + EXCLUDED.responses,
                  score_n = rr.score_n + EXCLUDED.score_n,
                  score_sum = rr.score_sum + EXCLUDED.score_sum,
                  score_sum_sq = rr.score_sum_sq + EXCLUDED.score_sum_sq
)
INSERT INTO rollup_responses_month AS rm
    (unit_id, form_version_id, month, channel, responses, score_n, score_sum, score_sum_sq)
SELECT unit_id, form_version_id, date_trunc('month', day)::date, channel,
       sum(responses)::int4, sum(score_n)::int4, sum(score_sum), sum(score_sum_sq)
FROM delta
GROUP BY 1, 2, 3, 4
ON CONFLICT (unit_id, form_version_id, month, channel)
DO UPDATE SET responses = rm.responses + EXCLUDED.responses,
              score_n = rm.score_n + EXCLUDED.score_n,
              score_sum = rm.score_sum + EXCLUDED.score_sum,
              score_sum_sq = rm.score_sum_sq + EXCLUDED.score_sum_sq

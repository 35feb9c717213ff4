-- Folds the responses `{source}` selects (as rollup_fold_responses.sql) into
-- rollup_attribute_responses_month: per unit, form version, month (Vietnam's time), channel,
-- respondent question (`attribute_index`) and the code answered to it, the number of
-- responses and the moments (n, Σs, Σs²) of the respondents' scores (score_rules.sql,
-- score.sql, put in by `with_score` in crates/sipas-db/src/stats.rs). A response counts under
-- each respondent question it answered.
WITH {score_rules},
attributes AS (
    SELECT form_version_id, array_agg(answer_index ORDER BY answer_index) AS positions
    FROM form_items
    WHERE kind = 'choice' AND section_role = 'respondent'
    GROUP BY form_version_id
),
-- Materialized: the score is computed once per response, not once per respondent question.
scored AS MATERIALIZED (
    SELECT r.unit_id, r.form_version_id,
           date_trunc('month', r.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS month,
           r.channel, r.answers, k.positions,
           {score} AS score
    FROM responses r
    JOIN attributes k ON k.form_version_id = r.form_version_id
    LEFT JOIN score_rules v ON v.form_version_id = r.form_version_id
    WHERE {source}
)
INSERT INTO rollup_attribute_responses_month AS x
    (unit_id, form_version_id, month, channel, attribute_index, attribute_value, responses,
     score_n, score_sum, score_sum_sq)
SELECT s.unit_id, s.form_version_id, s.month, s.channel, k.position::int2,
       s.answers[k.position], count(*)::int4, count(s.score)::int4,
       coalesce(sum(s.score), 0), coalesce(sum(s.score * s.score), 0)
FROM scored s
CROSS JOIN LATERAL unnest(s.positions) AS k (position)
WHERE s.answers[k.position] IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6
ON CONFLICT (unit_id, form_version_id, month, channel, attribute_index, attribute_value)
DO UPDATE SET responses = x.responses + EXCLUDED.responses,
              score_n = x.score_n + EXCLUDED.score_n,
              score_sum = x.score_sum + EXCLUDED.score_sum,
              score_sum_sq = x.score_sum_sq + EXCLUDED.score_sum_sq

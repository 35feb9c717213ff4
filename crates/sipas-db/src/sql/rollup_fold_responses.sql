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
--
-- The rules of each form version are turned into arrays indexed by answer_index (weights,
-- NULL for items that are not criteria; positive codes, one row per item padded with 0, which
-- is never a valid answer), so that each response's score is computed from its own array
-- without a join per answer.
WITH items AS (
    SELECT fv.id AS form_version_id, g.answer_index, rr.weight,
           coalesce(rr.positive, '{}') AS positive
    FROM form_versions fv
    CROSS JOIN LATERAL generate_series(
        1, (SELECT coalesce(max(fi.answer_index), 0) FROM form_items fi
            WHERE fi.form_version_id = fv.id)) AS g (answer_index)
    LEFT JOIN rollup_rules rr
           ON rr.form_version_id = fv.id AND rr.answer_index = g.answer_index
),
widths AS (
    SELECT form_version_id, greatest(max(cardinality(positive)), 1) AS width
    FROM items
    GROUP BY form_version_id
),
versions AS MATERIALIZED (
    SELECT i.form_version_id,
           array_agg(i.weight ORDER BY i.answer_index) AS weights,
           array_agg(i.positive || array_fill(0::smallint, ARRAY[w.width - cardinality(i.positive)])
                     ORDER BY i.answer_index) AS positives
    FROM items i
    JOIN widths w USING (form_version_id)
    GROUP BY i.form_version_id
),
-- Materialized: the score is computed once per response, not once per aggregate using it.
scored AS MATERIALIZED (
    SELECT r.unit_id, r.form_version_id,
           (r.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day,
           r.channel,
           (SELECT coalesce(sum(v.weights[a.i]) FILTER (
                                WHERE a.value = ANY (v.positives[a.i:a.i])), 0)
                   / sum(v.weights[a.i])
            FROM unnest(r.answers) WITH ORDINALITY AS a (value, i)
            WHERE a.value > 0 AND v.weights[a.i] IS NOT NULL) AS score
    FROM responses r
    LEFT JOIN versions v ON v.form_version_id = r.form_version_id
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

-- The respondent score's rules per form version, as CTEs (no WITH), for the queries that score
-- responses (rollup_fold_responses.sql, filtered_responses.sql; `with_score` in
-- crates/sipas-db/src/stats.rs puts this text in their WITH clause) and score.sql, the score of
-- one response.
--
-- The rules of each form version are turned into arrays indexed by answer_index (weights,
-- NULL for items that are not criteria; positive codes, one row per item padded with 0, which
-- is never a valid answer), so that each response's score is computed from its own array
-- without a join per answer.
score_items AS (
    SELECT fv.id AS form_version_id, g.answer_index, rr.weight,
           coalesce(rr.positive, '{}') AS positive
    FROM form_versions fv
    CROSS JOIN LATERAL generate_series(
        1, (SELECT coalesce(max(fi.answer_index), 0) FROM form_items fi
            WHERE fi.form_version_id = fv.id)) AS g (answer_index)
    LEFT JOIN rollup_rules rr
           ON rr.form_version_id = fv.id AND rr.answer_index = g.answer_index
),
score_widths AS (
    SELECT form_version_id, greatest(max(cardinality(positive)), 1) AS width
    FROM score_items
    GROUP BY form_version_id
),
score_rules AS MATERIALIZED (
    SELECT i.form_version_id,
           array_agg(i.weight ORDER BY i.answer_index) AS weights,
           array_agg(i.positive || array_fill(0::smallint, ARRAY[w.width - cardinality(i.positive)])
                     ORDER BY i.answer_index) AS positives
    FROM score_items i
    JOIN score_widths w USING (form_version_id)
    GROUP BY i.form_version_id
)

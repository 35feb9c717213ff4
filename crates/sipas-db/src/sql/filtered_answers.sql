-- The answers of the responses meeting every condition of a filter (filtered_picked.sql) per
-- period ($6; NULL: the whole range), unit, item code and value, as stats_answers.sql gives
-- them from the rollups. Parameters as in filtered_picked.sql.
WITH {picked},
grouped AS (
    SELECT r.period, r.unit_id, r.form_version_id, a.answer_index, a.value, count(*) AS n
    FROM (
        -- OFFSET 0: the period is computed once per response, not once per answer.
        SELECT * FROM picked
        WHERE pattern = (1 << cardinality($7::text[])) - 1
        OFFSET 0
    ) r
    CROSS JOIN LATERAL unnest(r.answers) WITH ORDINALITY AS a (value, answer_index)
    WHERE a.value IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5
)
SELECT g.period, g.unit_id, fi.code AS item_code, g.value, sum(g.n)::int8 AS n
FROM grouped g
JOIN form_items fi ON fi.form_version_id = g.form_version_id AND fi.answer_index = g.answer_index
GROUP BY g.period, g.unit_id, fi.code, g.value
ORDER BY g.period, g.unit_id, fi.code, g.value

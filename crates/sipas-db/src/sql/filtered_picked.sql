-- The responses a filtered figure is computed from, as CTEs (no WITH) for
-- filtered_responses.sql and filtered_answers.sql (`filtered_sql` in crates/sipas-db/src/stats.rs
-- puts this text in their WITH clause): the responses to the versions of form $1 submitted on
-- Vietnam's days $2..$3 (included), of the units $4 (NULL: all) and channel $5 (NULL: all),
-- exactly those the rollups hold (folded: id up to the watermark; never an excluded one), each
-- with its period ($6: 'month', 'quarter' or 'year'; NULL: none) and its pattern: bit i set
-- when the response meets condition i + 1 of the filter, the answer $8[i + 1] to the item $7[i + 1].
-- The conditions are bound as arrays, never written into the text: `{pattern}` is a plain
-- expression with one term per condition, `(r.answers[k.positions[i]] = $8[i]) << (i - 1)`,
-- written by `filtered_sql` from their number (a subquery per response cost more than all the
-- rest of the picking).
conditions AS (
    -- Per version of the form, the answer_index of each condition's item, in the conditions'
    -- order: NULL where the version lacks the item (no response to it meets that condition).
    SELECT fv.id AS form_version_id,
           array_agg(fi.answer_index ORDER BY c.ord) AS positions
    FROM form_versions fv
    CROSS JOIN unnest($7::text[]) WITH ORDINALITY AS c (code, ord)
    LEFT JOIN form_items fi ON fi.form_version_id = fv.id AND fi.code = c.code
    WHERE fv.form_id = $1
    GROUP BY fv.id
),
picked AS (
    SELECT r.unit_id, r.form_version_id, r.answers,
           CASE WHEN $6::text IS NOT NULL
                THEN date_trunc($6, r.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
           END AS period,
           {pattern} AS pattern
    FROM responses r
    JOIN conditions k ON k.form_version_id = r.form_version_id
    WHERE r.submitted_at >= $2::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
      AND r.submitted_at < ($3 + 1)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
      AND ($4::int4[] IS NULL OR r.unit_id = ANY ($4))
      AND ($5::text IS NULL OR r.channel = $5)
      AND r.id <= (SELECT last_response_id FROM rollup_state)
      AND NOT {excluded}
)

-- The rules the rollups are folded with, and month totals of the rollups.

-- What the rollups need to know about each coded answer of each form version, derived from
-- form_items and the stored form definition (never from the files, which may have changed).
--
-- One row per choice item (form_version_id, answer_index):
--   item_code, section_code, section_role  as in form_items;
--   scale, not_applicable, codes, positive   from the definition: the item's scale, whether it
--                                             offers "not applicable", the scale's codes in
--                                             their canonical order, its positive codes
--                                             ("Hài lòng" + "Rất hài lòng", ...);
--   criterion                                 a choice item of a section with role "factor";
--   factor_size                               criteria in the item's factor (NULL otherwise);
--   factors                                   factors of the form (sections with a criterion);
--   weight                                    the criterion's weight in a respondent's own
--                                             score, w = 1 / (factors * factor_size) under the
--                                             rule "mean-of-factor-indices" (see src/stats);
--                                             NULL for other items, and for every item of a
--                                             form whose index rule is another one (no score is
--                                             computed until that rule is added here).
-- The respondent score built from these weights is computed by src/db/sql/rollup_fold_*.sql.
CREATE VIEW rollup_rules AS
WITH choice AS (
    SELECT fi.form_version_id, fi.answer_index, fi.code AS item_code, fi.section_code,
           fi.section_role, fi.section_role = 'factor' AS criterion
    FROM form_items fi
    WHERE fi.kind = 'choice'
),
factor_sizes AS (
    SELECT form_version_id, section_code, count(*)::int AS factor_size
    FROM choice
    WHERE criterion
    GROUP BY form_version_id, section_code
),
factor_counts AS (
    SELECT form_version_id, count(*)::int AS factors
    FROM factor_sizes
    GROUP BY form_version_id
)
SELECT c.form_version_id,
       c.answer_index,
       c.item_code,
       c.section_code,
       c.section_role,
       d.item -> 'kind' ->> 'scale' AS scale,
       coalesce((d.item -> 'kind' ->> 'not_applicable')::boolean, false) AS not_applicable,
       ARRAY(
           SELECT (o.option ->> 'code')::smallint
           FROM jsonb_array_elements(
                    fv.definition -> 'scales' -> (d.item -> 'kind' ->> 'scale') -> 'options')
                WITH ORDINALITY AS o (option, n)
           ORDER BY o.n
       ) AS codes,
       ARRAY(
           SELECT p.code::smallint
           FROM jsonb_array_elements_text(
                    fv.definition -> 'scales' -> (d.item -> 'kind' ->> 'scale') -> 'positive')
                WITH ORDINALITY AS p (code, n)
           ORDER BY p.n
       ) AS positive,
       c.criterion,
       fs.factor_size,
       coalesce(fc.factors, 0) AS factors,
       CASE WHEN c.criterion AND fv.definition ->> 'index' = 'mean-of-factor-indices'
            THEN 1.0::float8 / (fc.factors * fs.factor_size)
       END AS weight
FROM choice c
JOIN form_versions fv ON fv.id = c.form_version_id
LEFT JOIN factor_sizes fs
       ON fs.form_version_id = c.form_version_id AND fs.section_code = c.section_code AND c.criterion
LEFT JOIN factor_counts fc ON fc.form_version_id = c.form_version_id
CROSS JOIN LATERAL (
    SELECT jsonb_path_query_first(
               fv.definition,
               '$.sections[*].items[*] ? (@.code == $code)',
               jsonb_build_object('code', c.item_code)) AS item
) d;

COMMENT ON VIEW rollup_rules IS
    'Per form version and answer_index: item, section, role, criterion weight and positive codes (for the rollups).';

-- Month totals of the rollups: the counts of rollup_answers and rollup_responses summed per
-- calendar month of `day` (Vietnam's time), kept by the same refresh in the same transaction
-- (src/db/rollup.rs). A query over a long range reads whole months from here and only the
-- days at its edges from the day tables: a year is 12 rows per unit, form version, channel,
-- item and value instead of up to 365, so the district overview stays fast whatever the
-- number of responses.
CREATE TABLE rollup_answers_month (
    unit_id         integer NOT NULL REFERENCES units (id),
    form_version_id integer NOT NULL REFERENCES form_versions (id),
    -- The first day of the month.
    month           date NOT NULL CHECK (extract(day FROM month) = 1),
    channel         text NOT NULL,
    answer_index    smallint NOT NULL,
    value           smallint NOT NULL,
    n               integer NOT NULL CHECK (n > 0),
    PRIMARY KEY (unit_id, form_version_id, month, channel, answer_index, value)
);
CREATE INDEX rollup_answers_month_month_idx ON rollup_answers_month (month);

CREATE TABLE rollup_responses_month (
    unit_id         integer NOT NULL REFERENCES units (id),
    form_version_id integer NOT NULL REFERENCES form_versions (id),
    month           date NOT NULL CHECK (extract(day FROM month) = 1),
    channel         text NOT NULL,
    responses       integer NOT NULL CHECK (responses > 0),
    score_n         integer NOT NULL DEFAULT 0,
    score_sum       double precision NOT NULL DEFAULT 0,
    score_sum_sq    double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (unit_id, form_version_id, month, channel)
);
CREATE INDEX rollup_responses_month_month_idx ON rollup_responses_month (month);

-- Existing rollups (if any) were folded without month totals: start the rollups afresh, the
-- next refresh folds every response again.
TRUNCATE rollup_answers, rollup_responses;
UPDATE rollup_state SET last_response_id = 0, refreshed_at = NULL;

-- The respondent score of the response `r` under the rules `v` (a row of score_rules.sql's
-- score_rules): over the criteria answered validly (not NULL, not 0 = "not applicable"),
-- Σ w·[answer is a positive code] / Σ w; NULL without any (crates/sipas-core/src/stats,
-- `respondent_score`). An expression, put in by `with_score` (crates/sipas-db/src/stats.rs).
(SELECT coalesce(sum(v.weights[a.i]) FILTER (
                     WHERE a.value = ANY (v.positives[a.i:a.i])), 0)
        / sum(v.weights[a.i])
 FROM unnest(r.answers) WITH ORDINALITY AS a (value, i)
 WHERE a.value > 0 AND v.weights[a.i] IS NOT NULL)

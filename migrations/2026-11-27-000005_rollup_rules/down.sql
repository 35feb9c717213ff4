DROP TABLE rollup_responses_month;
DROP TABLE rollup_answers_month;
DROP VIEW rollup_rules;

DROP VIEW rollup_rules;

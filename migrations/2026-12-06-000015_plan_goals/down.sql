DROP TABLE plan_goals;

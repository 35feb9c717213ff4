DROP TABLE response_reviews;
DROP TABLE response_flags;
DROP TABLE fraud_rules;
ALTER TABLE desks DROP COLUMN opening_hours;

DROP TABLE alert_state;
DROP TABLE alert_events;
DROP TABLE alert_subscriptions;

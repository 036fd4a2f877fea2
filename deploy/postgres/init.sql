-- Runs once, when the TimescaleDB container initialises an empty data directory (compose and Kubernetes
-- mount this file into /docker-entrypoint-initdb.d). The services migrate their own tables at start-up;
-- this only gives them TimescaleDB and the telemetry schema, which the ingestor fills with hypertables.
CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE SCHEMA IF NOT EXISTS telemetry AUTHORIZATION CURRENT_USER;

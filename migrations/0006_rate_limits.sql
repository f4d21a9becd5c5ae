-- Failure counters shared by every instance, so limits hold behind a load balancer.
CREATE TABLE rate_limits (
    key          TEXT PRIMARY KEY,
    failures     BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);
CREATE INDEX rate_limits_window ON rate_limits(window_start);

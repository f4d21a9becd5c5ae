-- The apps allowed to ask POST /api/v1/introspect about a token (RFC 7662), made by
-- `latchkey client add`. The secret is kept only as its SHA-256.
CREATE TABLE introspection_clients (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

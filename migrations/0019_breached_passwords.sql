-- The breached-password list (`latchkey breached import`): one filter, replaced whole by
-- each import, shared by every instance. `version` changes with each import, so servers
-- see a new list with one small read; the fingerprints are split in chunks (PostgreSQL's
-- bytea holds at most 1 GB, a billion hashes take 2.25 GB).
CREATE TABLE breached_list (
    id                   BIGINT PRIMARY KEY,
    version              TEXT NOT NULL,
    hashes               BIGINT NOT NULL,
    imported_at          BIGINT NOT NULL,
    seed                 TEXT NOT NULL,
    segment_length       BIGINT NOT NULL,
    segment_length_mask  BIGINT NOT NULL,
    segment_count_length BIGINT NOT NULL
);

CREATE TABLE breached_chunks (
    seq  BIGINT PRIMARY KEY,
    data BYTEA NOT NULL
);

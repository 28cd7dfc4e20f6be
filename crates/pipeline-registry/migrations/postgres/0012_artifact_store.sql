-- Artifacts stored in the registry itself, for registries without a shared
-- folder (PostgreSQL): one row per file, keyed by its path as
-- ArtifactRecord.path writes it ('artifacts/<run>/<file>'), its size, its
-- sha256 and the size of its chunks; the bytes in numbered chunks, so that
-- no row holds a whole file (a BYTEA value is at most 1 GiB, and every row
-- read is held whole in memory). A SQLite registry leaves these tables
-- empty; both backends have one schema.

CREATE TABLE artifact_blobs (
    path        TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    run_id      TEXT COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    bytes       BIGINT NOT NULL,
    sha256      TEXT COLLATE "C" NOT NULL,
    chunk_bytes BIGINT NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL
);

-- Deleting a run cascades here: without this index each delete would scan
-- every blob.
CREATE INDEX artifact_blobs_run_id ON artifact_blobs (run_id);

CREATE TABLE artifact_chunks (
    path  TEXT COLLATE "C" NOT NULL REFERENCES artifact_blobs (path) ON DELETE CASCADE,
    seq   BIGINT NOT NULL,
    data  BYTEA NOT NULL,
    PRIMARY KEY (path, seq)
);

-- Model weights and checkpoints hardly compress: keep the chunks out of
-- line without trying (EXTERNAL), which also lets a reader fetch a slice.
ALTER TABLE artifact_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

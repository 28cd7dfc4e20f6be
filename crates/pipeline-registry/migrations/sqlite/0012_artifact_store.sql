-- Artifacts stored in the registry itself, for registries without a shared
-- folder (PostgreSQL): one row per file, keyed by its path as
-- ArtifactRecord.path writes it ('artifacts/<run>/<file>'), its size, its
-- sha256 and the size of its chunks; the bytes in numbered chunks, so that
-- no row holds a whole file. A SQLite registry keeps its artifacts as files
-- beside the database and leaves these tables empty; they exist here so
-- that both backends have one schema.
--
-- The chunks keep a rowid (no WITHOUT ROWID): SQLite advises it for rows
-- larger than a twentieth of a page, which every chunk is.

CREATE TABLE artifact_blobs (
    path        TEXT PRIMARY KEY NOT NULL,
    run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    bytes       INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    chunk_bytes INTEGER NOT NULL,
    created_at  TEXT NOT NULL
);

-- Deleting a run cascades here: without this index each delete would scan
-- every blob.
CREATE INDEX artifact_blobs_run_id ON artifact_blobs (run_id);

CREATE TABLE artifact_chunks (
    path  TEXT NOT NULL REFERENCES artifact_blobs (path) ON DELETE CASCADE,
    seq   INTEGER NOT NULL,
    data  BLOB NOT NULL,
    PRIMARY KEY (path, seq)
);

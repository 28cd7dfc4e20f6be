-- An artifact written to an object store (`--artifacts file:///… | s3://…`):
-- the store's URL; its path (`artifacts/<run>/<file>`) is under the store's
-- prefix. NULL: the registry's own store (files beside a SQLite registry,
-- chunks in a PostgreSQL one), as for every artifact recorded before.
ALTER TABLE artifacts ADD COLUMN store TEXT COLLATE "C";

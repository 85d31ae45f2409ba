-- CSV imports: a file is read and checked into a preview first; storing it is
-- a separate step that reports its progress here, so any instance can show it.
CREATE TABLE imports (
    id          BIGSERIAL PRIMARY KEY,
    created_by  TEXT NOT NULL REFERENCES users (id),
    kind        TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('invalid', 'ready', 'storing', 'done', 'failed')),
    -- What is wrong with the file as a whole (status invalid, or failed).
    problem     TEXT,
    -- The rows as records API records, and the file's line of each; emptied once stored.
    records     JSONB NOT NULL DEFAULT '[]',
    lines       BIGINT[] NOT NULL DEFAULT '{}',
    -- The records validation's errors: [{"line": L, "id": "...", "message": "..."}].
    errors      JSONB NOT NULL DEFAULT '[]',
    columns     TEXT[] NOT NULL DEFAULT '{}',
    total       INT NOT NULL DEFAULT 0,
    stored      INT NOT NULL DEFAULT 0,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX imports_created_idx ON imports (created_at DESC);

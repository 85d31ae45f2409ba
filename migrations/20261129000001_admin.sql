-- Administration: one-time invite links (only their SHA-256 is kept), a
-- team's manager, and a per-display chime for won deals.
CREATE TABLE invites (
    token_sha256  BYTEA PRIMARY KEY CHECK (length(token_sha256) = 32),
    user_id       TEXT NOT NULL REFERENCES users (id),
    created_by    TEXT NOT NULL REFERENCES users (id),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at    TIMESTAMPTZ NOT NULL,
    used_at       TIMESTAMPTZ
);
CREATE INDEX invites_user_idx ON invites (user_id);

ALTER TABLE teams ADD COLUMN manager_id TEXT REFERENCES users (id);

ALTER TABLE displays ADD COLUMN sound BOOLEAN NOT NULL DEFAULT FALSE;

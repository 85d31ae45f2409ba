-- TV displays: a paired TV holds a long-lived, revocable, read-only display
-- token in a cookie; only its SHA-256 is kept. A pairing is the short code a
-- TV shows until a manager binds it to a display.
CREATE TABLE displays (
    id              BIGSERIAL PRIMARY KEY,
    name            TEXT NOT NULL CHECK (name <> ''),
    token_sha256    BYTEA NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    names           TEXT NOT NULL DEFAULT 'full' CHECK (names IN ('full', 'initials', 'none')),
    rotate_seconds  INTEGER NOT NULL DEFAULT 15 CHECK (rotate_seconds BETWEEN 5 AND 600),
    scope           TEXT NOT NULL DEFAULT 'org' CHECK (scope = 'org' OR scope LIKE 'team:%'),
    created_by      TEXT NOT NULL REFERENCES users (id),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen_at    TIMESTAMPTZ,
    revoked_at      TIMESTAMPTZ
);

CREATE TABLE tv_pairings (
    code            TEXT PRIMARY KEY,
    secret_sha256   BYTEA NOT NULL UNIQUE,
    -- Set when a manager enters the code; handed to that TV once, then the row goes.
    display_token   TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

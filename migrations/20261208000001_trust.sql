-- Trust (issue 3 of 9). A user's sessions end together: each remembers the
-- user's epoch at sign-in, and deactivation, a password change or a reset moves
-- it on, so no older session works again (reactivation does not revive them).
ALTER TABLE users ADD COLUMN session_epoch BIGINT NOT NULL DEFAULT 0;

-- Failed sign-ins per account, shared by every instance and kept across restarts.
-- A failure is counted before the password is hashed; a success clears the row.
CREATE TABLE login_failures (
    account        TEXT PRIMARY KEY,
    failures       INTEGER NOT NULL,
    first_at       TIMESTAMPTZ NOT NULL,
    blocked_until  TIMESTAMPTZ
);

-- A paired TV's display token is the pairing secret it already holds in its
-- cookie: the database never has the token in clear, only its SHA-256 (which
-- the pairing row already kept). Pending pairings of the old kind are dropped
-- (a TV asks again within seconds).
DELETE FROM tv_pairings;
ALTER TABLE tv_pairings DROP COLUMN display_token;
ALTER TABLE tv_pairings ADD COLUMN paired BOOLEAN NOT NULL DEFAULT FALSE;

-- Notifications: the channels a team reads (Telegram, Slack, Microsoft Teams, email), the
-- moments worth telling (written by the scoring worker in the transaction of the change), and
-- the outbox of deliveries (one per moment and channel) the sender works through.

CREATE TABLE notify_channels (
    id            BIGSERIAL PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('telegram', 'slack', 'teams', 'email')),
    name          TEXT NOT NULL CHECK (name <> ''),
    -- NULL: the organisation's (admins); else one team's (its managers and admins).
    team_id       TEXT REFERENCES teams (id) ON DELETE CASCADE,
    -- A rep's own private Telegram chat (through the organisation's bot): their own news only.
    user_id       TEXT REFERENCES users (id) ON DELETE CASCADE,
    lang          TEXT NOT NULL DEFAULT 'ru' CHECK (lang IN ('ru', 'en')),
    names         TEXT NOT NULL DEFAULT 'full' CHECK (names IN ('full', 'initials')),
    -- The secret part, sealed with KPI_ARENA_SECRET_KEY: a bot token, a webhook address or an
    -- SMTP password. Never shown again, only its masked form (`secret_hint`).
    secret        BYTEA NOT NULL,
    secret_hint   TEXT NOT NULL,
    -- What is not secret: Telegram {"chat": id, "chat_title": …, "bot": username};
    -- email {"host", "port", "security": "starttls" | "tls" | "none", "user", "from", "to": […]}.
    settings      JSONB NOT NULL DEFAULT '{}',
    moments       TEXT[] NOT NULL,
    -- Won deals below this amount are not told (NULL: every won deal).
    min_amount    NUMERIC(18, 2) CHECK (min_amount >= 0),
    -- Local hours (the organisation's zone) in which nothing is sent; held until they end.
    quiet_from    SMALLINT CHECK (quiet_from BETWEEN 0 AND 23),
    quiet_to      SMALLINT CHECK (quiet_to BETWEEN 0 AND 23),
    -- Telegram: the one-time code a chat sends to the bot (`/start CODE`) to be bound.
    bind_code     TEXT UNIQUE,
    -- The service's pace: nothing is sent to this channel before then (its limits, a 429).
    next_send_at  TIMESTAMPTZ NOT NULL DEFAULT 'epoch',
    last_error    TEXT,
    last_error_at TIMESTAMPTZ,
    created_by    TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT arena_now(),
    CHECK ((quiet_from IS NULL) = (quiet_to IS NULL)),
    CHECK (user_id IS NULL OR (team_id IS NULL AND kind = 'telegram'))
);
CREATE UNIQUE INDEX notify_channels_personal ON notify_channels (user_id) WHERE user_id IS NOT NULL;

CREATE TABLE notify_moments (
    id         BIGSERIAL PRIMARY KEY,
    -- The idempotency key: a moment is told once however often its change is scored again
    -- (`won:<deal>`, `badge:<user>:<badge>`, `level:<user>:<n>`, `challenge:<id>:launched`, …).
    key        TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    -- Whom it is about, for a team's channels (NULL: the whole organisation's news).
    user_id    TEXT,
    team_id    TEXT,
    amount     NUMERIC(18, 2),
    data       JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT arena_now()
);

CREATE TABLE notify_outbox (
    id          BIGSERIAL PRIMARY KEY,
    channel_id  BIGINT NOT NULL REFERENCES notify_channels (id) ON DELETE CASCADE,
    moment_id   BIGINT NOT NULL REFERENCES notify_moments (id) ON DELETE CASCADE,
    state       TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed')),
    -- Not before: a burst's first moment waits a moment so that the rest fold into it.
    due_at      TIMESTAMPTZ NOT NULL,
    attempts    INT NOT NULL DEFAULT 0,
    reason      TEXT,
    sent_at     TIMESTAMPTZ,
    -- The message it went out in: the idempotency key of the folded message.
    message_key TEXT,
    UNIQUE (channel_id, moment_id)
);
-- The last leader told per challenge (`challenge:<id>:lead:<n>`).
CREATE INDEX notify_moments_leads ON notify_moments (key text_pattern_ops) WHERE kind = 'challenge_lead';
CREATE INDEX notify_moments_created ON notify_moments (created_at);
CREATE INDEX notify_outbox_queued ON notify_outbox (channel_id, due_at) WHERE state = 'queued';
CREATE INDEX notify_outbox_sent ON notify_outbox (sent_at) WHERE state <> 'queued';

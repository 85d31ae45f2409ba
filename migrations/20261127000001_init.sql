-- KPI Arena schema: one organisation per database. Record tables mirror the
-- record kinds of KPIS.md; each keeps the sender's external id as its key.

CREATE TABLE org_settings (
    id            BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
    name          TEXT NOT NULL DEFAULT 'KPI Arena',
    currency      TEXT NOT NULL DEFAULT 'RUB' CHECK (currency ~ '^[A-Z]{3}$'),
    time_zone     TEXT NOT NULL DEFAULT 'UTC',
    language      TEXT NOT NULL DEFAULT 'ru' CHECK (language IN ('ru', 'en')),
    demo_loaded   BOOLEAN NOT NULL DEFAULT FALSE
);
INSERT INTO org_settings DEFAULT VALUES;

CREATE TABLE teams (
    id          TEXT PRIMARY KEY CHECK (id <> ''),
    name        TEXT NOT NULL,
    region      TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id             TEXT PRIMARY KEY CHECK (id <> ''),
    name           TEXT NOT NULL,
    email          TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('rep', 'manager', 'admin')),
    team_id        TEXT REFERENCES teams (id),
    password_hash  TEXT,
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_team_idx ON users (team_id);

CREATE TABLE products (
    id          TEXT PRIMARY KEY CHECK (id <> ''),
    name        TEXT NOT NULL,
    price       NUMERIC(16, 2) NOT NULL CHECK (price >= 0),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE customers (
    id           TEXT PRIMARY KEY CHECK (id <> ''),
    name         TEXT NOT NULL,
    region       TEXT NOT NULL,
    owner_id     TEXT NOT NULL REFERENCES users (id),
    acquired_at  TIMESTAMPTZ NOT NULL,
    churned_at   TIMESTAMPTZ,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX customers_owner_idx ON customers (owner_id);

CREATE TABLE leads (
    id                TEXT PRIMARY KEY CHECK (id <> ''),
    owner_id          TEXT NOT NULL REFERENCES users (id),
    created_at        TIMESTAMPTZ NOT NULL,
    source            TEXT,
    cost              NUMERIC(16, 2) CHECK (cost >= 0),
    qualified_at      TIMESTAMPTZ,
    first_contact_at  TIMESTAMPTZ,
    followed_up_at    TIMESTAMPTZ,
    converted_at      TIMESTAMPTZ,
    customer_id       TEXT REFERENCES customers (id),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX leads_owner_created_idx ON leads (owner_id, created_at);

CREATE TABLE deals (
    id           TEXT PRIMARY KEY CHECK (id <> ''),
    owner_id     TEXT NOT NULL REFERENCES users (id),
    customer_id  TEXT REFERENCES customers (id),
    product_id   TEXT REFERENCES products (id),
    amount       NUMERIC(16, 2) NOT NULL CHECK (amount >= 0),
    deal_type    TEXT NOT NULL DEFAULT 'new' CHECK (deal_type IN ('new', 'upsell', 'cross_sell')),
    created_at   TIMESTAMPTZ NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('open', 'won', 'lost')),
    closed_at    TIMESTAMPTZ,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((status = 'open') = (closed_at IS NULL))
);
CREATE INDEX deals_owner_closed_idx ON deals (owner_id, closed_at) WHERE status = 'won';
CREATE INDEX deals_owner_created_idx ON deals (owner_id, created_at);

CREATE TABLE activities (
    id             TEXT PRIMARY KEY CHECK (id <> ''),
    owner_id       TEXT NOT NULL REFERENCES users (id),
    activity_type  TEXT NOT NULL CHECK (activity_type IN ('call', 'email', 'meeting', 'demo', 'message', 'other')),
    at             TIMESTAMPTZ NOT NULL,
    customer_id    TEXT REFERENCES customers (id),
    lead_id        TEXT REFERENCES leads (id),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX activities_owner_at_idx ON activities (owner_id, at);

CREATE TABLE meeting_requests (
    id           TEXT PRIMARY KEY CHECK (id <> ''),
    owner_id     TEXT NOT NULL REFERENCES users (id),
    proposed_at  TIMESTAMPTZ NOT NULL,
    outcome      TEXT NOT NULL CHECK (outcome IN ('pending', 'accepted', 'declined')),
    customer_id  TEXT REFERENCES customers (id),
    lead_id      TEXT REFERENCES leads (id),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX meeting_requests_owner_idx ON meeting_requests (owner_id, proposed_at);

CREATE TABLE feedback (
    id           TEXT PRIMARY KEY CHECK (id <> ''),
    owner_id     TEXT REFERENCES users (id),
    customer_id  TEXT REFERENCES customers (id),
    at           TIMESTAMPTZ NOT NULL,
    sentiment    TEXT NOT NULL CHECK (sentiment IN ('positive', 'neutral', 'negative')),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE costs (
    id          TEXT PRIMARY KEY CHECK (id <> ''),
    at          DATE NOT NULL,
    category    TEXT NOT NULL CHECK (category IN ('marketing', 'sales')),
    amount      NUMERIC(16, 2) NOT NULL CHECK (amount >= 0),
    team_id     TEXT REFERENCES teams (id),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE competitor_prices (
    id          TEXT PRIMARY KEY CHECK (id <> ''),
    competitor  TEXT NOT NULL,
    product_id  TEXT NOT NULL REFERENCES products (id),
    price       NUMERIC(16, 2) NOT NULL CHECK (price >= 0),
    at          TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- API tokens: only the SHA-256 of the token is kept; the token is shown once.
CREATE TABLE api_tokens (
    id            BIGSERIAL PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label         TEXT NOT NULL CHECK (label <> ''),
    token_sha256  BYTEA NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ
);

CREATE TABLE targets (
    kpi          TEXT NOT NULL,
    scope        TEXT NOT NULL CHECK (scope = 'org' OR scope LIKE 'team:%' OR scope LIKE 'rep:%'),
    period       TEXT NOT NULL,
    value        DOUBLE PRECISION NOT NULL,
    set_by       TEXT REFERENCES users (id),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (kpi, scope, period)
);

-- Browser sessions live in tower_sessions.session, created by the session store's own migration.

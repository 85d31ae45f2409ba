-- CRM connectors: a CRM's deals enter through the one ingest path. One connector per CRM kind.
CREATE TABLE connectors (
    id               BIGSERIAL PRIMARY KEY,
    kind             TEXT NOT NULL UNIQUE CHECK (kind IN ('amocrm', 'bitrix24', 'hubspot', 'pipedrive')),
    base_url         TEXT NOT NULL,
    -- The CRM's token, sealed with KPI_ARENA_SECRET_KEY (XChaCha20-Poly1305: nonce, then ciphertext).
    secret           BYTEA NOT NULL,
    -- The secret in the webhook's address (amoCRM and Bitrix24 do not sign their webhooks;
    -- Pipedrive's webhooks carry it as their HTTP Basic password).
    hook_key         TEXT NOT NULL,
    -- What the CRM signs or marks its webhooks with, sealed like `secret`: Bitrix24's
    -- application token, HubSpot's client secret. NULL for amoCRM and Pipedrive.
    hook_secret      BYTEA,
    -- The CRM account the webhooks must name (amoCRM: account id).
    account          TEXT NOT NULL DEFAULT '',
    -- Stage overrides: "pipeline:stage" -> open, won or lost (the CRM's own meaning otherwise).
    stage_map        JSONB NOT NULL DEFAULT '{}',
    -- The CRM's stages as last read (at saving, and at each reconcile): what the page lists.
    stages           JSONB NOT NULL DEFAULT '[]',
    backfill_state   TEXT NOT NULL DEFAULT 'idle' CHECK (backfill_state IN ('idle', 'running', 'done', 'failed')),
    backfill_from    TIMESTAMPTZ,
    -- Where the backfill resumes: the CRM's page cursor.
    backfill_cursor  TEXT,
    backfill_done    BIGINT NOT NULL DEFAULT 0,
    -- An instance reading the backfill's next page holds it until then (the CRM is called
    -- outside any transaction; the page is stored only if the cursor has not moved meanwhile).
    backfill_lease_until TIMESTAMPTZ,
    backfill_total   BIGINT,
    -- The modification time up to which the periodic reconcile has read the CRM.
    reconciled_to    TIMESTAMPTZ,
    reconciled_at    TIMESTAMPTZ,
    last_event_at    TIMESTAMPTZ,
    last_error       TEXT,
    last_error_at    TIMESTAMPTZ,
    created_by       TEXT NOT NULL REFERENCES users (id),
    created_at       TIMESTAMPTZ NOT NULL DEFAULT arena_now()
);

-- The CRM's users, and who each is here (matched by email, or chosen by an admin, or ignored).
CREATE TABLE connector_people (
    connector_id  BIGINT NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    crm_user      TEXT NOT NULL,
    name          TEXT NOT NULL,
    email         TEXT,
    user_id       TEXT REFERENCES users (id),
    ignored       BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (connector_id, crm_user)
);

-- Every CRM deal seen: its newest version (an older one never replaces it), and whether it
-- is stored as a record or waits for its owner to be mapped.
CREATE TABLE connector_items (
    connector_id  BIGINT NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    crm_id        TEXT NOT NULL,
    modified_at   TIMESTAMPTZ NOT NULL,
    crm_user      TEXT NOT NULL,
    deal          JSONB NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('stored', 'needs_mapping', 'ignored')),
    record_id     TEXT,
    PRIMARY KEY (connector_id, crm_id)
);
CREATE INDEX connector_items_waiting_idx ON connector_items (connector_id, crm_user) WHERE state = 'needs_mapping';

-- Webhook deliveries, acknowledged at once and done by the connector runner. `key` deduplicates
-- a delivery that arrives twice.
CREATE TABLE connector_events (
    id            BIGSERIAL PRIMARY KEY,
    connector_id  BIGINT NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    key           TEXT NOT NULL,
    crm_id        TEXT NOT NULL,
    -- The deal as the webhook described it, when it did (else the runner reads it from the CRM).
    deal          JSONB,
    received_at   TIMESTAMPTZ NOT NULL DEFAULT arena_now(),
    state         TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'done', 'failed')),
    attempts      INT NOT NULL DEFAULT 0,
    reason        TEXT,
    done_at       TIMESTAMPTZ,
    UNIQUE (connector_id, key)
);
CREATE INDEX connector_events_queued_idx ON connector_events (id) WHERE state = 'queued';
CREATE INDEX connector_events_received_idx ON connector_events (connector_id, received_at);

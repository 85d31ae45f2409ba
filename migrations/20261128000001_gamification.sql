-- Gamification: points rules and their ledger, badges, challenges, and what
-- the anti-gaming signals need (when a deal's status changed, when an activity was logged).

-- A rule turns one KPI (or one kind of event behind a KPI) into points.
--   per_unit:   `points` for every unit of `basis` (a measure: won_deals, revenue, touchpoints, ...);
--               money measures count whole multiples of `per`.
--   attainment: `points` × attainment % of the rep's target for `period_kind`, attainment capped at `attainment_cap`.
--   threshold:  `points` once attainment reaches `threshold` % in a `period_kind`.
-- `cap_points` caps what the rule gives per `cap_per` (per_unit) or per period (the others).
-- Rules are never deleted, only deactivated: the ledger keeps naming them.
CREATE TABLE points_rules (
    id              BIGSERIAL PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('per_unit', 'attainment', 'threshold')),
    basis           TEXT NOT NULL CHECK (basis <> ''),
    points          BIGINT NOT NULL CHECK (points > 0),
    per             NUMERIC(16, 2) NOT NULL DEFAULT 1 CHECK (per > 0),
    threshold       DOUBLE PRECISION CHECK (threshold > 0),
    attainment_cap  DOUBLE PRECISION CHECK (attainment_cap > 0),
    period_kind     TEXT CHECK (period_kind IN ('week', 'month', 'quarter', 'year')),
    cap_points      BIGINT CHECK (cap_points > 0),
    cap_per         TEXT CHECK (cap_per IN ('day', 'week', 'month')),
    label           TEXT NOT NULL CHECK (label <> ''),
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    updated_by      TEXT REFERENCES users (id),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((kind = 'per_unit') = (period_kind IS NULL)),
    CHECK (kind <> 'threshold' OR threshold IS NOT NULL),
    CHECK (kind <> 'per_unit' OR cap_per IS NOT NULL OR cap_points IS NULL)
);

-- The points ledger: append-only. An entry's identity is (user, rule, key, at);
-- when the data behind it changes, a reversal or adjustment row is appended,
-- so the sum of a user's rows is always their points.
CREATE TABLE points_entries (
    id          BIGSERIAL PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id),
    rule_id     BIGINT NOT NULL REFERENCES points_rules (id),
    key         TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    -- Entries of period rules (attainment, threshold) cover [at, period_end).
    period_end  TIMESTAMPTZ,
    points      BIGINT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('award', 'reversal', 'adjustment')),
    reason      TEXT NOT NULL,
    records     JSONB NOT NULL DEFAULT '[]',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX points_entries_user_at_idx ON points_entries (user_id, at);
CREATE INDEX points_entries_records_idx ON points_entries USING gin (records jsonb_path_ops);

-- Badges earned: catalogue badges (`first_win`, ...) and challenge wins (`challenge:<id>`).
CREATE TABLE badge_awards (
    user_id     TEXT NOT NULL REFERENCES users (id),
    badge       TEXT NOT NULL,
    earned_at   TIMESTAMPTZ NOT NULL,
    detail      TEXT NOT NULL,
    records     JSONB NOT NULL DEFAULT '[]',
    awarded_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, badge)
);

CREATE TABLE challenges (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT NOT NULL CHECK (name <> ''),
    kind          TEXT NOT NULL CHECK (kind IN ('race', 'top_n', 'head_to_head', 'team_vs_team')),
    -- A KPI id, or `points`.
    basis         TEXT NOT NULL,
    goal          DOUBLE PRECISION,
    top_n         INTEGER CHECK (top_n > 0),
    starts_at     TIMESTAMPTZ NOT NULL,
    ends_at       TIMESTAMPTZ NOT NULL,
    -- User ids, or team ids for team_vs_team.
    participants  TEXT[] NOT NULL,
    prize         TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'live', 'finished')),
    winners       TEXT[] NOT NULL DEFAULT '{}',
    created_by    TEXT NOT NULL REFERENCES users (id),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at   TIMESTAMPTZ,
    CHECK (ends_at > starts_at),
    CHECK (kind <> 'race' OR goal IS NOT NULL),
    CHECK (kind <> 'top_n' OR top_n IS NOT NULL)
);

-- Every status a deal has had and when it was stored: "won, then lost within a week" needs history.
CREATE TABLE deal_status_log (
    id          BIGSERIAL PRIMARY KEY,
    deal_id     TEXT NOT NULL,
    owner_id    TEXT NOT NULL,
    status      TEXT NOT NULL,
    closed_at   TIMESTAMPTZ,
    changed_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX deal_status_log_deal_idx ON deal_status_log (deal_id, changed_at);

CREATE FUNCTION log_deal_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM NEW.status THEN
        INSERT INTO deal_status_log (deal_id, owner_id, status, closed_at)
        VALUES (NEW.id, NEW.owner_id, NEW.status, NEW.closed_at);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER deals_status_log AFTER INSERT OR UPDATE OF status ON deals
    FOR EACH ROW EXECUTE FUNCTION log_deal_status();

-- When an activity was first stored (re-sending it does not move this).
ALTER TABLE activities ADD COLUMN logged_at TIMESTAMPTZ NOT NULL DEFAULT now();

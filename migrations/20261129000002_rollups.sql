-- Additive rollups: per owner and local day (the organisation's time zone),
-- the counts and sums the KPIs add up, so that a period is a sum over its days.
-- Row owner_id '' holds the whole organisation's day.
--
-- Each record table has one facts function: a record → the (owner, instant,
-- measures) it contributes, one row per timestamp it is counted at. The rollup
-- is the facts summed per (owner, local day of the instant). The same function
-- serves the statement triggers (which add new rows' facts and subtract old
-- rows') and the engine's exact raw path for partial days, so the two cannot
-- disagree. What cannot be summed (the response-time median, distinct
-- customers, anything conditioned on `asof` as well as on P) stays raw.

CREATE TABLE kpi_deals_day (
    owner_id      TEXT NOT NULL,
    day           DATE NOT NULL,
    created       BIGINT NOT NULL DEFAULT 0,  -- deals created
    ended         BIGINT NOT NULL DEFAULT 0,  -- closed deals, at greatest(created_at, closed_at)
    won           BIGINT NOT NULL DEFAULT 0,  -- won, at closed_at
    won_sum       NUMERIC NOT NULL DEFAULT 0,
    lost          BIGINT NOT NULL DEFAULT 0,
    won_upsell    BIGINT NOT NULL DEFAULT 0,  -- won upsell or cross-sell
    won_new       BIGINT NOT NULL DEFAULT 0,
    won_cust_sum  NUMERIC NOT NULL DEFAULT 0, -- won amounts naming a customer
    PRIMARY KEY (owner_id, day)
);

CREATE FUNCTION kpi_facts_deals(d deals)
RETURNS TABLE (owner_id TEXT, at TIMESTAMPTZ, created BIGINT, ended BIGINT, won BIGINT, won_sum NUMERIC,
               lost BIGINT, won_upsell BIGINT, won_new BIGINT, won_cust_sum NUMERIC)
LANGUAGE sql IMMUTABLE AS $$
    SELECT d.owner_id, d.created_at, 1::bigint, 0::bigint, 0::bigint, 0::numeric, 0::bigint, 0::bigint, 0::bigint, 0::numeric
    UNION ALL
    SELECT d.owner_id, d.closed_at, 0, 0, (d.status = 'won')::int,
           CASE WHEN d.status = 'won' THEN d.amount ELSE 0 END,
           (d.status = 'lost')::int,
           (d.status = 'won' AND d.deal_type IN ('upsell', 'cross_sell'))::int,
           (d.status = 'won' AND d.deal_type = 'new')::int,
           CASE WHEN d.status = 'won' AND d.customer_id IS NOT NULL THEN d.amount ELSE 0 END
    WHERE d.status <> 'open'
    UNION ALL
    SELECT d.owner_id, greatest(d.created_at, d.closed_at), 0, 1, 0, 0, 0, 0, 0, 0
    WHERE d.status <> 'open'
$$;

CREATE TABLE kpi_leads_day (
    owner_id        TEXT NOT NULL,
    day             DATE NOT NULL,
    created         BIGINT NOT NULL DEFAULT 0,
    created_conv    BIGINT NOT NULL DEFAULT 0,  -- created here, converted at any time
    qualified       BIGINT NOT NULL DEFAULT 0,
    qualified_conv  BIGINT NOT NULL DEFAULT 0,  -- qualified here, converted at any time
    converted       BIGINT NOT NULL DEFAULT 0,
    converted_cost  NUMERIC NOT NULL DEFAULT 0,
    contacted       BIGINT NOT NULL DEFAULT 0,  -- first contact here
    contacted_fu    BIGINT NOT NULL DEFAULT 0,  -- first contact here, followed up at any time
    PRIMARY KEY (owner_id, day)
);

CREATE FUNCTION kpi_facts_leads(l leads)
RETURNS TABLE (owner_id TEXT, at TIMESTAMPTZ, created BIGINT, created_conv BIGINT, qualified BIGINT,
               qualified_conv BIGINT, converted BIGINT, converted_cost NUMERIC, contacted BIGINT, contacted_fu BIGINT)
LANGUAGE sql IMMUTABLE AS $$
    SELECT l.owner_id, l.created_at, 1::bigint, (l.converted_at IS NOT NULL)::int::bigint, 0::bigint, 0::bigint,
           0::bigint, 0::numeric, 0::bigint, 0::bigint
    UNION ALL
    SELECT l.owner_id, l.qualified_at, 0, 0, 1, (l.converted_at IS NOT NULL)::int, 0, 0, 0, 0
    WHERE l.qualified_at IS NOT NULL
    UNION ALL
    SELECT l.owner_id, l.converted_at, 0, 0, 0, 0, 1, coalesce(l.cost, 0), 0, 0
    WHERE l.converted_at IS NOT NULL
    UNION ALL
    SELECT l.owner_id, l.first_contact_at, 0, 0, 0, 0, 0, 0, 1, (l.followed_up_at IS NOT NULL)::int
    WHERE l.first_contact_at IS NOT NULL
$$;

CREATE TABLE kpi_customers_day (
    owner_id         TEXT NOT NULL,
    day              DATE NOT NULL,
    acquired         BIGINT NOT NULL DEFAULT 0,
    acquired_epoch   NUMERIC NOT NULL DEFAULT 0,  -- sum of acquired_at as epoch seconds
    acquired_churned BIGINT NOT NULL DEFAULT 0,  -- acquired here, churned at any time
    ended            BIGINT NOT NULL DEFAULT 0,  -- churned, at greatest(acquired_at, churned_at)
    ended_epoch      NUMERIC NOT NULL DEFAULT 0,  -- their acquired_at as epoch seconds
    ended_life       NUMERIC NOT NULL DEFAULT 0,  -- their churned_at - acquired_at in seconds
    PRIMARY KEY (owner_id, day)
);

CREATE FUNCTION kpi_facts_customers(c customers)
RETURNS TABLE (owner_id TEXT, at TIMESTAMPTZ, acquired BIGINT, acquired_epoch NUMERIC, acquired_churned BIGINT,
               ended BIGINT, ended_epoch NUMERIC, ended_life NUMERIC)
LANGUAGE sql IMMUTABLE AS $$
    SELECT c.owner_id, c.acquired_at, 1::bigint, extract(epoch FROM c.acquired_at),
           (c.churned_at IS NOT NULL)::int::bigint, 0::bigint, 0::numeric, 0::numeric
    UNION ALL
    SELECT c.owner_id, greatest(c.acquired_at, c.churned_at), 0, 0, 0, 1, extract(epoch FROM c.acquired_at),
           extract(epoch FROM c.churned_at) - extract(epoch FROM c.acquired_at)
    WHERE c.churned_at IS NOT NULL
$$;

CREATE TABLE kpi_activities_day (
    owner_id       TEXT NOT NULL,
    day            DATE NOT NULL,
    touchpoints    BIGINT NOT NULL DEFAULT 0,
    with_customer  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (owner_id, day)
);

CREATE FUNCTION kpi_facts_activities(a activities)
RETURNS TABLE (owner_id TEXT, at TIMESTAMPTZ, touchpoints BIGINT, with_customer BIGINT)
LANGUAGE sql IMMUTABLE AS $$
    SELECT a.owner_id, a.at, 1::bigint, (a.customer_id IS NOT NULL)::int::bigint
$$;

CREATE TABLE kpi_meeting_requests_day (
    owner_id  TEXT NOT NULL,
    day       DATE NOT NULL,
    proposed  BIGINT NOT NULL DEFAULT 0,
    accepted  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (owner_id, day)
);

CREATE FUNCTION kpi_facts_meeting_requests(m meeting_requests)
RETURNS TABLE (owner_id TEXT, at TIMESTAMPTZ, proposed BIGINT, accepted BIGINT)
LANGUAGE sql IMMUTABLE AS $$
    SELECT m.owner_id, m.proposed_at, 1::bigint, (m.outcome = 'accepted')::int::bigint
$$;

-- Only feedback that names its owner: feedback without one belongs to its
-- customer's owner, which can change, so the engine reads it raw.
CREATE TABLE kpi_feedback_day (
    owner_id  TEXT NOT NULL,
    day       DATE NOT NULL,
    total     BIGINT NOT NULL DEFAULT 0,
    positive  BIGINT NOT NULL DEFAULT 0,
    negative  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (owner_id, day)
);

CREATE FUNCTION kpi_facts_feedback(f feedback)
RETURNS TABLE (owner_id TEXT, at TIMESTAMPTZ, total BIGINT, positive BIGINT, negative BIGINT)
LANGUAGE sql IMMUTABLE AS $$
    SELECT f.owner_id, f.at, 1::bigint, (f.sentiment = 'positive')::int::bigint, (f.sentiment = 'negative')::int::bigint
    WHERE f.owner_id IS NOT NULL
$$;

-- Each rollup also has a monthly twin (kpi_<table>_month, `day` = the month's
-- first day), so that "everything before asof" sums months, then days.
DO $$
DECLARE
    tbl TEXT;
BEGIN
    FOREACH tbl IN ARRAY ARRAY['deals', 'leads', 'customers', 'activities', 'meeting_requests', 'feedback'] LOOP
        EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING ALL)', 'kpi_' || tbl || '_month', 'kpi_' || tbl || '_day');
    END LOOP;
END $$;

-- The statement that adds `changes` (rows of (sign, r) where r is a record of
-- `tbl`) to tbl's rollup of `grain` ('day' or 'month'), per owner and for the organisation ('').
CREATE FUNCTION kpi_rollup_sql(tbl TEXT, changes TEXT, grain TEXT) RETURNS TEXT LANGUAGE plpgsql STABLE AS $$
DECLARE
    rollup TEXT := 'kpi_' || tbl || '_' || grain;
    cols TEXT[];
    tz TEXT := (SELECT time_zone FROM org_settings);
    bucket TEXT;
BEGIN
    bucket := CASE grain
        WHEN 'day' THEN format('(f.at AT TIME ZONE %L)::date', tz)
        ELSE format('date_trunc(''month'', f.at AT TIME ZONE %L)::date', tz)
    END;
    SELECT array_agg(attname::text ORDER BY attnum) INTO cols
    FROM pg_attribute
    WHERE attrelid = rollup::regclass AND attnum > 0 AND NOT attisdropped AND attname NOT IN ('owner_id', 'day');
    RETURN format(
        'INSERT INTO %I AS r (owner_id, day, %s)
         SELECT coalesce(f.owner_id, ''''), %s, %s
         FROM (%s) c, LATERAL kpi_facts_%s(c.r) f
         GROUP BY GROUPING SETS ((f.owner_id, %s), (%s))
         ORDER BY 1, 2
         ON CONFLICT (owner_id, day) DO UPDATE SET %s',
        rollup,
        array_to_string(cols, ', '),
        bucket,
        (SELECT string_agg(format('sum(c.sign * f.%I)', col), ', ') FROM unnest(cols) col),
        changes,
        tbl,
        bucket,
        bucket,
        (SELECT string_agg(format('%1$I = r.%1$I + excluded.%1$I', col), ', ') FROM unnest(cols) col));
END $$;

CREATE FUNCTION kpi_roll() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changes TEXT := CASE TG_OP
        WHEN 'INSERT' THEN format('SELECT 1 AS sign, ROW(n.*)::%1$I AS r FROM new_rows n', TG_TABLE_NAME)
        WHEN 'UPDATE' THEN format('SELECT 1 AS sign, ROW(n.*)::%1$I AS r FROM new_rows n
                                   UNION ALL SELECT -1, ROW(o.*)::%1$I FROM old_rows o', TG_TABLE_NAME)
        ELSE format('SELECT -1 AS sign, ROW(o.*)::%1$I AS r FROM old_rows o', TG_TABLE_NAME)
    END;
BEGIN
    -- The transition tables are visible to statements this function executes.
    EXECUTE kpi_rollup_sql(TG_TABLE_NAME, changes, 'day');
    EXECUTE kpi_rollup_sql(TG_TABLE_NAME, changes, 'month');
    RETURN NULL;
END $$;

-- Rebuilds every rollup from the records (at start-up of this migration, and
-- when the organisation's time zone changes, which moves day boundaries).
CREATE FUNCTION kpi_rebuild_rollups() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tbl TEXT;
BEGIN
    FOREACH tbl IN ARRAY ARRAY['deals', 'leads', 'customers', 'activities', 'meeting_requests', 'feedback'] LOOP
        EXECUTE format('TRUNCATE %I, %I', 'kpi_' || tbl || '_day', 'kpi_' || tbl || '_month');
        EXECUTE kpi_rollup_sql(tbl, format('SELECT 1 AS sign, ROW(t.*)::%1$I AS r FROM %1$I t', tbl), 'day');
        EXECUTE kpi_rollup_sql(tbl, format('SELECT 1 AS sign, ROW(t.*)::%1$I AS r FROM %1$I t', tbl), 'month');
    END LOOP;
END $$;

DO $$
DECLARE
    tbl TEXT;
BEGIN
    FOREACH tbl IN ARRAY ARRAY['deals', 'leads', 'customers', 'activities', 'meeting_requests', 'feedback'] LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION kpi_roll()', tbl || '_roll_ins', tbl);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION kpi_roll()', tbl || '_roll_upd', tbl);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION kpi_roll()', tbl || '_roll_del', tbl);
    END LOOP;
END $$;

SELECT kpi_rebuild_rollups();

-- Day boundaries follow the organisation's time zone: a new zone rebuilds the rollups.
CREATE FUNCTION kpi_time_zone_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM kpi_rebuild_rollups();
    RETURN NULL;
END $$;
CREATE TRIGGER org_settings_time_zone_roll AFTER UPDATE OF time_zone ON org_settings
    FOR EACH ROW WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone) EXECUTE FUNCTION kpi_time_zone_changed();

-- The exact raw path reads partial days and what cannot be summed by instant.
CREATE INDEX deals_created_idx ON deals (created_at);
CREATE INDEX deals_closed_idx ON deals (closed_at) INCLUDE (owner_id, status, amount, customer_id, product_id);
CREATE INDEX leads_created_idx ON leads (created_at) INCLUDE (owner_id, first_contact_at);
CREATE INDEX leads_qualified_idx ON leads (qualified_at) WHERE qualified_at IS NOT NULL;
CREATE INDEX leads_converted_idx ON leads (converted_at) WHERE converted_at IS NOT NULL;
CREATE INDEX leads_first_contact_idx ON leads (first_contact_at) WHERE first_contact_at IS NOT NULL;
CREATE INDEX leads_followed_up_idx ON leads (followed_up_at) WHERE followed_up_at IS NOT NULL;
CREATE INDEX leads_owner_contact_idx ON leads (owner_id, first_contact_at);
CREATE INDEX customers_acquired_idx ON customers (acquired_at);
CREATE INDEX customers_churned_idx ON customers (churned_at) WHERE churned_at IS NOT NULL;
CREATE INDEX activities_at_idx ON activities (at);
CREATE INDEX meeting_requests_proposed_idx ON meeting_requests (proposed_at);
CREATE INDEX feedback_at_idx ON feedback (at);
CREATE INDEX feedback_unowned_idx ON feedback (at) WHERE owner_id IS NULL;
CREATE INDEX feedback_owner_idx ON feedback (owner_id, at);
CREATE INDEX deals_owner_closed_all_idx ON deals (owner_id, closed_at) WHERE status <> 'open';

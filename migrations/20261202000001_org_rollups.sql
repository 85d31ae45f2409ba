-- Organisation-wide rollups of what the per-owner rollups cannot hold as plain
-- counts: won revenue per product, won revenue per customer region, and a
-- histogram of response times (the median is then found in one bucket).
-- Rows are per (measure, local day or month, label); like the per-owner
-- rollups they are kept by statement triggers from one facts function per
-- table, which the engine's raw path for partial days shares.

-- Response-time buckets: thresholds in seconds, every second up to 50 s, then
-- 2 % apart, mirrored for a contact before creation. Any monotonic bucketing
-- is exact here: the median is read from the records of one bucket.
DO $$
DECLARE
    positive NUMERIC[] := (SELECT array_agg(DISTINCT ceil(power(1.02::float8, k))::numeric)
                           FROM generate_series(0, 900) k WHERE power(1.02::float8, k) <= 94000000);
    thresholds TEXT := (SELECT string_agg(t::text, ',' ORDER BY t)
                        FROM (SELECT unnest(positive) t UNION SELECT -unnest(positive) UNION SELECT 0) x);
BEGIN
    EXECUTE format(
        'CREATE FUNCTION kpi_response_bucket(response INTERVAL) RETURNS INT LANGUAGE sql IMMUTABLE PARALLEL SAFE
         AS $f$ SELECT width_bucket(extract(epoch FROM response), ''{%s}''::numeric[]) $f$', thresholds);
END $$;

CREATE TABLE kpi_org_labels_day (
    measure  TEXT NOT NULL,              -- 'product' | 'region' | 'response'
    day      DATE NOT NULL,
    label    TEXT NOT NULL,              -- product id | customer region | response bucket
    n        BIGINT NOT NULL DEFAULT 0,  -- won deals | won deals | leads
    value    NUMERIC NOT NULL DEFAULT 0, -- their revenue | their revenue | 0
    PRIMARY KEY (measure, day, label)
);
CREATE TABLE kpi_org_labels_month (LIKE kpi_org_labels_day INCLUDING ALL);

-- A deal's won revenue per product, and per its customer's region (`region`:
-- the customer's, null without one; those deals take their owner's team's region, read raw).
CREATE FUNCTION kpi_org_facts_deals(d deals, region TEXT)
RETURNS TABLE (measure TEXT, at TIMESTAMPTZ, label TEXT, n BIGINT, value NUMERIC)
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'product', d.closed_at, d.product_id, 1::bigint, d.amount WHERE d.status = 'won' AND d.product_id IS NOT NULL
    UNION ALL
    SELECT 'region', d.closed_at, region, 1, d.amount WHERE d.status = 'won' AND region IS NOT NULL
$$;

-- A contacted lead in its response bucket, at its creation.
CREATE FUNCTION kpi_org_facts_leads(l leads)
RETURNS TABLE (measure TEXT, at TIMESTAMPTZ, label TEXT, n BIGINT, value NUMERIC)
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'response', l.created_at, kpi_response_bucket(l.first_contact_at - l.created_at)::text, 1::bigint, 0::numeric
    WHERE l.first_contact_at IS NOT NULL
$$;

-- The statement that adds `facts` (rows of sign, measure, at, label, n, value) to the rollup of `grain`.
CREATE FUNCTION kpi_org_sql(facts TEXT, grain TEXT) RETURNS TEXT LANGUAGE plpgsql STABLE AS $$
DECLARE
    tz TEXT := (SELECT time_zone FROM org_settings);
    bucket TEXT := CASE grain
        WHEN 'day' THEN format('(f.at AT TIME ZONE %L)::date', tz)
        ELSE format('date_trunc(''month'', f.at AT TIME ZONE %L)::date', tz)
    END;
BEGIN
    RETURN format(
        'INSERT INTO %I AS r (measure, day, label, n, value)
         SELECT f.measure, %s, f.label, sum(f.sign * f.n), sum(f.sign * f.value) FROM (%s) f
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
         ON CONFLICT (measure, day, label) DO UPDATE SET n = r.n + excluded.n, value = r.value + excluded.value',
        'kpi_org_labels_' || grain, bucket, facts);
END $$;

-- The facts of `rows` (a query of sign and r, a record of `tbl`), the customers' regions looked up now.
CREATE FUNCTION kpi_org_facts_sql(tbl TEXT, rows TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE tbl
        WHEN 'deals' THEN format('SELECT c.sign, f.* FROM (%s) c LEFT JOIN customers cu ON cu.id = (c.r).customer_id,
                                  LATERAL kpi_org_facts_deals(c.r, cu.region) f', rows)
        ELSE format('SELECT c.sign, f.* FROM (%s) c, LATERAL kpi_org_facts_leads(c.r) f', rows)
    END
$$;

CREATE FUNCTION kpi_org_roll() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changes TEXT := CASE TG_OP
        WHEN 'INSERT' THEN format('SELECT 1 AS sign, ROW(n.*)::%1$I AS r FROM new_rows n', TG_TABLE_NAME)
        WHEN 'UPDATE' THEN format('SELECT 1 AS sign, ROW(n.*)::%1$I AS r FROM new_rows n
                                   UNION ALL SELECT -1, ROW(o.*)::%1$I FROM old_rows o', TG_TABLE_NAME)
        ELSE format('SELECT -1 AS sign, ROW(o.*)::%1$I AS r FROM old_rows o', TG_TABLE_NAME)
    END;
    facts TEXT := kpi_org_facts_sql(TG_TABLE_NAME, changes);
BEGIN
    -- Executed here, where the transition tables are visible.
    EXECUTE kpi_org_sql(facts, 'day');
    EXECUTE kpi_org_sql(facts, 'month');
    RETURN NULL;
END $$;

-- A customer whose region changes takes its won deals' revenue to the new region.
CREATE FUNCTION kpi_org_customer_region() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    facts TEXT := 'SELECT s.sign, f.* FROM (
            SELECT -1 AS sign, o.id, o.region FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE o.region IS DISTINCT FROM n.region
            UNION ALL
            SELECT 1, n.id, n.region FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE o.region IS DISTINCT FROM n.region) s
        JOIN deals d ON d.customer_id = s.id AND d.status = ''won'',
        LATERAL kpi_org_facts_deals(d, s.region) f
        WHERE f.measure = ''region''';
BEGIN
    EXECUTE kpi_org_sql(facts, 'day');
    EXECUTE kpi_org_sql(facts, 'month');
    RETURN NULL;
END $$;

CREATE FUNCTION kpi_rebuild_org_rollups() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tbl TEXT;
    facts TEXT;
BEGIN
    TRUNCATE kpi_org_labels_day, kpi_org_labels_month;
    FOREACH tbl IN ARRAY ARRAY['deals', 'leads'] LOOP
        facts := kpi_org_facts_sql(tbl, format('SELECT 1 AS sign, t AS r FROM %I t', tbl));
        EXECUTE kpi_org_sql(facts, 'day');
        EXECUTE kpi_org_sql(facts, 'month');
    END LOOP;
END $$;

CREATE TRIGGER deals_org_roll_ins AFTER INSERT ON deals REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kpi_org_roll();
CREATE TRIGGER deals_org_roll_upd AFTER UPDATE ON deals REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kpi_org_roll();
CREATE TRIGGER deals_org_roll_del AFTER DELETE ON deals REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kpi_org_roll();
CREATE TRIGGER leads_org_roll_ins AFTER INSERT ON leads REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kpi_org_roll();
CREATE TRIGGER leads_org_roll_upd AFTER UPDATE ON leads REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kpi_org_roll();
CREATE TRIGGER leads_org_roll_del AFTER DELETE ON leads REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kpi_org_roll();
CREATE TRIGGER customers_org_region AFTER UPDATE ON customers REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kpi_org_customer_region();

SELECT kpi_rebuild_org_rollups();

CREATE FUNCTION kpi_org_time_zone_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM kpi_rebuild_org_rollups();
    RETURN NULL;
END $$;
CREATE TRIGGER org_settings_time_zone_org_roll AFTER UPDATE OF time_zone ON org_settings
    FOR EACH ROW WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone) EXECUTE FUNCTION kpi_org_time_zone_changed();

-- The median's one bucket, read from the index alone.
CREATE INDEX leads_response_idx ON leads (kpi_response_bucket(first_contact_at - created_at), created_at)
    INCLUDE (first_contact_at) WHERE first_contact_at IS NOT NULL;
-- A customer's won deals (its region changed); won deals without a customer (their owner's team's region).
CREATE INDEX deals_customer_won_idx ON deals (customer_id) WHERE status = 'won';
CREATE INDEX deals_won_no_customer_idx ON deals (closed_at) INCLUDE (owner_id, amount)
    WHERE status = 'won' AND customer_id IS NULL;

-- A team's or a rep's records read from the index alone.
DROP INDEX leads_owner_created_idx;
CREATE INDEX leads_owner_created_idx ON leads (owner_id, created_at) INCLUDE (first_contact_at);
DROP INDEX deals_owner_closed_idx;
CREATE INDEX deals_owner_closed_idx ON deals (owner_id, closed_at) INCLUDE (amount, customer_id, product_id)
    WHERE status = 'won';

-- Every owner's rows of a few days or months (a leaderboard) read from an index alone.
DO $$
DECLARE
    tbl TEXT;
    rollup TEXT;
    cols TEXT;
BEGIN
    FOREACH tbl IN ARRAY ARRAY['deals', 'leads', 'customers', 'activities', 'meeting_requests', 'feedback'] LOOP
        FOREACH rollup IN ARRAY ARRAY['kpi_' || tbl || '_day', 'kpi_' || tbl || '_month'] LOOP
            SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
            FROM pg_attribute
            WHERE attrelid = rollup::regclass AND attnum > 0 AND NOT attisdropped AND attname NOT IN ('owner_id', 'day');
            EXECUTE format('CREATE INDEX %I ON %I (day, owner_id) INCLUDE (%s)', rollup || '_by_day_idx', rollup, cols);
        END LOOP;
    END LOOP;
END $$;

-- Distinct customers won in a month, for the whole organisation: one bit per
-- customer (numbered densely by `seq`) in chunks of 8,192, so that a year is
-- the union of twelve bitmaps and its count is exact.
ALTER TABLE customers ADD COLUMN seq BIGINT GENERATED ALWAYS AS IDENTITY;
CREATE INDEX deals_customer_won_closed_idx ON deals (customer_id, closed_at) WHERE status = 'won';

CREATE TABLE kpi_org_won_customers (
    month  DATE NOT NULL,   -- the local month's first day
    chunk  INT NOT NULL,    -- seq / 8192
    bits   BIT(8192) NOT NULL,
    PRIMARY KEY (month, chunk)
);

-- Sets the bit of each (customer, local month) pair to whether the customer
-- has a deal won in that month. The chunks are locked before the deals are
-- read, so a concurrent change to the same customer is seen or waits.
CREATE FUNCTION kpi_org_mark_customers(ids TEXT[], months DATE[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tz TEXT := (SELECT time_zone FROM org_settings);
    rec RECORD;
    b BIT(8192);
BEGIN
    INSERT INTO kpi_org_won_customers (month, chunk, bits)
    SELECT DISTINCT p.month, (cu.seq / 8192)::int, repeat('0', 8192)::bit(8192)
    FROM unnest(ids, months) p(id, month) JOIN customers cu ON cu.id = p.id
    ORDER BY 1, 2
    ON CONFLICT DO NOTHING;
    PERFORM 1 FROM kpi_org_won_customers k
    WHERE (k.month, k.chunk) IN (SELECT p.month, (cu.seq / 8192)::int
                                 FROM unnest(ids, months) p(id, month) JOIN customers cu ON cu.id = p.id)
    ORDER BY k.month, k.chunk
    FOR UPDATE;
    FOR rec IN
        SELECT p.month, (cu.seq / 8192)::int AS chunk, array_agg((cu.seq % 8192)::int) AS positions,
               array_agg(EXISTS (
                   SELECT 1 FROM deals d
                   WHERE d.customer_id = p.id AND d.status = 'won'
                     AND d.closed_at >= (p.month::timestamp AT TIME ZONE tz)
                     AND d.closed_at < ((p.month + interval '1 month') AT TIME ZONE tz))::int) AS won
        FROM (SELECT DISTINCT id, month FROM unnest(ids, months) u(id, month)) p
        JOIN customers cu ON cu.id = p.id
        GROUP BY 1, 2
    LOOP
        SELECT bits INTO b FROM kpi_org_won_customers WHERE month = rec.month AND chunk = rec.chunk;
        FOR i IN 1 .. array_length(rec.positions, 1) LOOP
            b := set_bit(b, rec.positions[i], rec.won[i]);
        END LOOP;
        UPDATE kpi_org_won_customers SET bits = b WHERE month = rec.month AND chunk = rec.chunk;
    END LOOP;
END $$;

CREATE FUNCTION kpi_org_won_customers_roll() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tz TEXT := (SELECT time_zone FROM org_settings);
    rows TEXT := CASE TG_OP
        WHEN 'INSERT' THEN 'SELECT customer_id, status, closed_at FROM new_rows'
        WHEN 'UPDATE' THEN 'SELECT customer_id, status, closed_at FROM new_rows
                            UNION ALL SELECT customer_id, status, closed_at FROM old_rows'
        ELSE 'SELECT customer_id, status, closed_at FROM old_rows'
    END;
    ids TEXT[];
    months DATE[];
BEGIN
    -- Read here, where the transition tables are visible.
    EXECUTE format(
        'SELECT array_agg(customer_id), array_agg(month) FROM (
             SELECT DISTINCT customer_id, date_trunc(''month'', closed_at AT TIME ZONE %L)::date AS month
             FROM (%s) r WHERE status = ''won'' AND customer_id IS NOT NULL) x', tz, rows)
    INTO ids, months;
    IF ids IS NOT NULL THEN
        PERFORM kpi_org_mark_customers(ids, months);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER deals_org_customers_ins AFTER INSERT ON deals REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kpi_org_won_customers_roll();
CREATE TRIGGER deals_org_customers_upd AFTER UPDATE ON deals REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kpi_org_won_customers_roll();
CREATE TRIGGER deals_org_customers_del AFTER DELETE ON deals REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kpi_org_won_customers_roll();

CREATE FUNCTION kpi_rebuild_org_won_customers() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tz TEXT := (SELECT time_zone FROM org_settings);
    ids TEXT[];
    months DATE[];
BEGIN
    TRUNCATE kpi_org_won_customers;
    SELECT array_agg(customer_id), array_agg(month) INTO ids, months FROM (
        SELECT DISTINCT customer_id, date_trunc('month', closed_at AT TIME ZONE tz)::date AS month
        FROM deals WHERE status = 'won' AND customer_id IS NOT NULL) x;
    IF ids IS NOT NULL THEN
        PERFORM kpi_org_mark_customers(ids, months);
    END IF;
END $$;

SELECT kpi_rebuild_org_won_customers();

CREATE FUNCTION kpi_org_won_customers_time_zone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM kpi_rebuild_org_won_customers();
    RETURN NULL;
END $$;
CREATE TRIGGER org_settings_time_zone_org_customers AFTER UPDATE OF time_zone ON org_settings
    FOR EACH ROW WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone) EXECUTE FUNCTION kpi_org_won_customers_time_zone();

-- What happens at or after asof (for a current period, the future), read from the indexes alone.
DROP INDEX customers_churned_idx;
CREATE INDEX customers_churned_idx ON customers (churned_at) INCLUDE (acquired_at, owner_id) WHERE churned_at IS NOT NULL;
DROP INDEX leads_converted_idx;
CREATE INDEX leads_converted_idx ON leads (converted_at) INCLUDE (owner_id, created_at, qualified_at)
    WHERE converted_at IS NOT NULL;
DROP INDEX leads_followed_up_idx;
CREATE INDEX leads_followed_up_idx ON leads (followed_up_at) INCLUDE (owner_id, first_contact_at)
    WHERE followed_up_at IS NOT NULL;

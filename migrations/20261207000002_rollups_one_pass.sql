-- The per-owner rollups in one pass per statement: each changed record's facts
-- are computed and put in their local day once, summed per owner and day, and
-- the day rollup and the month rollup are both filled from those sums (a month
-- is the sum of its days). Before, the facts and the time-zone conversion ran
-- once per grain. Same rows, same sums; `kpi_rollup_sql` still rebuilds.
CREATE FUNCTION kpi_roll_sql(tbl TEXT, changes TEXT) RETURNS TEXT LANGUAGE plpgsql STABLE AS $$
DECLARE
    cols TEXT[];
    tz TEXT := (SELECT time_zone FROM org_settings);
    month TEXT := 'date_trunc(''month'', d.day::timestamp)::date';
BEGIN
    SELECT array_agg(attname::text ORDER BY attnum) INTO cols
    FROM pg_attribute
    WHERE attrelid = ('kpi_' || tbl || '_day')::regclass AND attnum > 0 AND NOT attisdropped
      AND attname NOT IN ('owner_id', 'day');
    RETURN format(
        'WITH d AS MATERIALIZED (
           SELECT f.owner_id, (f.at AT TIME ZONE %1$L)::date AS day, %2$s
           FROM (%3$s) c, LATERAL kpi_facts_%4$s(c.r) f
           GROUP BY 1, 2),
         per_day AS (
           INSERT INTO %5$I AS r (owner_id, day, %6$s)
           SELECT coalesce(d.owner_id, ''''), d.day, %7$s FROM d
           GROUP BY GROUPING SETS ((d.owner_id, d.day), (d.day))
           ORDER BY 1, 2
           ON CONFLICT (owner_id, day) DO UPDATE SET %8$s)
         INSERT INTO %9$I AS r (owner_id, day, %6$s)
         SELECT coalesce(d.owner_id, ''''), %10$s, %7$s FROM d
         GROUP BY GROUPING SETS ((d.owner_id, %10$s), (%10$s))
         ORDER BY 1, 2
         ON CONFLICT (owner_id, day) DO UPDATE SET %8$s',
        tz,
        (SELECT string_agg(format('sum(c.sign * f.%1$I) AS %1$I', col), ', ') FROM unnest(cols) col),
        changes,
        tbl,
        'kpi_' || tbl || '_day',
        array_to_string(cols, ', '),
        (SELECT string_agg(format('sum(d.%I)', col), ', ') FROM unnest(cols) col),
        (SELECT string_agg(format('%1$I = r.%1$I + excluded.%1$I', col), ', ') FROM unnest(cols) col),
        'kpi_' || tbl || '_month',
        month);
END $$;

CREATE OR REPLACE FUNCTION kpi_roll() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changes TEXT := CASE TG_OP
        WHEN 'INSERT' THEN format('SELECT 1 AS sign, ROW(n.*)::%1$I AS r FROM new_rows n', TG_TABLE_NAME)
        WHEN 'UPDATE' THEN format('SELECT 1 AS sign, ROW(n.*)::%1$I AS r FROM new_rows n
                                   UNION ALL SELECT -1, ROW(o.*)::%1$I FROM old_rows o', TG_TABLE_NAME)
        ELSE format('SELECT -1 AS sign, ROW(o.*)::%1$I AS r FROM old_rows o', TG_TABLE_NAME)
    END;
BEGIN
    -- The transition tables are visible to statements this function executes.
    EXECUTE kpi_roll_sql(TG_TABLE_NAME, changes);
    RETURN NULL;
END $$;

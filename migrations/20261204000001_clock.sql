-- The app's one clock in SQL: now() moved by the offset the app sets per
-- connection (`kpi_arena.clock_offset`, microseconds; unset or 0 in production,
-- set only when a test pins the clock with KPI_ARENA_TEST_NOW).
CREATE FUNCTION arena_now() RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT now() + coalesce(nullif(current_setting('kpi_arena.clock_offset', true), '')::bigint, 0)
                   * interval '1 microsecond'
$$;

-- Every timestamp the app stamps by default follows the same clock.
DO $$
DECLARE c record;
BEGIN
    FOR c IN SELECT table_name, column_name FROM information_schema.columns
             WHERE table_schema = current_schema() AND column_default = 'now()'
    LOOP
        EXECUTE format('ALTER TABLE %I ALTER COLUMN %I SET DEFAULT arena_now()', c.table_name, c.column_name);
    END LOOP;
END $$;

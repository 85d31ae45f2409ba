-- The derived work a change leaves behind: which reps' points and badges to
-- bring up to date, over which span. The ingest path writes a row in the same
-- transaction as the records (or the targets, or the rules) it stems from; the
-- scoring worker of any instance claims rows, does the work, and deletes them in
-- one transaction of its own. A crash or a database restart at any moment leaves
-- the row, so the work is done again: derived data can lag, never stay wrong.
CREATE TABLE score_work (
    id          BIGSERIAL PRIMARY KEY,
    -- What caused it: records, targets, rules, or a full badge evaluation.
    reason      TEXT NOT NULL CHECK (reason IN ('records', 'targets', 'rules', 'badges')),
    -- The reps to rescore (the records' owners now and before the change); NULL: every rep.
    owners      TEXT[],
    from_at     TIMESTAMPTZ NOT NULL,
    to_at       TIMESTAMPTZ NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT arena_now(),
    CHECK (from_at <= to_at)
);

-- A new organisation starts playing: the default points rules, once, editable
-- (deactivated rather than deleted). An install that already has rules keeps them.
INSERT INTO points_rules (kind, basis, points, per, threshold, attainment_cap, period_kind, cap_points, cap_per, label)
SELECT * FROM (VALUES
    ('per_unit', 'won_deals', 50::bigint, 1::numeric, NULL::float8, NULL::float8, NULL, 200::bigint, 'day', 'Won deal'),
    ('per_unit', 'revenue', 1, 10000, NULL, NULL, NULL, NULL, NULL, 'Revenue (1 per 10 000)'),
    ('per_unit', 'touchpoints', 1, 1, NULL, NULL, NULL, 20, 'day', 'Touchpoint'),
    ('per_unit', 'accepted_meetings', 10, 1, NULL, NULL, NULL, NULL, NULL, 'Accepted meeting'),
    ('attainment', 'revenue', 2, 1, NULL, 150, 'month', NULL, NULL, 'Revenue attainment'),
    ('threshold', 'revenue', 200, 1, 100, NULL, 'month', NULL, NULL, 'Revenue target reached'),
    ('threshold', 'win_rate', 100, 1, 100, NULL, 'month', NULL, NULL, 'Win-rate target reached')
) AS r WHERE NOT EXISTS (SELECT 1 FROM points_rules);

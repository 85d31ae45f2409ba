-- Self-logged deals (issue 16, item 4) and flags a manager resolves (item 14).

-- Per-unit rules on won deals count deals from this amount; NULL: any amount above 0.
ALTER TABLE points_rules ADD COLUMN min_deal_amount NUMERIC(16, 2) CHECK (min_deal_amount >= 0);

-- Flags are read from the records (store::flags); a verdict is kept by the flag's
-- key (its kind, rep, subject and instant), and takes the flag off the open list.
CREATE TABLE flag_resolutions (
    flag_key     TEXT PRIMARY KEY,
    verdict      TEXT NOT NULL CHECK (verdict IN ('fine', 'acted_on')),
    note         TEXT NOT NULL DEFAULT '',
    resolved_by  TEXT NOT NULL REFERENCES users (id),
    resolved_at  TIMESTAMPTZ NOT NULL DEFAULT arena_now()
);

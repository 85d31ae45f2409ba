-- A ledger row's reason as data (`domain::scoring::Reason`, JSON), beside its
-- English text: pages word it in the reader's language without parsing the
-- sentence. Rows written before have none; they are read from `reason`.
ALTER TABLE points_entries ADD COLUMN reason_data JSONB;

-- Audit checkpoints (signed, written to object storage with the segment of
-- events they close), records rules (retention, legal hold, disposition) and
-- fixity findings.
CREATE TABLE audit_checkpoints (
	seq         INTEGER PRIMARY KEY, -- last event covered
	hash        TEXT NOT NULL,       -- that event's hash (the chain head)
	at          TEXT NOT NULL,
	object_key  TEXT NOT NULL
);

ALTER TABLE documents ADD COLUMN retention TEXT NOT NULL DEFAULT '';        -- 'permanent' or a number of years
ALTER TABLE documents ADD COLUMN retention_basis TEXT NOT NULL DEFAULT '';  -- e.g. Thông tư 10/2022/TT-BNV
ALTER TABLE documents ADD COLUMN legal_hold INTEGER NOT NULL DEFAULT 0;
ALTER TABLE documents ADD COLUMN disposed_at TEXT NOT NULL DEFAULT '';
ALTER TABLE documents ADD COLUMN fixity TEXT NOT NULL DEFAULT '';          -- '' unchecked, ok, changed, missing
ALTER TABLE documents ADD COLUMN fixity_checked_at TEXT NOT NULL DEFAULT '';

CREATE TABLE dispositions (
	document_id  TEXT PRIMARY KEY REFERENCES documents(id),
	requested_by TEXT NOT NULL,
	requested_at TEXT NOT NULL,
	reason       TEXT NOT NULL DEFAULT '',
	approved_by  TEXT NOT NULL DEFAULT '',
	approved_at  TEXT NOT NULL DEFAULT ''
);

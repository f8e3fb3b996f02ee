-- Digital signatures of signed PDF originals, as verified at extraction
-- (JSON list of ingest/pdfsign signatures).
ALTER TABLE documents ADD COLUMN signatures TEXT NOT NULL DEFAULT '[]';

-- Catalog schema v1: the working source of truth. The bucket holds the
-- originals and a manifest per document, so this file can be rebuilt.
CREATE TABLE users (
	id            INTEGER PRIMARY KEY,
	name          TEXT NOT NULL UNIQUE,
	role          TEXT NOT NULL,
	clearance     TEXT NOT NULL DEFAULT 'none',
	unit          TEXT NOT NULL DEFAULT '',
	password_hash TEXT NOT NULL DEFAULT '',
	created_at    TEXT NOT NULL,
	deleted_at    TEXT
);

CREATE TABLE tokens (
	id         INTEGER PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users(id),
	hash       TEXT NOT NULL UNIQUE, -- SHA-256 of the token; the token itself is never stored
	created_at TEXT NOT NULL,
	revoked_at TEXT
);

CREATE TABLE documents (
	id              TEXT PRIMARY KEY,
	number          TEXT NOT NULL DEFAULT '',
	number_key      TEXT NOT NULL DEFAULT '', -- number with all whitespace removed, for identity and lookups
	type            TEXT NOT NULL DEFAULT '',
	type_name       TEXT NOT NULL DEFAULT '',
	issuer          TEXT NOT NULL DEFAULT '',
	level           TEXT NOT NULL DEFAULT '',
	issued_at       TEXT NOT NULL DEFAULT '',
	subject         TEXT NOT NULL DEFAULT '',
	signer          TEXT NOT NULL DEFAULT '',
	classification  TEXT NOT NULL DEFAULT 'none',
	urgency         TEXT NOT NULL DEFAULT 'none',
	direction       TEXT NOT NULL DEFAULT 'incoming',
	tags            TEXT NOT NULL DEFAULT '[]',
	filename        TEXT NOT NULL DEFAULT '',
	content_type    TEXT NOT NULL DEFAULT '',
	size            INTEGER NOT NULL DEFAULT 0,
	sha256          TEXT NOT NULL,
	pages           INTEGER NOT NULL DEFAULT 0,
	text_status     TEXT NOT NULL DEFAULT 'pending',
	text_reason     TEXT NOT NULL DEFAULT '',
	text_engine     TEXT NOT NULL DEFAULT '',
	extracted       TEXT NOT NULL DEFAULT '[]',
	user_fields     TEXT NOT NULL DEFAULT '[]', -- fields the clerk set: extraction never overwrites them
	parsed          TEXT NOT NULL DEFAULT '{}', -- full parser output (citations, task proposals, ...)
	register_number INTEGER NOT NULL DEFAULT 0,
	registered_at   TEXT NOT NULL DEFAULT '',
	version         INTEGER NOT NULL DEFAULT 1,
	created_at      TEXT NOT NULL,
	created_by      TEXT NOT NULL,
	updated_at      TEXT NOT NULL
);
CREATE INDEX documents_sha256 ON documents(sha256);
CREATE INDEX documents_number_key ON documents(number_key);
CREATE INDEX documents_created ON documents(created_at, id);

CREATE TABLE versions (
	document_id  TEXT NOT NULL REFERENCES documents(id),
	n            INTEGER NOT NULL,
	sha256       TEXT NOT NULL,
	size         INTEGER NOT NULL,
	content_type TEXT NOT NULL,
	filename     TEXT NOT NULL,
	key          TEXT NOT NULL,
	created_at   TEXT NOT NULL,
	created_by   TEXT NOT NULL,
	PRIMARY KEY (document_id, n)
);
CREATE INDEX versions_key ON versions(key);

-- Extracted text, kept so the index can be rebuilt without re-extracting.
CREATE TABLE texts (
	document_id TEXT PRIMARY KEY REFERENCES documents(id),
	text        TEXT NOT NULL,
	pages       TEXT NOT NULL DEFAULT '[]'
);

-- Durable work queue: extraction, indexing and manifest writes survive a crash.
CREATE TABLE jobs (
	id          INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: workers track jobs in flight by id
	kind        TEXT NOT NULL,
	document_id TEXT NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	not_before  TEXT NOT NULL DEFAULT '',
	last_error  TEXT NOT NULL DEFAULT '',
	created_at  TEXT NOT NULL
);
CREATE INDEX jobs_kind ON jobs(kind, id);

-- Yearly registers (sổ đăng ký văn bản đến / đi).
CREATE TABLE register_counters (
	direction TEXT NOT NULL,
	year      INTEGER NOT NULL,
	last      INTEGER NOT NULL,
	PRIMARY KEY (direction, year)
);

-- Append-only audit trail, hash-chained.
CREATE TABLE audit (
	seq         INTEGER PRIMARY KEY,
	at          TEXT NOT NULL,
	actor       TEXT NOT NULL,
	role        TEXT NOT NULL,
	action      TEXT NOT NULL,
	document_id TEXT NOT NULL DEFAULT '',
	outcome     TEXT NOT NULL,
	ip          TEXT NOT NULL DEFAULT '',
	request_id  TEXT NOT NULL DEFAULT '',
	details     TEXT NOT NULL DEFAULT '',
	prev_hash   TEXT NOT NULL,
	hash        TEXT NOT NULL
);
CREATE INDEX audit_document ON audit(document_id, seq);
CREATE INDEX audit_actor ON audit(actor, seq);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;

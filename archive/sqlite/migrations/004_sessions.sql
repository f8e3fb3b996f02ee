-- Web sessions of the server-rendered pages (the API keeps its tokens).
-- Only a hash of the session id is stored: a copy of the catalog logs no
-- one in. role and clearance are the user's as of the session's last
-- rotation; when the catalog's differ, the web layer rotates the id.
CREATE TABLE sessions (
	id_hash    TEXT PRIMARY KEY, -- SHA-256 (hex) of the cookie value
	user_id    INTEGER NOT NULL REFERENCES users(id),
	csrf       TEXT NOT NULL,
	role       TEXT NOT NULL,
	clearance  TEXT NOT NULL,
	created_at TEXT NOT NULL,
	last_seen  TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_last_seen ON sessions(last_seen);

-- Failed logins, for per-account and per-address backoff.
CREATE TABLE login_failures (
	id      INTEGER PRIMARY KEY,
	account TEXT NOT NULL,
	ip      TEXT NOT NULL,
	at      TEXT NOT NULL
);
CREATE INDEX login_failures_account ON login_failures(account, at);
CREATE INDEX login_failures_ip ON login_failures(ip, at);
CREATE INDEX login_failures_at ON login_failures(at);

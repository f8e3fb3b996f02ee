-- Catalog schema v2: the citation graph and the tasks that plans assign.
--
-- Citations are stored as the citing document printed them; which archived
-- document each one names is decided when it is read (records/links.go), so
-- a reference to a document that arrives later, or whose number a clerk
-- corrects, resolves without rewriting anything here.
CREATE TABLE citations (
	document_id TEXT NOT NULL REFERENCES documents(id), -- the citing document
	seq         INTEGER NOT NULL,                       -- order in the text, from 1
	number      TEXT NOT NULL DEFAULT '',               -- as printed, whitespace removed
	match_key   TEXT NOT NULL DEFAULT '',               -- number without leading zeros: 07/2026/TT-BNV = 7/2026/TT-BNV
	type        TEXT NOT NULL DEFAULT '',               -- type word as printed: Nghị định, Luật…
	title       TEXT NOT NULL DEFAULT '',               -- laws cited by name
	issued_at   TEXT NOT NULL DEFAULT '',
	issuer      TEXT NOT NULL DEFAULT '',
	relation    TEXT NOT NULL DEFAULT 'other',          -- the parser's relation code
	effect      TEXT NOT NULL DEFAULT '',               -- repeals|replaces|amends: what the citing document does to the target
	PRIMARY KEY (document_id, seq)
);
CREATE INDEX citations_match ON citations(match_key COLLATE NOCASE) WHERE match_key <> '';
CREATE INDEX citations_title ON citations(issued_at) WHERE match_key = '';

-- Resolution looks documents up by the same key; NOCASE lets an OCR'd
-- "104-CTr/Tu" find 104-CTr/TU when no exact-case match exists.
CREATE INDEX documents_number_match ON documents(ltrim(number_key, '0') COLLATE NOCASE);
CREATE INDEX documents_issued_at ON documents(issued_at);

CREATE TABLE tasks (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	plan_id       TEXT NOT NULL REFERENCES documents(id), -- the source plan: a task is visible to whoever may see it
	seq           INTEGER NOT NULL DEFAULT 0,             -- position within the plan, from 1
	title         TEXT NOT NULL,
	lead_unit     TEXT NOT NULL DEFAULT '',               -- cơ quan chủ trì
	support_units TEXT NOT NULL DEFAULT '[]',             -- cơ quan phối hợp
	due_date      TEXT NOT NULL DEFAULT '',               -- YYYY-MM-DD
	period        TEXT NOT NULL DEFAULT '',               -- reporting period as written: "Quý III năm 2024", "năm 2018"
	status        TEXT NOT NULL DEFAULT 'open',           -- as set by a person: open|in_progress|done
	created_at    TEXT NOT NULL,
	created_by    TEXT NOT NULL,
	updated_at    TEXT NOT NULL
);
CREATE INDEX tasks_plan ON tasks(plan_id, seq);

CREATE TABLE task_documents (
	task_id     INTEGER NOT NULL REFERENCES tasks(id),
	document_id TEXT NOT NULL REFERENCES documents(id),
	relation    TEXT NOT NULL, -- assigns|implements|reports_on
	created_at  TEXT NOT NULL,
	created_by  TEXT NOT NULL,
	PRIMARY KEY (task_id, document_id, relation)
);
CREATE INDEX task_documents_document ON task_documents(document_id);

-- Catalogs that predate this migration keep their parsed citations in
-- documents.parsed: carry them over so their graph is complete at once.
-- (effect needs the text around each citation: a re-extraction fills it.)
INSERT INTO citations (document_id, seq, number, match_key, type, title, issued_at, issuer, relation)
SELECT d.id, CAST(c.key AS INTEGER) + 1,
	coalesce(json_extract(c.value, '$.number'), ''),
	ltrim(coalesce(json_extract(c.value, '$.number'), ''), '0'),
	coalesce(json_extract(c.value, '$.type'), ''),
	coalesce(json_extract(c.value, '$.title'), ''),
	coalesce(json_extract(c.value, '$.issued_at'), ''),
	coalesce(json_extract(c.value, '$.issuer'), ''),
	coalesce(json_extract(c.value, '$.relation'), 'other')
FROM documents d, json_each(d.parsed, '$.citations') c
WHERE json_valid(d.parsed) AND json_type(d.parsed, '$.citations') = 'array';

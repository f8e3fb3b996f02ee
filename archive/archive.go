// Package archive owns vanthu's domain: documents and their versions, users,
// roles and clearances, audit events, and the contract every blob store keeps.
// It imports no other package of ours; storage technologies live in
// sub-packages named after them (archive/fsstore, archive/s3, archive/sqlite).
package archive

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Errors shared by every layer. Adapters translate their own not-found and
// conflict errors into these; the web layer maps them to status codes.
var (
	ErrNotFound      = errors.New("not found")
	ErrConflict      = errors.New("conflict")
	ErrInvalid       = errors.New("invalid input")
	ErrUnauthorized  = errors.New("unauthorized")
	ErrForbidden     = errors.New("forbidden")
	ErrTooLarge      = errors.New("too large")
	ErrUnsupported   = errors.New("unsupported media type")
	ErrUnavailable   = errors.New("storage unavailable")
	ErrNoSpace       = errors.New("insufficient storage")
	ErrUnprocessable = errors.New("unprocessable")
	ErrGone          = errors.New("gone")
)

// Error carries a kind (one of the sentinel errors above), a machine code for
// the JSON error body and a sentence a person understands.
type Error struct {
	Kind    error
	Code    string
	Message string
	Err     error // underlying cause, logged, never shown
	// Extra fields merged into the JSON error body (e.g. existing_id on a duplicate).
	Extra map[string]any
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Kind, e.Err}
	}
	return []error{e.Kind}
}

// Errorf builds an *Error of the given kind with a code and a human message.
func Errorf(kind error, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Role is what a user may do.
type Role string

const (
	RoleClerk     Role = "clerk"     // văn thư: uploads, registers, edits metadata
	RoleOfficer   Role = "officer"   // chuyên viên: reads, searches, links reports to tasks
	RoleInspector Role = "inspector" // thanh tra: reads and audits
	RoleAdmin     Role = "admin"     // manages users; no implicit clearance
)

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleClerk, RoleOfficer, RoleInspector, RoleAdmin:
		return r, nil
	}
	return "", Errorf(ErrInvalid, "invalid_role", "role %q is not one of clerk, officer, inspector, admin", s)
}

// Classification is a document's secrecy level (độ mật) and, for a user,
// the highest level they are cleared to see. Levels are ordered.
type Classification string

const (
	Unclassified Classification = "none"
	Mat          Classification = "mat"       // Mật
	ToiMat       Classification = "toi_mat"   // Tối mật
	TuyetMat     Classification = "tuyet_mat" // Tuyệt mật
)

// Rank orders classifications: none < mat < toi_mat < tuyet_mat.
func (c Classification) Rank() int {
	switch c {
	case Unclassified, "":
		return 0
	case Mat:
		return 1
	case ToiMat:
		return 2
	case TuyetMat:
		return 3
	}
	return 99 // unknown levels are never visible
}

// Allows reports whether a holder of clearance c may see a document at level doc.
// An unknown clearance allows nothing (its rank would otherwise top every
// level).
func (c Classification) Allows(doc Classification) bool {
	return c.Rank() <= TuyetMat.Rank() && doc.Rank() <= c.Rank()
}

// Classifications lists the levels in order.
var Classifications = []Classification{Unclassified, Mat, ToiMat, TuyetMat}

// ParseClassification validates a level; "" is none.
func ParseClassification(s string) (Classification, error) {
	switch c := Classification(s); c {
	case "":
		return Unclassified, nil
	case Unclassified, Mat, ToiMat, TuyetMat:
		return c, nil
	}
	return "", Errorf(ErrInvalid, "invalid_classification", "classification %q is not one of none, mat, toi_mat, tuyet_mat", s)
}

// Label is the Vietnamese name of the level, as printed on a stamp.
func (c Classification) Label() string {
	switch c {
	case Mat:
		return "Mật"
	case ToiMat:
		return "Tối mật"
	case TuyetMat:
		return "Tuyệt mật"
	}
	return "Thường"
}

// User is a person with a role and a clearance.
type User struct {
	ID        int64
	Name      string
	Role      Role
	Clearance Classification
	Unit      string
	CreatedAt time.Time
	Deleted   bool
}

// Text statuses of a document version.
const (
	TextPending = "pending"
	TextOK      = "ok"
	TextEmpty   = "empty"
	TextFailed  = "failed"
)

// Document is a registered official document (văn bản) with its metadata as a
// register entry (Decree 30/2020/NĐ-CP) and the current version's facts.
type Document struct {
	ID             string         `json:"id"`
	Number         string         `json:"number"`    // số, ký hiệu, e.g. 1623/KH-UBND (case kept, no spaces)
	Type           string         `json:"type"`      // type code, e.g. KH, QĐ, CV for công văn
	TypeName       string         `json:"type_name"` // e.g. Kế hoạch
	Issuer         string         `json:"issuer"`    // cơ quan ban hành
	Level          string         `json:"level"`     // central|provincial|district|commune|other
	IssuedAt       string         `json:"issued_at"` // YYYY-MM-DD, empty when unknown
	Subject        string         `json:"subject"`   // trích yếu
	Signer         string         `json:"signer"`
	Classification Classification `json:"classification"`
	Urgency        string         `json:"urgency"`   // none|khan|thuong_khan|hoa_toc
	Direction      string         `json:"direction"` // incoming|outgoing|internal
	Tags           []string       `json:"tags"`

	Filename    string   `json:"filename"`
	ContentType string   `json:"content_type"`
	Size        int64    `json:"size"`
	SHA256      string   `json:"sha256"`
	Pages       int      `json:"pages"`
	TextStatus  string   `json:"text_status"`
	TextReason  string   `json:"text_reason,omitempty"`
	TextEngine  string   `json:"text_engine,omitempty"`
	Extracted   []string `json:"extracted"`

	RegisterNumber int    `json:"register_number,omitempty"` // số đến / số đi in the yearly register
	RegisteredAt   string `json:"registered_at,omitempty"`

	// Records rules: how long the original must be kept (Retention is
	// "permanent" or a number of years, with its legal basis, e.g.
	// Thông tư 10/2022/TT-BNV), whether a legal hold forbids disposal, and
	// when an approved disposition removed the original (the record stays).
	Retention      string `json:"retention"`
	RetentionBasis string `json:"retention_basis"`
	LegalHold      bool   `json:"legal_hold"`
	DisposedAt     string `json:"disposed_at,omitempty"`
	// Signatures are the digital signatures of a signed PDF original as
	// verified at extraction: signer, organisation, signed_at, time_source,
	// integrity, chain, covers_whole_file, modified_after… (ingest/pdfsign).
	Signatures json.RawMessage `json:"signatures"`
	// Fixity is the last fixity check's verdict: "" (not yet), ok, changed, missing.
	Fixity          string `json:"fixity,omitempty"`
	FixityCheckedAt string `json:"fixity_checked_at,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int       `json:"version"` // current version number, from 1
}

// Year is the year of issue, or 0.
func (d *Document) Year() int {
	if len(d.IssuedAt) >= 4 {
		y := 0
		for _, c := range d.IssuedAt[:4] {
			if c < '0' || c > '9' {
				return 0
			}
			y = y*10 + int(c-'0')
		}
		return y
	}
	return 0
}

// Version is one stored original of a document. Originals are never
// overwritten: a new file is a new version.
type Version struct {
	DocumentID  string    `json:"document_id"`
	N           int       `json:"n"`
	SHA256      string    `json:"sha256"`
	Size        int64     `json:"size"`
	ContentType string    `json:"content_type"`
	Filename    string    `json:"filename"`
	Key         string    `json:"key"` // blob store key
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   string    `json:"created_by"`
}

// Event is one append-only audit record. Hash = SHA-256 over the previous
// event's hash and this event's canonical fields, so any edit or removal
// breaks the chain from that event on.
type Event struct {
	Seq        int64          `json:"seq"`
	At         time.Time      `json:"at"`
	Actor      string         `json:"actor"`
	Role       string         `json:"role"`
	Action     string         `json:"action"`
	DocumentID string         `json:"document_id,omitempty"`
	Outcome    string         `json:"outcome"` // ok|denied|failed
	IP         string         `json:"ip,omitempty"`
	RequestID  string         `json:"request_id,omitempty"`
	Details    map[string]any `json:"details,omitempty"`
	PrevHash   string         `json:"prev_hash"`
	Hash       string         `json:"hash"`
}

// Levels of the issuing body.
var Levels = []string{"central", "provincial", "district", "commune", "other"}

// Urgencies (độ khẩn).
var Urgencies = []string{"none", "khan", "thuong_khan", "hoa_toc"}

// Directions in the register.
var Directions = []string{"incoming", "outgoing", "internal"}

// OneOf reports whether s is in list.
func OneOf(s string, list []string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

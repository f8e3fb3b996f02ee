package archive

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Audit actions. Every write and every read of an original or its text is
// one event; denials are events too.
const (
	ActionUpload      = "document.upload"
	ActionRead        = "document.read"
	ActionDownload    = "document.download"
	ActionReadText    = "document.text"
	ActionEdit        = "document.edit"
	ActionExtract     = "document.extract"
	ActionSearch      = "search"
	ActionDenied      = "access.denied"
	ActionLogin       = "auth.login"
	ActionLogout      = "auth.logout"
	ActionUserAdd     = "user.add"
	ActionUserChange  = "user.change"
	ActionUserDelete  = "user.delete"
	ActionTokenCreate = "token.create"
	ActionFixity      = "fixity"
	ActionVersion     = "document.version"
	ActionDisposition = "document.disposition"
	ActionSignatures  = "document.signatures"
	ActionAuditExport = "audit.export"
)

// GenesisHash is the prev_hash of the first event.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// EventTime formats an event time the one way it is hashed and stored.
func EventTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// CanonicalDetails is the JSON text of details as hashed and stored:
// encoding/json sorts map keys, so the same map always gives the same bytes.
func CanonicalDetails(d map[string]any) string {
	if len(d) == 0 {
		return ""
	}
	b, err := json.Marshal(d)
	if err != nil {
		return ""
	}
	return string(b)
}

// ChainHash computes an event's hash from its predecessor's hash and its own
// stored fields. Fields are length-prefixed so no two events can collide by
// shifting text between fields.
func ChainHash(prev string, seq int64, at, actor, role, action, documentID, outcome, ip, requestID, details string) string {
	var b strings.Builder
	for _, f := range []string{prev, strconv.FormatInt(seq, 10), at, actor, role, action, documentID, outcome, ip, requestID, details} {
		b.WriteString(strconv.Itoa(len(f)))
		b.WriteByte(':')
		b.WriteString(f)
		b.WriteByte('\n')
	}
	s := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(s[:])
}

// VerifyResult is the outcome of checking the audit chain.
type VerifyResult struct {
	OK          bool   `json:"ok"`
	Events      int64  `json:"events"`
	FirstBadSeq int64  `json:"first_bad_seq,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

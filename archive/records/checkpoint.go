package records

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"vanthu/archive"
	"vanthu/archive/sqlite"
)

// Audit checkpoints: every so often the chain head (sequence number and
// hash) is signed with an Ed25519 key kept outside the catalog and written
// to object storage, together with the segment of events since the previous
// checkpoint. Someone who can rewrite the catalog (and recompute every hash)
// cannot forge the signature, and cannot remove checkpointed events without
// the checkpoint no longer matching. The segments also let `vanthu rebuild`
// restore the audit trail from the bucket alone.

// CheckpointDoc is the signed object written to audit/checkpoints/.
type CheckpointDoc struct {
	Format        int    `json:"format"`
	Seq           int64  `json:"seq"`
	Hash          string `json:"hash"`
	PrevSeq       int64  `json:"prev_seq"`
	At            string `json:"at"`
	SegmentKey    string `json:"segment_key"`
	SegmentSHA256 string `json:"segment_sha256"`
	PublicKey     string `json:"public_key"` // hex; verification uses the operator's key, not this
	Signature     string `json:"signature"`  // hex Ed25519 over the document with Signature empty
}

func (c *CheckpointDoc) signedBytes() []byte {
	cc := *c
	cc.Signature = ""
	b, _ := json.Marshal(cc)
	return b
}

func checkpointKey(seq int64) string {
	return fmt.Sprintf("%scheckpoints/%020d.json", archive.CheckpointPrefix, seq)
}
func segmentKey(from, to int64) string {
	return fmt.Sprintf("%ssegments/%020d-%020d.jsonl", archive.CheckpointPrefix, from, to)
}

// LoadOrCreateAuditKey reads the Ed25519 signing key at path (PKCS#8 PEM),
// creating it (mode 0600) when missing.
func LoadOrCreateAuditKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		if err := os.WriteFile(path, pemBytes, 0o600); err != nil {
			return nil, err
		}
		return priv, nil
	}
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("audit key %s: not a PEM file", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit key %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("audit key %s: not an Ed25519 key", path)
	}
	return priv, nil
}

// Checkpoint writes a checkpoint for the events since the last one, if any.
// It returns the new checkpoint's sequence number (0 when nothing was new).
func (s *Service) Checkpoint(ctx context.Context, key ed25519.PrivateKey) (int64, error) {
	last, err := s.Catalog.LastCheckpoint(ctx)
	if err != nil {
		return 0, err
	}
	headSeq, headHash, err := s.Catalog.LastEvent(ctx)
	if err != nil {
		return 0, err
	}
	if headSeq <= last.Seq {
		return 0, nil
	}
	evs, err := s.Catalog.RawEvents(ctx, last.Seq+1, headSeq)
	if err != nil {
		return 0, err
	}
	var seg bytes.Buffer
	enc := json.NewEncoder(&seg)
	for _, e := range evs {
		if err := enc.Encode(e); err != nil {
			return 0, err
		}
	}
	segKey := segmentKey(last.Seq+1, headSeq)
	if err := s.Blobs.Put(ctx, segKey, bytes.NewReader(seg.Bytes()), int64(seg.Len())); err != nil {
		return 0, err
	}
	sum := sha256.Sum256(seg.Bytes())
	at := time.Now().UTC()
	cp := &CheckpointDoc{Format: 1, Seq: headSeq, Hash: headHash, PrevSeq: last.Seq, At: at.Format(time.RFC3339Nano),
		SegmentKey: segKey, SegmentSHA256: hex.EncodeToString(sum[:]), PublicKey: hex.EncodeToString(key.Public().(ed25519.PublicKey))}
	cp.Signature = hex.EncodeToString(ed25519.Sign(key, cp.signedBytes()))
	b, _ := json.MarshalIndent(cp, "", "  ")
	k := checkpointKey(headSeq)
	if err := s.Blobs.Put(ctx, k, bytes.NewReader(b), int64(len(b))); err != nil {
		return 0, err
	}
	return headSeq, s.Catalog.RecordCheckpoint(ctx, sqlite.Checkpoint{Seq: headSeq, Hash: headHash, At: at, ObjectKey: k})
}

// RunCheckpoints writes a checkpoint every `every` events or `interval`,
// whichever comes first, and a last one when ctx ends.
func (s *Service) RunCheckpoints(ctx context.Context, key ed25519.PrivateKey, every int64, interval time.Duration) {
	tick := time.NewTicker(min(interval, 15*time.Second))
	defer tick.Stop()
	lastAt := time.Now()
	for {
		select {
		case <-ctx.Done():
			if _, err := s.Checkpoint(context.Background(), key); err != nil {
				s.Log.Error("audit: final checkpoint failed", "err", err)
			}
			return
		case <-tick.C:
		}
		cp, err := s.Catalog.LastCheckpoint(ctx)
		if err != nil {
			continue
		}
		head, _, err := s.Catalog.LastEvent(ctx)
		if err != nil || head <= cp.Seq {
			continue
		}
		if head-cp.Seq >= every || time.Since(lastAt) >= interval {
			if _, err := s.Checkpoint(ctx, key); err != nil {
				s.Log.Warn("audit: checkpoint failed; will retry", "err", err)
				continue
			}
			lastAt = time.Now()
		}
	}
}

// readCheckpoints lists and parses every checkpoint in storage, oldest first.
func (s *Service) readCheckpoints(ctx context.Context) ([]*CheckpointDoc, error) {
	var keys []string
	err := s.Blobs.List(ctx, archive.CheckpointPrefix+"checkpoints/", func(b archive.BlobInfo) error {
		if strings.HasSuffix(b.Key, ".json") {
			keys = append(keys, b.Key)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(keys)
	var out []*CheckpointDoc
	for _, k := range keys {
		b, err := s.readObject(ctx, k, 1<<20)
		if err != nil {
			return nil, err
		}
		var cp CheckpointDoc
		if err := json.Unmarshal(b, &cp); err != nil {
			return nil, fmt.Errorf("checkpoint %s: %w", k, err)
		}
		out = append(out, &cp)
	}
	return out, nil
}

func (s *Service) readObject(ctx context.Context, key string, max int64) ([]byte, error) {
	rc, _, err := s.Blobs.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, max))
}

// VerifyAudit checks the hash chain in the catalog, then every checkpoint in
// storage: its signature under pub, and that the event it names is still in
// the catalog with the same hash. Deleting checkpointed events, or editing
// one and recomputing the chain, makes a checkpoint no longer match.
func (s *Service) VerifyAudit(ctx context.Context, pub ed25519.PublicKey) (archive.VerifyResult, int, error) {
	res, err := s.Catalog.VerifyChain(ctx)
	if err != nil {
		return res, 0, err
	}
	cps, err := s.readCheckpoints(ctx)
	if err != nil {
		return res, 0, err
	}
	if !res.OK {
		return res, len(cps), nil
	}
	for _, cp := range cps {
		sig, err := hex.DecodeString(cp.Signature)
		if err != nil || pub == nil || !ed25519.Verify(pub, cp.signedBytes(), sig) {
			return archive.VerifyResult{OK: false, Events: res.Events, FirstBadSeq: cp.Seq,
				Reason: fmt.Sprintf("checkpoint at event %d has no valid signature from this deployment's audit key", cp.Seq)}, len(cps), nil
		}
		h, err := s.Catalog.EventHash(ctx, cp.Seq)
		if errors.Is(err, archive.ErrNotFound) {
			first := res.Events + 1
			if first > cp.Seq {
				first = cp.Seq
			}
			return archive.VerifyResult{OK: false, Events: res.Events, FirstBadSeq: first,
				Reason: fmt.Sprintf("checkpoint at event %d no longer matches: events from %d on were removed from the catalog", cp.Seq, first)}, len(cps), nil
		}
		if err != nil {
			return res, len(cps), err
		}
		if h != cp.Hash {
			return archive.VerifyResult{OK: false, Events: res.Events, FirstBadSeq: s.firstDivergence(ctx, cp),
				Reason: fmt.Sprintf("checkpoint at event %d no longer matches: the chain was rewritten", cp.Seq)}, len(cps), nil
		}
	}
	return res, len(cps), nil
}

// firstDivergence finds, from the checkpoint's segment, the first event whose
// stored hash differs from what was checkpointed.
func (s *Service) firstDivergence(ctx context.Context, cp *CheckpointDoc) int64 {
	b, err := s.readObject(ctx, cp.SegmentKey, 1<<30)
	if err != nil {
		return cp.Seq
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		var e sqlite.RawEvent
		if dec.Decode(&e) != nil {
			return cp.Seq
		}
		if h, err := s.Catalog.EventHash(ctx, e.Seq); err != nil || h != e.Hash {
			return e.Seq
		}
	}
}

// RestoreAudit reloads the audit trail from the segments in storage (for
// `vanthu rebuild`), up to the last checkpoint. It returns the events restored.
func (s *Service) RestoreAudit(ctx context.Context, pub ed25519.PublicKey) (int, error) {
	cps, err := s.readCheckpoints(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, cp := range cps {
		sig, err := hex.DecodeString(cp.Signature)
		if err != nil || (pub != nil && !ed25519.Verify(pub, cp.signedBytes(), sig)) {
			return n, fmt.Errorf("checkpoint at event %d has an invalid signature; refusing to restore from it", cp.Seq)
		}
		b, err := s.readObject(ctx, cp.SegmentKey, 1<<30)
		if err != nil {
			return n, fmt.Errorf("segment %s: %w", cp.SegmentKey, err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != cp.SegmentSHA256 {
			return n, fmt.Errorf("segment %s does not match its checkpoint", cp.SegmentKey)
		}
		var evs []sqlite.RawEvent
		dec := json.NewDecoder(bytes.NewReader(b))
		for {
			var e sqlite.RawEvent
			if err := dec.Decode(&e); err == io.EOF {
				break
			} else if err != nil {
				return n, fmt.Errorf("segment %s: %w", cp.SegmentKey, err)
			}
			evs = append(evs, e)
		}
		if err := s.Catalog.Update(ctx, func(tx *sqlite.Tx) error { return tx.RestoreEvents(ctx, evs) }); err != nil {
			return n, err
		}
		if err := s.Catalog.RecordCheckpoint(ctx, sqlite.Checkpoint{Seq: cp.Seq, Hash: cp.Hash, At: parseRFC3339(cp.At), ObjectKey: checkpointKey(cp.Seq)}); err != nil {
			return n, err
		}
		n += len(evs)
	}
	return n, nil
}

func parseRFC3339(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

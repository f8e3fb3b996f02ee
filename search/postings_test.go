package search

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	index "github.com/blevesearch/bleve_index_api"

	"vanthu/archive"
)

// posting is what a term reader says about one document.
type posting struct {
	id    uint64
	freq  uint64
	norm  float64
	vecs  string
	found bool
}

func readPosting(d *index.TermFieldDoc) posting {
	var b strings.Builder
	for _, v := range d.Vectors {
		fmt.Fprintf(&b, "%s:%d-%d@%d;", v.Field, v.Start, v.End, v.Pos)
	}
	return posting{id: d.ID.Value(), freq: d.Freq, norm: d.Norm, vecs: b.String(), found: true}
}

// TestPostingsAdvanceMatchesNext checks the patched zapx (search/zapx,
// VANTHU.md): advancing a term reader to any document gives the posting,
// frequency, norm and term locations that walking it with Next finds, on
// posting lists long enough to span several freq/norm chunks, with and
// without deleted documents in the segments.
func TestPostingsAdvanceMatchesNext(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	words := strings.Fields("kế hoạch đối ngoại báo cáo kết quả kiểm tra hóa chất người lao động")
	var docs []Doc
	for i := range 6000 {
		var b strings.Builder
		for range 3 + rng.IntN(40) {
			// Skewed: the first words are in nearly every document, the
			// last ones in few.
			b.WriteString(words[min(rng.IntN(len(words)), rng.IntN(len(words)))])
			b.WriteByte(' ')
		}
		docs = append(docs, Doc{ID: fmt.Sprintf("p%05d", i), Type: "KH", Classification: archive.Unclassified, Subject: "s", Body: b.String()})
	}
	ix := newIndex(t, docs[:3500])
	if err := ix.Index(docs[3500:]); err != nil {
		t.Fatal(err)
	}
	for _, deleted := range []bool{false, true} {
		if deleted {
			var gone []string
			for i := 0; i < len(docs); i += 7 {
				gone = append(gone, docs[i].ID)
			}
			if err := ix.Delete(gone); err != nil {
				t.Fatal(err)
			}
		}
		r, err := ix.reader()
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range words {
			tfr, err := r.TermFieldReader(ctx, []byte(w), fBody, true, true, true)
			if err != nil {
				t.Fatal(err)
			}
			var all []posting
			for {
				d, err := tfr.Next(nil)
				if err != nil {
					t.Fatal(err)
				}
				if d == nil {
					break
				}
				all = append(all, readPosting(d))
			}
			tfr.Close()
			if w == words[0] && len(all) < 3000 {
				t.Fatalf("%q is in %d documents: too few for several chunks", w, len(all))
			}
			for _, step := range []int{1, 3, 50, 700, 2500} {
				tfr, err := r.TermFieldReader(ctx, []byte(w), fBody, true, true, true)
				if err != nil {
					t.Fatal(err)
				}
				next := 0 // all[next] is the first posting not yet passed
				for target := uint64(rng.IntN(step)); ; target += uint64(1 + rng.IntN(2*step)) {
					for next < len(all) && all[next].id < target {
						next++
					}
					var want posting
					if next < len(all) {
						want = all[next]
					}
					d, err := tfr.Advance(index.NewIndexInternalID(nil, target), nil)
					if err != nil {
						t.Fatal(err)
					}
					var got posting
					if d != nil {
						got = readPosting(d)
					}
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("deleted=%v %q step %d: Advance(%d) = %+v, Next finds %+v", deleted, w, step, target, got, want)
					}
					if d == nil {
						break
					}
					// Sometimes read on with Next from there.
					if rng.IntN(4) == 0 {
						next++
						d, err := tfr.Next(nil)
						if err != nil {
							t.Fatal(err)
						}
						want, got = posting{}, posting{}
						if next < len(all) {
							want = all[next]
						}
						if d != nil {
							got = readPosting(d)
						}
						if !reflect.DeepEqual(got, want) {
							t.Fatalf("deleted=%v %q: Next after Advance = %+v, want %+v", deleted, w, got, want)
						}
						if d == nil {
							break
						}
						target = got.id
					}
				}
				tfr.Close()
			}
		}
		r.Close()
	}
}

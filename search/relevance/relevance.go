// Package relevance measures search quality on ALQAC 2022, a public
// Vietnamese legal retrieval benchmark: law articles are indexed with the
// production mapping and questions go through the same Index.Search the
// API uses. cmd/vanthu-relevance prints the figures; TestRelevanceALQAC
// keeps them from regressing.
package relevance

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"vanthu/archive"
	"vanthu/ingest/vietnamese"
	"vanthu/search"
)

// Question is a benchmark question and the ids of the articles that answer it.
type Question struct {
	ID       string
	Text     string
	Relevant map[string]bool
}

// Metrics are averaged over questions.
type Metrics struct {
	Questions  int
	RecallAt1  float64 // share of relevant articles found at rank 1
	RecallAt10 float64
	MRR10      float64 // mean reciprocal rank of the first relevant article, 0 past 10
}

func (m Metrics) String() string {
	return fmt.Sprintf("questions %d  recall@1 %.3f  recall@10 %.3f  MRR@10 %.3f", m.Questions, m.RecallAt1, m.RecallAt10, m.MRR10)
}

func docID(law, article string) string { return law + "#" + article }

// Load reads law.json and question.json from dir. An article's first line
// is its title ("Phạm vi điều chỉnh"); it becomes the subject, as "Điều N.
// title", the way a trích yếu heads a document; the body is the whole
// text, title included, as extracted text of a real document would be.
func Load(dir string) ([]search.Doc, []Question, error) {
	var laws []struct {
		ID       string `json:"id"`
		Articles []struct {
			ID   string `json:"id"`
			Text string `json:"text"`
		} `json:"articles"`
	}
	var qs []struct {
		ID       string `json:"question_id"`
		AltID    string `json:"id"`
		Text     string `json:"text"`
		Relevant []struct {
			Law     string `json:"law_id"`
			Article string `json:"article_id"`
		} `json:"relevant_articles"`
	}
	if err := readJSON(filepath.Join(dir, "law.json"), &laws); err != nil {
		return nil, nil, err
	}
	if err := readJSON(filepath.Join(dir, "question.json"), &qs); err != nil {
		return nil, nil, err
	}
	var docs []search.Doc
	for _, l := range laws {
		for _, a := range l.Articles {
			title, _, ok := strings.Cut(a.Text, "\n")
			subject := "Điều " + a.ID
			if ok && len(title) < 300 {
				subject += ". " + strings.TrimSpace(title)
			}
			docs = append(docs, search.Doc{
				ID: docID(l.ID, a.ID), Number: l.ID, Type: "Luật",
				Subject: subject, Body: a.Text,
			})
		}
	}
	var out []Question
	for _, q := range qs {
		rel := map[string]bool{}
		for _, r := range q.Relevant {
			rel[docID(r.Law, r.Article)] = true
		}
		id := q.ID
		if id == "" {
			id = q.AltID
		}
		out = append(out, Question{ID: id, Text: q.Text, Relevant: rel})
	}
	return docs, out, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Build indexes docs into a new index in dir, in batches like a rebuild.
func Build(dir string, docs []search.Doc) (*search.Index, error) {
	ix, err := search.Open(dir)
	if err != nil {
		return nil, err
	}
	const batch = 500
	for i := 0; i < len(docs); i += batch {
		if err := ix.Index(docs[i:min(i+batch, len(docs))]); err != nil {
			ix.Close()
			return nil, err
		}
	}
	return ix, nil
}

// Evaluate runs every question (folded: with diacritics stripped) with
// clearance none and no facets, as an officer's plain search would.
func Evaluate(ctx context.Context, ix *search.Index, qs []Question, folded bool) (Metrics, error) {
	var m Metrics
	for _, q := range qs {
		if len(q.Relevant) == 0 {
			continue
		}
		text := q.Text
		if folded {
			text = vietnamese.Fold(text)
		}
		res, err := ix.Search(ctx, search.Request{Q: text, Size: 10, Clearance: archive.Unclassified})
		if err != nil {
			return m, fmt.Errorf("question %s %q: %w", q.ID, text, err)
		}
		m.Questions++
		found1, found10 := 0, 0
		rr := 0.0
		for rank, h := range res.Hits {
			if !q.Relevant[h.ID] {
				continue
			}
			if rank == 0 {
				found1++
			}
			found10++
			if rr == 0 {
				rr = 1 / float64(rank+1)
			}
		}
		m.RecallAt1 += float64(found1) / float64(len(q.Relevant))
		m.RecallAt10 += float64(found10) / float64(len(q.Relevant))
		m.MRR10 += rr
	}
	if m.Questions > 0 {
		n := float64(m.Questions)
		m.RecallAt1 /= n
		m.RecallAt10 /= n
		m.MRR10 /= n
	}
	return m, nil
}

// Command vanthu-relevance measures search relevance on ALQAC 2022: it
// indexes the law articles with the production mapping in a temporary
// directory and prints recall@1, recall@10 and MRR@10 for the questions
// as written and with diacritics stripped.
//
//	go run ./cmd/vanthu-relevance [-corpus ../shared/corpus/alqac2022]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"vanthu/search/relevance"
)

func main() {
	corpus := flag.String("corpus", "../shared/corpus/alqac2022", "directory with law.json and question.json")
	flag.Parse()
	if err := run(context.Background(), *corpus); err != nil {
		fmt.Fprintln(os.Stderr, "vanthu-relevance:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, corpus string) error {
	docs, qs, err := relevance.Load(corpus)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "vanthu-relevance-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	start := time.Now()
	ix, err := relevance.Build(filepath.Join(tmp, "index"), docs)
	if err != nil {
		return err
	}
	defer ix.Close()
	fmt.Printf("indexed %d articles in %s\n", len(docs), time.Since(start).Round(time.Millisecond))
	for _, folded := range []bool{false, true} {
		start := time.Now()
		m, err := relevance.Evaluate(ctx, ix, qs, folded)
		if err != nil {
			return err
		}
		label := "accented  "
		if folded {
			label = "unaccented"
		}
		fmt.Printf("%s %s  (%s)\n", label, m, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

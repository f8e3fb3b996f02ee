package main

import "context"


func (b *bench) upload(ctx context.Context) error  { return nil }
func (b *bench) reindex(ctx context.Context) error { return nil }

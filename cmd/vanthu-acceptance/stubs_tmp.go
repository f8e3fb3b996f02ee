package main

func storageFaultsScenario(r *R) { r.Skipf("todo") }
func diskFullScenario(r *R)      { r.Skipf("todo") }
func concurrencyScenario(r *R)   { r.Skipf("todo") }
func hostileScenario(r *R)       { r.Skipf("todo") }
func loadScenario(r *R)          { r.Skipf("todo") }

package main

func storageFaultsScenario(r *R) { r.Skipf("todo") }
func diskFullScenario(r *R)      { r.Skipf("todo") }
func loadScenario(r *R)          { r.Skipf("todo") }

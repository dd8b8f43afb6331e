//go:build !linux

package reconcile

func diskSize(string) int64 { return 0 }

func bootID() string { return "" }

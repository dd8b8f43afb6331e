// Command gen writes k2d's OpenAPI documents into codec/openapi: run it from the module root
// with "go run ./codec/openapi/gen" after changing codec.Kinds or upgrading k8s.io/api. The
// package test fails until the committed files match what it writes.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/k2d-project/k2d/codec"
	"github.com/k2d-project/k2d/codec/openapi/internal/generator"
)

func main() {
	_, self, _, _ := runtime.Caller(0)
	out := flag.String("out", filepath.Dir(filepath.Dir(self)), "directory of package codec/openapi")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	docs, err := generator.Build(codec.Kinds)
	if err != nil {
		return err
	}
	files, err := generator.Files(docs)
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, f := range files {
		path := filepath.Join(dir, filepath.FromSlash(f.Name))
		keep[path] = true
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("cannot create %s: %w", filepath.Dir(path), err)
		}
		if err := os.WriteFile(path, f.Data, 0o644); err != nil {
			return fmt.Errorf("cannot write %s: %w", path, err)
		}
		fmt.Printf("%s\t%d bytes\n", f.Name, len(f.Data))
	}
	// Drop documents of group-versions no longer served.
	stale, err := filepath.Glob(filepath.Join(dir, "v3", "*.json.gz"))
	if err != nil {
		return err
	}
	for _, path := range stale {
		if !keep[path] && strings.HasSuffix(path, ".json.gz") {
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("cannot remove %s: %w", path, err)
			}
		}
	}
	for _, d := range append([]generator.Doc{docs.V2}, docs.V3...) {
		name := d.Path
		if name == "" {
			name = "v2"
		}
		fmt.Printf("%s\t%d bytes uncompressed\n", name, len(d.JSON))
	}
	return nil
}

package dockerio

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

func BenchmarkDemux(b *testing.B) {
	var in []byte
	for i := 0; i < 1000; i++ {
		in = AppendFrame(in, byte(1+i%2), []byte("2024-01-01T00:00:00.000000000Z a log line of ordinary length\n"))
	}
	r := bytes.NewReader(in)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(in)
		if err := Demux(r, io.Discard, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkContainerInspect measures one pooled round trip and decode of a real inspect
// answer (testdata/container-inspect.json) against the in-process fake engine.
func BenchmarkContainerInspect(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("testdata", "container-inspect.json"))
	if err != nil {
		b.Fatal(err)
	}
	f := newFake(b)
	f.handle("GET /containers/{id}/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	c := f.client(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.ContainerInspect(ctx, "abc"); err != nil {
			b.Fatal(err)
		}
	}
}

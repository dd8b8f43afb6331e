package reconcile

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// archiveTar is what archive/tar writes for one regular file: the reference writeOneFileTar
// must match byte for byte.
func archiveTar(t *testing.T, name string, mode int64, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{Name: name, Mode: mode, Size: int64(len(data)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestOneFileTarMatchesArchiveTar(t *testing.T) {
	names := []string{"k2d", "a", strings.Repeat("n", 99), strings.Repeat("d/", 49) + "xy", "with space.bin"}
	sizes := []int{0, 1, 13, 511, 512, 513, 1023, 1024, 70001}
	for _, name := range names {
		for _, mode := range []int64{0o755, 0o644, 0o4755, 0} {
			for _, size := range sizes {
				data := bytes.Repeat([]byte{0xa5, 'k', 0}, size/3+1)[:size]
				var got bytes.Buffer
				if err := writeOneFileTar(&got, name, mode, int64(size), bytes.NewReader(data)); err != nil {
					t.Fatalf("%q %o %d: %v", name, mode, size, err)
				}
				if want := archiveTar(t, name, mode, data); !bytes.Equal(got.Bytes(), want) {
					t.Fatalf("%q mode %o size %d: %d bytes differ from archive/tar's %d", name, mode, size, got.Len(), len(want))
				}
			}
		}
	}
	// The size field is widest near its limit, 11 octal digits: compare the headers alone.
	const huge = 1<<33 - 1
	var got headerOnly
	if err := writeOneFileTar(&got, "k2d", 0o755, huge, zeros{}); err != errHeaderOnly {
		t.Fatalf("got %v, want the writer's error after the header", err)
	}
	var ref bytes.Buffer
	tw := tar.NewWriter(&ref)
	if err := tw.WriteHeader(&tar.Header{Name: "k2d", Mode: 0o755, Size: huge, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.hdr, ref.Bytes()) {
		t.Errorf("header of an 8 GiB file differs from archive/tar's")
	}
}

var errHeaderOnly = errors.New("header only")

// headerOnly keeps the first write and fails the next.
type headerOnly struct{ hdr []byte }

func (h *headerOnly) Write(p []byte) (int, error) {
	if h.hdr != nil {
		return 0, errHeaderOnly
	}
	h.hdr = bytes.Clone(p)
	return len(p), nil
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestOneFileTarRejects(t *testing.T) {
	cases := []struct {
		name       string
		mode, size int64
		data       string
		want       string
	}{
		{"", 0o644, 1, "x", "USTAR"},
		{strings.Repeat("n", 101), 0o644, 1, "x", "USTAR"},
		{"caf\u00e9", 0o644, 1, "x", "USTAR"},
		{"k2d", 0o644, 1 << 33, "", "USTAR"},
		{"k2d", -1, 1, "x", "USTAR"},
		{"k2d", 0o644, 3, "ab", "got 2 bytes of 3"},
		{"k2d", 0o644, 1, "ab", "longer than 1 bytes"},
	}
	for _, c := range cases {
		err := writeOneFileTar(io.Discard, c.name, c.mode, c.size, strings.NewReader(c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q mode %o size %d data %q: %v, want an error with %q", c.name, c.mode, c.size, c.data, err, c.want)
		}
	}
}

func TestSandboxTarMatchesArchiveTar(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "k2d")
	data := bytes.Repeat([]byte("\x7fELF k2d "), 1000)
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := writeSandboxTar(&got, bin); err != nil {
		t.Fatal(err)
	}
	if want := archiveTar(t, "k2d", 0o755, data); !bytes.Equal(got.Bytes(), want) {
		t.Error("the sandbox tar differs from archive/tar's")
	}
}

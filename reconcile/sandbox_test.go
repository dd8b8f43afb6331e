package reconcile

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
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

// elfFile writes a minimal ELF header with the given program header types.
func elfFile(t *testing.T, class byte, bo binary.ByteOrder, types ...uint32) string {
	t.Helper()
	b := make([]byte, 256)
	copy(b, "\x7fELF")
	b[4], b[5] = class, 1
	if bo == binary.BigEndian {
		b[5] = 2
	}
	const phoff, phentsize = 64, 56
	if class == 1 {
		bo.PutUint32(b[28:], phoff)
		bo.PutUint16(b[42:], phentsize)
		bo.PutUint16(b[44:], uint16(len(types)))
	} else {
		bo.PutUint64(b[32:], phoff)
		bo.PutUint16(b[54:], phentsize)
		bo.PutUint16(b[56:], uint16(len(types)))
	}
	for i, ty := range types {
		b = append(b, make([]byte, phentsize)...)
		bo.PutUint32(b[phoff+i*phentsize:], ty)
	}
	p := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckStatic(t *testing.T) {
	const load, interp, note = 1, 3, 4
	for _, c := range []struct {
		name  string
		class byte
		bo    binary.ByteOrder
		types []uint32
		want  error
	}{
		{"static 64-bit", 2, binary.LittleEndian, []uint32{load, load, note}, nil},
		{"dynamic 64-bit", 2, binary.LittleEndian, []uint32{6, interp, load}, errDynamic},
		{"static armv7", 1, binary.LittleEndian, []uint32{load, note}, nil},
		{"dynamic armv7", 1, binary.LittleEndian, []uint32{interp, load}, errDynamic},
		{"dynamic big-endian", 1, binary.BigEndian, []uint32{load, interp}, errDynamic},
	} {
		if err := checkStatic(elfFile(t, c.class, c.bo, c.types...)); err != c.want {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	notELF := filepath.Join(t.TempDir(), "script")
	os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755)
	if err := checkStatic(notELF); err == nil || err == errDynamic {
		t.Errorf("a script: %v", err)
	}
	short := elfFile(t, 2, binary.LittleEndian, interp)
	os.Truncate(short, 66)
	if err := checkStatic(short); err == nil || err == errDynamic {
		t.Errorf("a truncated program header table: %v", err)
	}
}

package dockerio

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestDemux(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 5000) // 80 KB: larger than the copy buffer
	var in []byte
	in = AppendFrame(in, 1, []byte("out1\n"))
	in = AppendFrame(in, 2, []byte("err1\n"))
	in = AppendFrame(in, 0, []byte("echoed-stdin\n"))
	in = AppendFrame(in, 1, nil) // empty frames happen
	in = AppendFrame(in, 1, big)
	in = AppendFrame(in, 2, []byte("err2"))

	for name, r := range map[string]io.Reader{
		"whole":      bytes.NewReader(in),
		"one-byte":   iotest.OneByteReader(bytes.NewReader(in)),
		"half-reads": iotest.HalfReader(bytes.NewReader(in)),
	} {
		var stdout, stderr bytes.Buffer
		if err := Demux(r, &stdout, &stderr); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := "out1\necho" + "ed-stdin\n" + string(big)
		if stdout.String() != want || stderr.String() != "err1\nerr2" {
			t.Fatalf("%s: stdout %d bytes, stderr %q", name, stdout.Len(), stderr.String())
		}
	}

	// nil writers discard.
	if err := Demux(bytes.NewReader(in), nil, nil); err != nil {
		t.Fatal(err)
	}
	// Empty input is a clean end.
	if err := Demux(bytes.NewReader(nil), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	// Truncated header and truncated payload.
	for _, cut := range []int{3, 8 + 2} {
		err := Demux(bytes.NewReader(in[:cut]), io.Discard, io.Discard)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut at %d: %v", cut, err)
		}
	}
	// A system-error frame ends the stream with the engine's message.
	sys := AppendFrame(AppendFrame(nil, 1, []byte("x")), 3, []byte("exec failed: no such file"))
	var de *Error
	if err := Demux(bytes.NewReader(sys), io.Discard, io.Discard); !errors.As(err, &de) || de.Message != "exec failed: no such file" {
		t.Fatal(err)
	}
	// A TTY (raw) stream passed by mistake is refused, not silently mangled.
	if err := Demux(strings.NewReader("hello world, this is raw"), io.Discard, io.Discard); err == nil {
		t.Fatal("want error for raw stream")
	}
	// Write errors stop the copy.
	werr := errors.New("client went away")
	if err := Demux(bytes.NewReader(in), failWriter{werr}, io.Discard); !errors.Is(err, werr) {
		t.Fatal(err)
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func TestDemuxAllocs(t *testing.T) {
	var in []byte
	for i := 0; i < 100; i++ {
		in = AppendFrame(in, byte(1+i%2), []byte("a log line of ordinary length\n"))
	}
	r := bytes.NewReader(in)
	allocs := testing.AllocsPerRun(100, func() {
		r.Reset(in)
		if err := Demux(r, io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Fatalf("Demux allocates %.1f times per stream", allocs)
	}
}

func FuzzDemux(f *testing.F) {
	f.Add(AppendFrame(AppendFrame(nil, 1, []byte("out")), 2, []byte("err")))
	f.Add([]byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{3, 0, 0, 0, 0, 0, 0, 1, 'x'})
	f.Fuzz(func(t *testing.T, in []byte) {
		var stdout, stderr bytes.Buffer
		err := Demux(bytes.NewReader(in), &stdout, &stderr)
		if stdout.Len()+stderr.Len() > len(in) {
			t.Fatalf("more output (%d) than input (%d)", stdout.Len()+stderr.Len(), len(in))
		}
		if err != nil {
			return
		}
		// A stream that demuxes cleanly re-encodes to a stream with the same output.
		var again bytes.Buffer
		var re []byte
		re = AppendFrame(re, 1, stdout.Bytes())
		re = AppendFrame(re, 2, stderr.Bytes())
		var e2 bytes.Buffer
		if err := Demux(bytes.NewReader(re), &again, &e2); err != nil || !bytes.Equal(again.Bytes(), stdout.Bytes()) || !bytes.Equal(e2.Bytes(), stderr.Bytes()) {
			t.Fatal("round trip differs")
		}
	})
}

package dockerio

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestBodyReader(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		cl       int
		want     string
		err      error
	}{
		{"length", "hello world", 5, "hello", nil},
		{"zero-length", "ignored", 0, "", nil},
		{"until-eof", "all of it", -2, "all of it", nil},
		{"chunked", "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\nNEXT", -1, "hello world", nil},
		{"chunked-upper-hex", "A\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n", -1, "0123456789", nil},
		{"chunked-lf-only", "3\nabc\n0\n\n", -1, "abc", nil},
		{"short-length", "abc", 10, "abc", io.ErrUnexpectedEOF},
		{"chunked-truncated", "5\r\nhel", -1, "hel", io.ErrUnexpectedEOF},
		{"chunked-no-end", "3\r\nabc\r\n", -1, "abc", io.ErrUnexpectedEOF},
		{"chunked-bad-size", "zz\r\nabc\r\n", -1, "", errBadChunk},
		{"chunked-missing-crlf", "3\r\nabcX\r\n0\r\n\r\n", -1, "abc", errBadChunk},
		{"chunked-huge-size", "ffffffffffffffffff\r\n", -1, "", errBadChunk},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, small := range []bool{false, true} {
				var r io.Reader = strings.NewReader(tc.in)
				if small {
					r = iotest.OneByteReader(r)
				}
				got, err := io.ReadAll(newBodyReader(bufio.NewReaderSize(r, 16), tc.cl))
				if string(got) != tc.want || !errors.Is(err, tc.err) {
					t.Fatalf("small=%v: got %q, %v; want %q, %v", small, got, err, tc.want, tc.err)
				}
			}
		})
	}
}

func FuzzChunkedRoundTrip(f *testing.F) {
	f.Add([]byte("hello"), uint16(3))
	f.Add(bytes.Repeat([]byte{0}, 70000), uint16(65535))
	f.Fuzz(func(t *testing.T, data []byte, step uint16) {
		var wire bytes.Buffer
		// Feed the writer in irregular reads so chunk sizes vary.
		r := io.Reader(bytes.NewReader(data))
		if step%2 == 1 {
			r = iotest.HalfReader(r)
		}
		if err := writeChunked(&wire, r); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(newBodyReader(bufio.NewReaderSize(&wire, 16+int(step%4096)), -1))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("round trip: %v, %d bytes of %d", err, len(got), len(data))
		}
		if wire.Len() != 0 {
			t.Fatalf("%d bytes left after the body", wire.Len())
		}
	})
}

func FuzzBodyReader(f *testing.F) {
	f.Add([]byte("5\r\nhello\r\n0\r\n\r\n"), int8(-1))
	f.Add([]byte("abc"), int8(2))
	f.Fuzz(func(t *testing.T, in []byte, cl int8) {
		n := int(cl)
		if n < -2 {
			n = -2
		}
		got, _ := io.ReadAll(newBodyReader(bufio.NewReaderSize(bytes.NewReader(in), 16), n))
		if len(got) > len(in) {
			t.Fatalf("read %d bytes from %d", len(got), len(in))
		}
	})
}

func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", 10000)
	in := "{\"a\":1}\r\n\r\n  \n" + long + "\n{\"last\":true}"
	lr := newLineReader(iotest.HalfReader(strings.NewReader(in)))
	var got []string
	for {
		line, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, strings.TrimSpace(string(line)))
	}
	if len(got) != 3 || got[0] != `{"a":1}` || got[1] != long || got[2] != `{"last":true}` {
		t.Fatalf("%d lines: %.40q", len(got), got)
	}
	lr = newLineReader(strings.NewReader(strings.Repeat("y", maxLineBytes+10)))
	if _, err := lr.next(); !errors.Is(err, ErrStreamTooLong) {
		t.Fatal(err)
	}
}

package codec

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// encGenerated is set by zz_generated.encode.go (go run ./codec/encgen): it appends the JSON
// of a value whose type has a generated encoder, and reports false for other types.
var encGenerated func(b []byte, v any) ([]byte, bool)

// encodeError carries a json.Marshaler's failure out of a generated encoder.
type encodeError struct{ err error }

// encBuffers holds encoding buffers between calls: an object is encoded into a pooled buffer
// and copied out at its exact size, so the stored JSON carries no spare capacity.
var encBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// marshal encodes v into a new slice of exactly its length.
func marshal(v any) ([]byte, error) {
	bp := encBuffers.Get().(*[]byte)
	b, err := appendJSON((*bp)[:0], v)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(b))
	copy(out, b)
	if cap(b) <= 1<<20 { // do not keep buffers of huge lists
		*bp = b[:0]
		encBuffers.Put(bp)
	}
	return out, nil
}

// appendJSON appends the JSON of v as encoding/json.Marshal would: generated encoders for the
// types k2d serves, encoding/json for the rest.
func appendJSON(b []byte, v any) (out []byte, err error) {
	if encGenerated != nil {
		defer func() {
			if r := recover(); r != nil {
				e, ok := r.(encodeError)
				if !ok {
					panic(r)
				}
				err = e.err
			}
		}()
		if out, ok := encGenerated(b, v); ok {
			return out, nil
		}
	}
	j, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	return append(b, j...), nil
}

// appendMarshaler appends what a json.Marshaler writes, compacted and HTML-escaped as
// encoding/json does with it.
func appendMarshaler(b []byte, m json.Marshaler) []byte {
	j, err := m.MarshalJSON()
	if err != nil {
		panic(encodeError{fmt.Errorf("json: error calling MarshalJSON for type %T: %w", m, err)})
	}
	start := len(b)
	b = appendCompact(b, j)
	if len(b) == start {
		panic(encodeError{fmt.Errorf("json: error calling MarshalJSON for type %T: empty output", m)})
	}
	return b
}

// appendCompact appends src without insignificant space, escaping <, >, & and U+2028/U+2029
// inside strings, as encoding/json does with a Marshaler's output. src must be valid JSON.
func appendCompact(b, src []byte) []byte {
	if !json.Valid(src) {
		panic(encodeError{fmt.Errorf("json: MarshalJSON returned invalid JSON: %q", src)})
	}
	inString, escaped := false, false
	for i := 0; i < len(src); i++ {
		c := src[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			case c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
				continue
			case c == 0xE2 && i+2 < len(src) && src[i+1] == 0x80 && src[i+2]&^1 == 0xA8:
				b = append(b, '\\', 'u', '2', '0', '2', hex[src[i+2]&0xF])
				i += 2
				continue
			}
			b = append(b, c)
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			inString = true
		}
		b = append(b, c)
	}
	return b
}

// appendTime writes what metav1.Time's MarshalJSON writes: null for the zero time, else
// RFC 3339 in UTC, in seconds.
func appendTime(b []byte, t *metav1.Time) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339)
	return append(b, '"')
}

// appendMicroTime writes what metav1.MicroTime's MarshalJSON writes.
func appendMicroTime(b []byte, t *metav1.MicroTime) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, metav1.RFC3339Micro)
	return append(b, '"')
}

// appendQuantity writes what resource.Quantity's MarshalJSON writes. It calls it: a decoded
// quantity keeps the text it was parsed from in an unexported field, which MarshalJSON
// writes as is, and q.String() would cache into the shared object.
func appendQuantity(b []byte, q *resource.Quantity) []byte {
	j, err := q.MarshalJSON()
	if err != nil {
		panic(encodeError{err})
	}
	return append(b, j...)
}

// appendIntOrString writes what intstr.IntOrString's MarshalJSON writes.
func appendIntOrString(b []byte, v *intstr.IntOrString) []byte {
	switch v.Type {
	case intstr.Int:
		return strconv.AppendInt(b, int64(v.IntVal), 10)
	case intstr.String:
		return appendString(b, v.StrVal)
	}
	panic(encodeError{fmt.Errorf("impossible IntOrString.Type")})
}

// appendAny encodes an interface value (Table cells, raw extensions) with encoding/json.
func appendAny(b []byte, v any) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	out, err := appendJSON(b, v)
	if err != nil {
		panic(encodeError{err})
	}
	return out
}

// appendBytes appends a []byte as encoding/json does: a base64 string.
func appendBytes(b, v []byte) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, v)
	return append(b, '"')
}

// appendFloat formats like encoding/json: the shortest representation, in exponent form only
// for very small or large magnitudes, with a two-digit minimum exponent cleaned to one digit.
func appendFloat(b []byte, f float64, bits int) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		panic(encodeError{fmt.Errorf("json: unsupported value: %s", strconv.FormatFloat(f, 'g', -1, bits))})
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// "1e-07" -> "1e-7"
		n := len(b) - start
		if n >= 4 && b[len(b)-4] == 'e' && b[len(b)-3] == '-' && b[len(b)-2] == '0' {
			b[len(b)-2] = b[len(b)-1]
			b = b[:len(b)-1]
		}
	}
	return b
}

const hex = "0123456789abcdef"

// jsonSafe marks the ASCII bytes encoding/json writes unescaped in a string (HTML-safe mode).
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return
}()

// appendString appends s as a JSON string exactly as encoding/json does: HTML-safe escapes,
// U+2028/U+2029 escaped, invalid UTF-8 replaced by U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// encSortedKeys returns a map's keys as strings in increasing order, as encoding/json writes them.
func encSortedKeys[K ~string, V any](m map[K]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, string(k))
	}
	slices.Sort(keys)
	return keys
}

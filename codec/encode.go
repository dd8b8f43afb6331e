package codec

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
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

// jsonPlain is jsonSafe over all byte values, as 0 or 1, for the 4-byte test of keyString on
// machines without wordCopy.
var jsonPlain = func() (t [256]byte) {
	for c, ok := range jsonSafe {
		if ok {
			t[c] = 1
		}
	}
	return
}()

// appendString appends s as a JSON string exactly as encoding/json does: HTML-safe escapes,
// U+2028/U+2029 escaped, invalid UTF-8 replaced by U+FFFD.
func appendString(b []byte, s string) []byte {
	e := encoder{b: b}
	e.keyString(0, s)
	return e.b
}

// encoder is the state of the generated encoders (zz_generated.encode.go): the JSON written so
// far. They pass it by pointer and call one small method per member or value, because every
// inline append costs a capacity check and a growslice call at its site, and on 32-bit ARM,
// where arguments and results go through the stack, a []byte passed in and out costs six
// stores and loads per call: this makes the generated code a fifth of its size with inline
// appends.
// The methods called by generated code are kept out of line (go:noinline): inlined at each of
// their thousands of sites, they would undo the saving.
//
// Members are written with a leading comma, and close turns the first one into the object's
// '{': no separator state, no branch per member.
type encoder struct {
	b []byte
}

// encKey locates a member key in encKeyData: its offset shifted left by 7, or'ed with its
// length (at most keyPad). A key is written with its leading comma and its colon, and the
// opening bracket of an array or object value that cannot be null. The generated code names
// one constant per key; one word per call, where a string is two.
type encKey uint32

// keyPad is the longest key, and the padding after the last key in encKeyData.
const keyPad = 64

// encKeyData holds the keys of the generated encoders end to end, padded with keyPad bytes;
// zz_generated.encode.go sets it. Until then it is the padding alone, for encKey 0, the empty
// key, which appendString uses.
var encKeyData = strings.Repeat(" ", keyPad)

// wordCopy is set on machines that load and store unaligned words in one instruction. There
// appendKey copies keyPad bytes in four 16-byte moves, inline and branch-free, cheaper than the
// memmove call of the exact length that each of a pod's 200 members would pay, and keyString
// tests 8 bytes of a string at a time. Elsewhere (32-bit ARM loads and stores unaligned bytes
// one at a time) appendKey appends the exact length and keyString tests 4 bytes by table.
const wordCopy = runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64"

// appendKey appends the key k. With wordCopy, b must have keyPad bytes of spare capacity
// (reserveKey): it writes all of them, and later appends overwrite those past the key. Small
// enough to be inlined; a move longer than 16 bytes would be a memmove call.
func appendKey(b []byte, k encKey) []byte {
	if !wordCopy {
		return append(b, encKeyData[k>>7:k>>7+k&127]...)
	}
	l := len(b)
	d, s := (*[keyPad]byte)(b[l:l+keyPad]), encKeyData[k>>7:][:keyPad]
	copy(d[0:16], s[0:16])
	copy(d[16:32], s[16:32])
	copy(d[32:48], s[32:48])
	copy(d[48:64], s[48:64])
	return b[:l+int(k&127)]
}

// reserveKey returns b with the spare capacity appendKey needs.
func reserveKey(b []byte) []byte {
	if wordCopy && cap(b)-len(b) < keyPad {
		return growKey(b)
	}
	return b
}

// growKey is reserveKey's rare path, out of line to keep reserveKey inlinable.
//
//go:noinline
func growKey(b []byte) []byte {
	return slices.Grow(b, keyPad)
}

// set stores b, the result of appending to e.b, and writes only its length when the appends
// did not move it (same capacity: growing always raises it), which needs no write barrier.
// Every appender the methods call appends to the slice it is given.
func (e *encoder) set(b []byte) {
	if cap(b) == cap(e.b) {
		e.b = e.b[:len(b)]
	} else {
		e.b = b
	}
}

// close ends the object whose members began at start: the comma before the first member
// becomes '{', or the object is empty.
//
//go:noinline
func (e *encoder) close(start int) {
	if len(e.b) == start {
		e.b = append(e.b, "{}"...)
		return
	}
	e.b[start] = '{'
	e.b = append(e.b, '}')
}

// byte appends c: a bracket or a comma between array elements.
//
//go:noinline
func (e *encoder) byte(c byte) {
	e.b = append(e.b, c)
}

// key appends an object member's key.
//
//go:noinline
func (e *encoder) key(k encKey) {
	e.set(appendKey(reserveKey(e.b), k))
}

// keyString appends a member whose value is the string s; with key 0, the string alone.
//
// It holds the escaping loop of appendString itself, rather than calling it, which costs a call
// per member. It tests 8 bytes at a time (4 without wordCopy) for any that needs attention.
//
//go:noinline
func (e *encoder) keyString(k encKey, s string) {
	b := append(appendKey(reserveKey(e.b), k), '"')
	start := 0
	for i := 0; i < len(s); {
		if wordCopy && len(s)-i >= 8 && plain8(load64(s[i:])) {
			i += 8
			continue
		}
		if !wordCopy && len(s)-i >= 4 && jsonPlain[s[i]]&jsonPlain[s[i+1]]&jsonPlain[s[i+2]]&jsonPlain[s[i+3]] != 0 {
			i += 4
			continue
		}
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
	e.set(append(b, '"'))
}

// keyInt appends a member whose value is the integer i.
//
//go:noinline
func (e *encoder) keyInt(k encKey, i int64) {
	e.set(strconv.AppendInt(appendKey(reserveKey(e.b), k), i, 10))
}

// keyBool appends a member whose value is the boolean x.
//
//go:noinline
func (e *encoder) keyBool(k encKey, x bool) {
	e.set(strconv.AppendBool(appendKey(reserveKey(e.b), k), x))
}

// keyTime, keyMicroTime, keyQuantity and keyIntOrString append a member whose value is of one
// of the special types (encgen's special).
//
//go:noinline
func (e *encoder) keyTime(k encKey, t *metav1.Time) {
	e.set(appendTime(appendKey(reserveKey(e.b), k), t))
}

//go:noinline
func (e *encoder) keyMicroTime(k encKey, t *metav1.MicroTime) {
	e.set(appendMicroTime(appendKey(reserveKey(e.b), k), t))
}

//go:noinline
func (e *encoder) keyQuantity(k encKey, q *resource.Quantity) {
	e.set(appendQuantity(appendKey(reserveKey(e.b), k), q))
}

//go:noinline
func (e *encoder) keyIntOrString(k encKey, v *intstr.IntOrString) {
	e.set(appendIntOrString(appendKey(reserveKey(e.b), k), v))
}

// mapKey appends the key k of the i-th entry of a map, after a comma unless it is the first.
//
//go:noinline
func (e *encoder) mapKey(i int, k string) {
	b := e.b
	if i > 0 {
		b = append(b, ',')
	}
	e.set(append(appendString(b, k), ':'))
}

// The methods below append one value, as encoding/json writes it.

//go:noinline
func (e *encoder) null() {
	e.b = append(e.b, "null"...)
}

//go:noinline
func (e *encoder) string(s string) {
	e.set(appendString(e.b, s))
}

//go:noinline
func (e *encoder) int(i int64) {
	e.set(strconv.AppendInt(e.b, i, 10))
}

//go:noinline
func (e *encoder) uint(u uint64) {
	e.set(strconv.AppendUint(e.b, u, 10))
}

//go:noinline
func (e *encoder) bool(x bool) {
	e.set(strconv.AppendBool(e.b, x))
}

//go:noinline
func (e *encoder) float(f float64, bits int) {
	e.set(appendFloat(e.b, f, bits))
}

//go:noinline
func (e *encoder) bytes(v []byte) {
	e.set(appendBytes(e.b, v))
}

//go:noinline
func (e *encoder) any(v any) {
	e.set(appendAny(e.b, v))
}

//go:noinline
func (e *encoder) marshaler(m json.Marshaler) {
	e.set(appendMarshaler(e.b, m))
}

//go:noinline
func (e *encoder) time(t *metav1.Time) {
	e.set(appendTime(e.b, t))
}

//go:noinline
func (e *encoder) microTime(t *metav1.MicroTime) {
	e.set(appendMicroTime(e.b, t))
}

//go:noinline
func (e *encoder) quantity(q *resource.Quantity) {
	e.set(appendQuantity(e.b, q))
}

//go:noinline
func (e *encoder) intOrString(v *intstr.IntOrString) {
	e.set(appendIntOrString(e.b, v))
}

// plain8 tells whether the 8 bytes in x are all ones a JSON string holds as they are: ASCII,
// not a control character, '"', '\\', '<', '>' or '&' (jsonSafe).
func plain8(x uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	// Each term has the high bit of a byte set where that byte (or, for borrows, one before it
	// in a word that has one anyway) is: a control or non-ASCII; '"' or '&' (0x22, 0x26: or'ing
	// 0x04 makes both, and only them, 0x26); '<' or '>' (0x3c, 0x3e, likewise with 0x02); '\\'.
	zero := func(v uint64) uint64 { return (v - lo) &^ v }
	t := x | (x - 0x20*lo) | zero((x|0x04*lo)^(0x26*lo)) | zero((x|0x02*lo)^(0x3e*lo)) | zero(x^('\\'*lo))
	return t&hi == 0
}

// load64 reads the first 8 bytes of s, little endian (one load where the compiler can).
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// encStrings appends a slice of strings, null when nil.
func encStrings[S ~string](e *encoder, s []S) {
	e.set(appendStrings(e.b, s))
}

// encKeyStrings appends a member whose value is a slice of strings.
func encKeyStrings[S ~string](e *encoder, k encKey, s []S) {
	e.set(appendStrings(appendKey(reserveKey(e.b), k), s))
}

func appendStrings[S ~string](b []byte, s []S) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, x := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, string(x))
	}
	return append(b, ']')
}

// encStringMap appends a map of strings, keys in order, null when nil.
func encStringMap[K, V ~string](e *encoder, m map[K]V) {
	e.set(appendStringMap(e.b, m))
}

// encKeyStringMap appends a member whose value is a map of strings.
func encKeyStringMap[K, V ~string](e *encoder, k encKey, m map[K]V) {
	e.set(appendStringMap(appendKey(reserveKey(e.b), k), m))
}

func appendStringMap[K, V ~string](b []byte, m map[K]V) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	for i, k := range encSortedKeys(m) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendString(b, k), ':')
		b = appendString(b, string(m[K(k)]))
	}
	return append(b, '}')
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

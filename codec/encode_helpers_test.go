package codec

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// safe is jsonSafe extended to every byte: non-ASCII bytes need the slow path.
func safe(c byte) bool { return c < utf8.RuneSelf && jsonSafe[c] }

// TestPlain8 checks the 8-byte test of keyString against jsonSafe: every byte value at every
// position of an otherwise plain word, after bytes that borrow, and random words.
func TestPlain8(t *testing.T) {
	for _, fill := range []byte{'a', ' ', '~', 0x7f, '0'} {
		for c := 0; c < 256; c++ {
			for p := 0; p < 8; p++ {
				w := bytes.Repeat([]byte{fill}, 8)
				w[p] = byte(c)
				if got, want := plain8(binary.LittleEndian.Uint64(w)), safe(byte(c)); got != want {
					t.Fatalf("plain8(%q) = %v, want %v", w, got, want)
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("aZ09 ~\x7f\"\\<>&\x00\x1f\x20\x21\x22\x25\x26\x27\x3b\x3c\x3d\x3e\x3f\x5b\x5c\x5d\x80\xc3\xff")
	for i := 0; i < 200000; i++ {
		var w [8]byte
		want := true
		for j := range w {
			w[j] = alphabet[r.IntN(len(alphabet))]
			want = want && safe(w[j])
		}
		if got := plain8(binary.LittleEndian.Uint64(w[:])); got != want {
			t.Fatalf("plain8(%q) = %v, want %v", w, got, want)
		}
	}
}

// TestAppendStringMatchesEncodingJSON checks appendString and the keyString loop on strings
// of every length around the 8-byte steps, with the characters that need escaping anywhere.
func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	parts := []string{"a", "abcdefgh", "<", ">", "&", "\"", "\\", "\n", "\t", "\x01", "\x7f", "\u2028", "\u2029", "é", "\xff", "日本", " ", "\xe2\x80"}
	r := rand.New(rand.NewPCG(3, 4))
	check := func(s string) {
		t.Helper()
		want, _ := json.Marshal(s)
		if got := appendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("appendString(%q) = %s, want x%s", s, got, want)
		}
	}
	for n := 0; n < 40; n++ {
		check(strings.Repeat("k", n))
	}
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		for n := r.IntN(12); n > 0; n-- {
			b.WriteString(parts[r.IntN(len(parts))])
		}
		check(b.String())
	}
}

// TestAppendKey writes keys into buffers with every amount of spare capacity: the fixed-size
// copy must grow a buffer that is too short and keep exactly the key.
func TestAppendKey(t *testing.T) {
	saved := encKeyData
	defer func() { encKeyData = saved }()
	keys := []string{",\"a\":", ",\"name\":", ",\"terminationGracePeriodSeconds\":", "," + strings.Repeat("k", keyPad-1)}
	var data string
	var ks []encKey
	for _, k := range keys {
		ks = append(ks, encKey(len(data)<<7|len(k)))
		data += k
	}
	encKeyData = data + strings.Repeat(" ", keyPad)
	for spare := 0; spare <= keyPad+1; spare++ {
		for i, k := range ks {
			b := make([]byte, 3, 3+spare)
			copy(b, "abc")
			e := encoder{b: b}
			e.key(k)
			if got, want := string(e.b), "abc"+keys[i]; got != want {
				t.Fatalf("spare %d: key %q wrote %q", spare, keys[i], got)
			}
		}
	}
}

// TestEncoderObjects checks the separator handling: empty objects, a first member that is
// omitted, objects nested in arrays, and JSON appended after existing bytes.
func TestEncoderObjects(t *testing.T) {
	cases := []any{
		&metav1.Status{},
		&metav1.Status{Details: &metav1.StatusDetails{}},
		&corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{}, {Name: "a"}, {}}}},
		&corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{}, Volumes: []corev1.Volume{{}}}},
		&corev1.PodList{Items: []corev1.Pod{{}, {}}},
		&corev1.ConfigMap{Data: map[string]string{}, BinaryData: map[string][]byte{"b": nil, "a": {}}},
		&corev1.Service{Spec: corev1.ServiceSpec{Selector: map[string]string{"z": "1", "a": "<"}, Ports: []corev1.ServicePort{{Port: 1}}}},
		(*corev1.Pod)(nil),
	}
	for _, v := range cases {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		for _, prefix := range []string{"", "[", "{\"a\":", "x"} {
			got, err := appendJSON([]byte(prefix), v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != prefix+string(want) {
				t.Errorf("%T after %q:\n got %s\nwant %s%s", v, prefix, got, prefix, want)
			}
		}
	}
}

package cache

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/k2d-project/k2d/codec"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var secretKind = codec.KindFor("", "v1", "secrets")

func testEncryption(t *testing.T, key byte) *Encryption {
	t.Helper()
	e, err := NewEncryption(bytes.Repeat([]byte{key}, KeySize), "secrets")
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func secret(name, value string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"password": []byte(value)},
	}
}

// grepDir returns the files under dir that contain s.
func grepDir(t *testing.T, dir, s string) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(s)) {
			hits = append(hits, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

func TestSecretsEncryptedAtRest(t *testing.T) {
	dir := t.TempDir()
	c, err := New(Options{Dir: dir, Persisted: persistAll, Encryption: testEncryption(t, 1)})
	if err != nil {
		t.Fatal(err)
	}
	const value = "hunter2-plaintext-value"
	if _, err := c.Create(secretKind, secret("db", value)); err != nil {
		t.Fatal(err)
	}
	// base64 is how JSON carries []byte: neither form may reach the disk.
	for _, s := range []string{value, "aHVudGVyMi1wbGFpbnRleHQtdmFsdWU", "password"} {
		if hits := grepDir(t, dir, s); len(hits) > 0 {
			t.Fatalf("%q is readable on disk in %v", s, hits)
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "objects", "secrets", "default", "db.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, []byte("k2d:enc:aesgcm:v1:")) {
		t.Fatalf("secret file does not start with the format prefix: %.40q", raw)
	}
	// Pods are not encrypted.
	if _, err := c.Create(podKind, pod("default", "web")); err != nil {
		t.Fatal(err)
	}
	if hits := grepDir(t, dir, `"busybox"`); len(hits) != 1 {
		t.Fatalf("pod should be plain JSON, found in %v", hits)
	}

	c2, err := New(Options{Dir: dir, Persisted: persistAll, Encryption: testEncryption(t, 1)})
	if err != nil {
		t.Fatal(err)
	}
	skipped, err := c2.Load()
	if err != nil || len(skipped) > 0 {
		t.Fatalf("load: %v %v", skipped, err)
	}
	e, ok := c2.Get("secrets", "default", "db")
	if !ok || string(e.Obj.(*corev1.Secret).Data["password"]) != value {
		t.Fatalf("secret after reload: %v %v", ok, e)
	}
	// An update that changes nothing on disk is not written again (no SD-card wear).
	st, _ := os.Stat(filepath.Join(dir, "objects", "secrets", "default", "db.json"))
	cp := e.Obj.DeepCopyObject().(*corev1.Secret)
	cp.ResourceVersion = ""
	if _, err := c2.Update(secretKind, cp); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "objects", "secrets", "default", "db.json"))
	if st2, _ := os.Stat(filepath.Join(dir, "objects", "secrets", "default", "db.json")); !st2.ModTime().Equal(st.ModTime()) || !bytes.Equal(after, raw) {
		t.Fatal("an unchanged secret was written again")
	}
}

func TestEncryptedLoadFailuresAreReported(t *testing.T) {
	dir := t.TempDir()
	c, _ := New(Options{Dir: dir, Persisted: persistAll, Encryption: testEncryption(t, 1)})
	if _, err := c.Create(secretKind, secret("db", "v")); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "objects", "secrets", "default", "db.json")

	for _, tc := range []struct {
		name string
		enc  *Encryption
		want string
	}{
		{"wrong key", testEncryption(t, 2), "wrong encryption key"},
		{"no key", nil, "no encryption key is configured"},
	} {
		c2, _ := New(Options{Dir: dir, Persisted: persistAll, Encryption: tc.enc})
		skipped, err := c2.Load()
		if err != nil || len(skipped) != 1 || !strings.Contains(skipped[0].Error(), tc.want) {
			t.Fatalf("%s: skipped %v err %v, want one error with %q", tc.name, skipped, err, tc.want)
		}
		if _, ok := c2.Get("secrets", "default", "db"); ok {
			t.Fatalf("%s: secret loaded", tc.name)
		}
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s: the file must stay for a later load with the right key: %v", tc.name, err)
		}
	}

	// A file moved to another name does not decrypt: the name is authenticated.
	moved := filepath.Join(dir, "objects", "secrets", "default", "other.json")
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(moved, b, 0o600); err != nil {
		t.Fatal(err)
	}
	// Garbage in place of a secret is reported as such.
	if err := os.WriteFile(filepath.Join(dir, "objects", "secrets", "default", "junk.json"), []byte("\x00\x01junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	c3, _ := New(Options{Dir: dir, Persisted: persistAll, Encryption: testEncryption(t, 1)})
	skipped, err := c3.Load()
	if err != nil || len(skipped) != 2 {
		t.Fatalf("skipped %v err %v, want the moved and the junk file", skipped, err)
	}
	var notSealed bool
	for _, s := range skipped {
		notSealed = notSealed || errors.Is(s, ErrNotSealed)
	}
	if !notSealed {
		t.Fatalf("junk file not reported as ErrNotSealed: %v", skipped)
	}
	if _, ok := c3.Get("secrets", "default", "db"); !ok {
		t.Fatal("the intact secret did not load")
	}
}

func TestPlainSecretsAreEncryptedOnLoad(t *testing.T) {
	dir := t.TempDir()
	c, _ := New(Options{Dir: dir, Persisted: persistAll})
	if _, err := c.Create(secretKind, secret("old", "from-an-older-k2d")); err != nil {
		t.Fatal(err)
	}
	if len(grepDir(t, dir, "ZnJvbS1hbi1vbGRlci1rMmQ")) != 1 {
		t.Fatal("setup: the secret should be plain")
	}
	c2, _ := New(Options{Dir: dir, Persisted: persistAll, Encryption: testEncryption(t, 3)})
	if skipped, err := c2.Load(); err != nil || len(skipped) > 0 {
		t.Fatalf("load: %v %v", skipped, err)
	}
	if e, ok := c2.Get("secrets", "default", "old"); !ok || string(e.Obj.(*corev1.Secret).Data["password"]) != "from-an-older-k2d" {
		t.Fatal("plain secret not loaded")
	}
	if hits := grepDir(t, dir, "ZnJvbS1hbi1vbGRlci1rMmQ"); len(hits) > 0 {
		t.Fatalf("still plain after load: %v", hits)
	}
	c3, _ := New(Options{Dir: dir, Persisted: persistAll, Encryption: testEncryption(t, 3)})
	if skipped, err := c3.Load(); err != nil || len(skipped) > 0 {
		t.Fatalf("reload: %v %v", skipped, err)
	}
	if _, ok := c3.Get("secrets", "default", "old"); !ok {
		t.Fatal("secret lost after migration")
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pki", "encryption.key")
	k1, err := LoadOrCreateKey(p)
	if err != nil || len(k1) != KeySize {
		t.Fatalf("create: %v %d", err, len(k1))
	}
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", st.Mode(), err)
	}
	k2, err := LoadOrCreateKey(p)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second load made another key: %v", err)
	}
	for _, bad := range []string{"", "not base64!", "c2hvcnQ=\n"} {
		if err := os.WriteFile(p, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreateKey(p); err == nil || !strings.Contains(err.Error(), "want the base64 encoding of 32 bytes") {
			t.Fatalf("key %q: %v", bad, err)
		}
	}
	if _, err := LoadKey(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing key file: %v", err)
	}
	if _, err := NewEncryption([]byte("short")); err == nil {
		t.Fatal("short key accepted")
	}
}

package cache

// This file: encryption at rest of the persisted form of sensitive resources (Secrets).

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the size of an encryption key: AES-256.
const KeySize = 32

// sealedPrefix starts every encrypted file; it names the format so that a later format (or a
// key rotation) can be told apart, as the API server's "k8s:enc:aesgcm:v1:<key>:" prefix does.
var sealedPrefix = []byte("k2d:enc:aesgcm:v1:")

// ErrNotSealed reports a file of an encrypted resource that does not hold k2d's encrypted
// format (and is not the plain JSON of an older k2d either).
var ErrNotSealed = errors.New("not in k2d's encrypted format")

// Encryption encrypts the persisted form of some resources with AES-256-GCM. Each file is
// sealedPrefix, a random 12-byte nonce and the sealed JSON; the file's place in the data dir
// ("secrets/<ns>/<name>") is authenticated too, so a file copied over another's does not decrypt.
type Encryption struct {
	aead      cipher.AEAD
	resources map[string]bool
}

// NewEncryption returns an Encryption with a 32-byte key for the given group-resources
// (e.g. "secrets").
func NewEncryption(key []byte, resources ...string) (*Encryption, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("encryption key: want %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	e := &Encryption{aead: aead, resources: map[string]bool{}}
	for _, r := range resources {
		e.resources[r] = true
	}
	return e, nil
}

// covers reports whether files of resource are encrypted; a nil Encryption covers nothing.
func (e *Encryption) covers(resource string) bool { return e != nil && e.resources[resource] }

// seal encrypts plain, binding it to the file's place ad.
func (e *Encryption) seal(plain []byte, ad string) ([]byte, error) {
	ns := e.aead.NonceSize()
	out := make([]byte, len(sealedPrefix)+ns, len(sealedPrefix)+ns+len(plain)+e.aead.Overhead())
	copy(out, sealedPrefix)
	nonce := out[len(sealedPrefix):]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("cannot make a nonce: %w", err)
	}
	return e.aead.Seal(out, nonce, plain, []byte(ad)), nil
}

// open decrypts what seal made.
func (e *Encryption) open(data []byte, ad string) ([]byte, error) {
	if !isSealed(data) {
		return nil, ErrNotSealed
	}
	data = data[len(sealedPrefix):]
	ns := e.aead.NonceSize()
	if len(data) < ns+e.aead.Overhead() {
		return nil, errors.New("encrypted file is truncated")
	}
	plain, err := e.aead.Open(nil, data[:ns], data[ns:], []byte(ad))
	if err != nil {
		return nil, errors.New("cannot decrypt: wrong encryption key, or the file was changed")
	}
	return plain, nil
}

func isSealed(data []byte) bool { return bytes.HasPrefix(data, sealedPrefix) }

// isPlainJSON reports a file that holds a JSON object, as k2d wrote objects before it
// encrypted them.
func isPlainJSON(data []byte) bool {
	t := bytes.TrimSpace(data)
	return len(t) > 0 && t[0] == '{'
}

// LoadKey reads an encryption key file: the base64 encoding of 32 random bytes, as
// `head -c 32 /dev/urandom | base64` makes it (the API server's EncryptionConfiguration keys
// have the same form).
func LoadKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read encryption key: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != KeySize {
		return nil, fmt.Errorf("encryption key %s: want the base64 encoding of %d bytes", path, KeySize)
	}
	return key, nil
}

// LoadOrCreateKey reads the key file at path, or makes one (mode 0600) when there is none.
func LoadOrCreateKey(path string) ([]byte, error) {
	key, err := LoadKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("cannot create encryption key: %w", err)
	}
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("cannot create encryption key: %w", err)
	}
	// O_EXCL: two processes starting at once must not each write a different key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot create encryption key: %w", err)
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("cannot write encryption key: %w", err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("cannot write encryption key: %w", err)
	}
	return key, nil
}

package openapi

import (
	"crypto/sha512"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
)

// v3Doc is one embedded OpenAPI v3 document.
type v3Doc struct {
	path string // "api/v1", "apis/events.k8s.io/v1"
	gz   []byte
}

// v3Hashes holds the hash of each document in v3Docs, computed on first use: hashing costs a
// few milliseconds on ARM, and a server that never serves OpenAPI should not pay it.
var v3Hashes = sync.OnceValue(func() []string {
	h := make([]string, len(v3Docs))
	for i := range v3Docs {
		sum := sha512.Sum512(v3Docs[i].gz)
		h[i] = strings.ToUpper(hex.EncodeToString(sum[:]))
	}
	return h
})

var v3Index = sync.OnceValue(func() []byte {
	hashes := v3Hashes()
	b := []byte(`{"paths":{`)
	for i := range v3Docs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, v3Docs[i].path)
		b = append(b, `:{"serverRelativeURL":`...)
		b = strconv.AppendQuote(b, "/openapi/v3/"+v3Docs[i].path+"?hash="+hashes[i])
		b = append(b, '}')
	}
	return append(b, "}}"...)
})

// V2Gzip returns the gzip-compressed swagger 2.0 document served at /openapi/v2 (JSON). The
// slice is the embedded data itself: callers must not modify it.
func V2Gzip() []byte { return v2Gzip }

// V3IndexJSON returns the OpenAPI v3 discovery document served at /openapi/v3: for each
// group-version, the URL of its document with the content hash clients use to cache it.
// Callers must not modify the slice.
func V3IndexJSON() []byte { return v3Index() }

// V3Gzip returns the gzip-compressed OpenAPI 3.0 document of groupVersionPath ("api/v1",
// "apis/events.k8s.io/v1") and its hash, as it appears in the index's serverRelativeURL. ok is
// false for a group-version k2d does not serve. Callers must not modify gz.
func V3Gzip(groupVersionPath string) (gz []byte, hash string, ok bool) {
	for i := range v3Docs {
		if v3Docs[i].path == groupVersionPath {
			return v3Docs[i].gz, v3Hashes()[i], true
		}
	}
	return nil, "", false
}

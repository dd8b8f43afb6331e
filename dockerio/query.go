package dockerio

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"encoding/json"
)

const upperhex = "0123456789ABCDEF"

// unreserved reports RFC 3986 unreserved characters, which never need escaping.
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// escapePath escapes s for use in a path. keepSlash keeps '/' as a separator: image
// references ("k2d-test/busybox:1") are routed by the engine with slashes intact, while an
// ID or name must stay one segment. ':' and '@' are legal in a path segment and keep tags
// and digests readable in the engine's logs.
func escapePath(s string, keepSlash bool) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !pathSafe(s[i], keepSlash) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if pathSafe(c, keepSlash) {
			b = append(b, c)
		} else {
			b = append(b, '%', upperhex[c>>4], upperhex[c&15])
		}
	}
	return string(b)
}

func pathSafe(c byte, keepSlash bool) bool {
	return unreserved(c) || c == ':' || c == '@' || (keepSlash && c == '/')
}

// query builds a URL query string by appending.
type query []byte

func (q query) add(key, value string) query {
	if len(q) > 0 {
		q = append(q, '&')
	}
	q = append(q, key...)
	q = append(q, '=')
	for i := 0; i < len(value); i++ {
		c := value[i]
		if unreserved(c) {
			q = append(q, c)
		} else {
			q = append(q, '%', upperhex[c>>4], upperhex[c&15])
		}
	}
	return q
}

func (q query) bool(key string, v bool) query {
	if v {
		return q.add(key, "1")
	}
	return q.add(key, "0")
}

func (q query) uint(key string, v uint64) query {
	if len(q) > 0 {
		q = append(q, '&')
	}
	q = append(q, key...)
	q = append(q, '=')
	return strconv.AppendUint(q, v, 10)
}

// Filters is the engine's list filter: key ("label", "type", "name", ...) to values.
type Filters map[string][]string

// labelFilter turns "k=v" (or "k") strings into a label filter.
func labelFilter(labels []string) Filters {
	if len(labels) == 0 {
		return nil
	}
	return Filters{"label": labels}
}

// addFilters adds the filters parameter in the {"key":{"value":true}} form. Docker has
// accepted it since API 1.22 and Podman's compat API accepts it as well as the older
// {"key":["value"]} form.
func (q query) addFilters(f Filters) (query, error) {
	if len(f) == 0 {
		return q, nil
	}
	m := make(map[string]map[string]bool, len(f))
	for k, vs := range f {
		if len(vs) == 0 {
			continue
		}
		set := make(map[string]bool, len(vs))
		for _, v := range vs {
			set[v] = true
		}
		m[k] = set
	}
	if len(m) == 0 {
		return q, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return q, fmt.Errorf("cannot encode filters: %w", err)
	}
	return q.add("filters", string(b)), nil
}

// apiTimestamp converts a time for the since/until parameters of logs and events. The engine
// takes Unix seconds with optional fraction ("1700000000.123456789"); callers may also pass
// RFC 3339 or a Go duration meaning "that long ago" ("10m"), as the docker CLI accepts.
func apiTimestamp(s string, now time.Time) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if isUnixTimestamp(s) {
		return s, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return formatUnix(t), nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return formatUnix(now.Add(-d)), nil
	}
	return "", fmt.Errorf("cannot parse timestamp %q: want Unix seconds, RFC 3339 or a duration", s)
}

func isUnixTimestamp(s string) bool {
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && !dot && i > 0:
			dot = true
		case c == '-' && i == 0 && len(s) > 1:
		default:
			return false
		}
	}
	return true
}

func formatUnix(t time.Time) string {
	ns := t.UnixNano()
	sec, frac := ns/1e9, ns%1e9
	if frac < 0 {
		sec--
		frac += 1e9
	}
	b := strconv.AppendInt(make([]byte, 0, 24), sec, 10)
	b = append(b, '.')
	f := strconv.AppendInt(make([]byte, 0, 9), frac, 10)
	for i := len(f); i < 9; i++ {
		b = append(b, '0')
	}
	return string(append(b, f...))
}

package translate

import "strings"

// Expand replaces $(NAME) references in s the way Kubernetes expands command, args, env values
// and subPathExpr:
//   - $(NAME) becomes lookup(NAME) when lookup reports it defined, else it stays as written;
//   - $$ becomes a single $, so $$(NAME) is the literal text $(NAME);
//   - any other $ (a bare $NAME, ${NAME}, an unterminated $(, a $ at the end) stays as written.
//
// References are not expanded recursively: a value that itself holds $(X) is inserted verbatim.
func Expand(s string, lookup func(name string) (string, bool)) string {
	i := strings.IndexByte(s, '$')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		b.WriteString(s[:i])
		s = s[i:] // s starts with '$'
		switch {
		case len(s) == 1:
			b.WriteByte('$')
			s = s[1:]
		case s[1] == '$':
			b.WriteByte('$')
			s = s[2:]
		case s[1] == '(':
			end := strings.IndexByte(s, ')')
			if end < 0 {
				// No closing parenthesis: keep "$(" and go on scanning after it, so a later "$(" in
				// the rest is also kept literally.
				b.WriteString("$(")
				s = s[2:]
				break
			}
			name := s[2:end]
			if v, ok := lookup(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[:end+1])
			}
			s = s[end+1:]
		default:
			// "$x": keep both bytes; the second is not an operator and is consumed with it.
			b.WriteString(s[:2])
			s = s[2:]
		}
		i = strings.IndexByte(s, '$')
	}
	b.WriteString(s)
	return b.String()
}

// mapLookup adapts a map for Expand.
func mapLookup(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

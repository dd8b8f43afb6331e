package translate

import (
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "a", "B": "b", "EMPTY": "", "REF": "$(A)", "DOLLAR": "$"}
	cases := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"$(A)", "a"},
		{"$(A)$(B)", "ab"},
		{"x$(A)y$(B)z", "xaybz"},
		{"$(EMPTY)", ""},
		{"pre-$(EMPTY)-post", "pre--post"},
		{"$(UNDEFINED)", "$(UNDEFINED)"},
		{"x$(UNDEFINED)y$(A)", "x$(UNDEFINED)ya"},
		{"$(REF)", "$(A)"},       // values are not expanded again
		{"$(DOLLAR)(A)", "$(A)"}, // nor is what an expansion produces
		{"$$(A)", "$(A)"},        // escape
		{"$$$(A)", "$a"},         // escape, then reference
		{"$$$$(A)", "$$(A)"},     // two escapes
		{"$$", "$"},
		{"$$$", "$$"},
		{"$", "$"},
		{"a$", "a$"},
		{"$A", "$A"},     // shell syntax passes through
		{"${A}", "${A}"}, // shell syntax passes through
		{"$1 $? $!", "$1 $? $!"},
		{"$(A", "$(A"},                // unterminated
		{"$(", "$("},                  // unterminated, empty
		{"$($(A)", "$($(A)"},          // name "$(A" is undefined
		{"$(A)$(", "a$("},             // trailing incomplete
		{"--$($($(--", "--$($($(--"},  // repeated openers
		{"$()", "$()"},                // empty name is undefined
		{"$(A$(B))", "$(A$(B))"},      // no nesting
		{"$(A)-$(A)", "a-a"},          // repeat
		{"\\$(A)", "\\a"},             // backslash is no escape
		{"f00-$$A", "f00-$A"},         // escaped bare operator
		{"ü$(A)ü", "üaü"},             // UTF-8 around references
		{"$ü", "$ü"},                  // UTF-8 after a bare $
		{"line\n$(A)\n", "line\na\n"}, // newlines are data
		{"$(a b)", "$(a b)"},          // names are looked up verbatim
	}
	for _, c := range cases {
		if got := Expand(c.in, mapLookup(vars)); got != c.want {
			t.Errorf("Expand(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzExpand(f *testing.F) {
	for _, s := range []string{"$(A)", "$$(A)", "$(", "$", "a$b$(c", "$(A)$(B)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		none := func(string) (string, bool) { return "", false }
		got := Expand(s, none)
		// With nothing defined only $$ escapes change the text, each removing one byte.
		if len(got) > len(s) {
			t.Fatalf("Expand(%q) = %q grew", s, got)
		}
		if !strings.Contains(s, "$$") && got != s {
			t.Fatalf("Expand(%q) = %q without any escape", s, got)
		}
		// Defining every name as "" never grows the text.
		empty := func(string) (string, bool) { return "", true }
		if g := Expand(s, empty); len(g) > len(s) {
			t.Fatalf("Expand(%q) grew to %q", s, g)
		}
	})
}

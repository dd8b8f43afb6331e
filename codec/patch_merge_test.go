package codec

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// TestPatchMergeRFC7386 runs the examples of RFC 7386 appendix A on the merge function itself,
// whose targets and patches may be any JSON value.
func TestPatchMergeRFC7386(t *testing.T) {
	for _, c := range []struct{ target, patch, want string }{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`["a","b"]`, `["c","d"]`, `["c","d"]`},
		{`{"a":"b"}`, `["c"]`, `["c"]`},
		{`{"a":"foo"}`, `null`, `null`},
		{`{"a":"foo"}`, `"bar"`, `"bar"`},
		{`{"e":null}`, `{"a":1}`, `{"e":null,"a":1}`},
		{`[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
		// Beyond the appendix: arrays are values, nulls inside them are kept.
		{`{"a":[1]}`, `{"a":[null,{"b":null}]}`, `{"a":[null,{"b":null}]}`},
		{`{"a":{"b":1}}`, `{"a":{}}`, `{"a":{"b":1}}`},
	} {
		target := patchTestDecode(t, []byte(c.target))
		patch := patchTestDecode(t, []byte(c.patch))
		got := patchMergeValue(target, patch)
		if want := patchTestDecode(t, []byte(c.want)); !reflect.DeepEqual(got, want) {
			t.Errorf("MergePatch(%s, %s) = %v, want %s", c.target, c.patch, got, c.want)
		}
	}
}

func TestPatchMergeApply(t *testing.T) {
	cur := []byte(`{"metadata":{"name":"web","labels":{"app":"web","team":"edge"}},"spec":{"replicas":1}}`)
	for _, c := range []struct{ patch, want string }{
		{`{"metadata":{"labels":{"env":"prod","team":null}}}`, `{"metadata":{"name":"web","labels":{"app":"web","env":"prod"}},"spec":{"replicas":1}}`},
		{`{"spec":null}`, `{"metadata":{"name":"web","labels":{"app":"web","team":"edge"}}}`},
		{`{}`, string(cur)},
		{" {\"spec\":{\"replicas\":3}}\n", `{"metadata":{"name":"web","labels":{"app":"web","team":"edge"}},"spec":{"replicas":3}}`},
	} {
		got, err := ApplyPatch(PatchMerge, cur, []byte(c.patch), nil)
		if err != nil {
			t.Fatalf("%s: %v", c.patch, err)
		}
		patchTestEqualJSON(t, got, []byte(c.want))
	}
}

func TestPatchMergeErrors(t *testing.T) {
	// The API server answers 400 "Invalid JSON Patch" to a malformed merge patch; k2d does the same
	// for valid JSON that is not an object, which cannot leave an object behind.
	for _, p := range []string{``, `{`, `{"a":1}}`, `null`, `"x"`, `1`, `[{"a":1}]`, `true`} {
		_, err := ApplyPatch(PatchMerge, []byte(`{"a":1}`), []byte(p), nil)
		var pe *PatchError
		if !errors.As(err, &pe) || pe.Code != 400 || pe.Msg != "Invalid JSON Patch" {
			t.Errorf("%q: %v", p, err)
		}
	}
}

func FuzzApplyMergePatch(f *testing.F) {
	f.Add([]byte(`{"a":"b","c":{"d":1}}`), []byte(`{"a":null,"c":{"e":[1,null]}}`))
	f.Add([]byte(`{"metadata":{"labels":{"a":"1"}}}`), []byte(`{"metadata":{"labels":{"a":null,"b":"2"}}}`))
	f.Add([]byte(`{}`), []byte(`{"a":{"bb":{"ccc":null}}}`))
	f.Add([]byte(`{"n":1e999}`), []byte(`{"m":-0.0e-1}`))
	f.Fuzz(func(t *testing.T, current, patch []byte) {
		out, err := ApplyPatch(PatchMerge, current, patch, nil)
		if err != nil {
			var pe *PatchError
			if !errors.As(err, &pe) {
				t.Fatalf("not a *PatchError: %v", err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON output %q", out)
		}
	})
}

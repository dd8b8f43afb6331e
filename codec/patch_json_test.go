package codec

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

type patchJSONCase struct {
	name, doc, patch, want string
	err                    string // the API server's message when the patch must fail
	code                   int    // its status (default 422)
}

func (c patchJSONCase) run(t *testing.T) {
	t.Helper()
	got, err := ApplyPatch(PatchJSON, []byte(c.doc), []byte(c.patch), nil)
	if c.err != "" {
		var pe *PatchError
		code := c.code
		if code == 0 {
			code = 422
		}
		if !errors.As(err, &pe) || pe.Msg != c.err || pe.Code != code {
			t.Errorf("%s: got %v (%T %+v), want %d %q", c.name, err, err, pe, code, c.err)
		}
		return
	}
	if err != nil {
		t.Errorf("%s: %v", c.name, err)
		return
	}
	patchTestEqualJSON(t, got, []byte(c.want))
}

// TestPatchJSONRFC6902 runs the examples of RFC 6902 appendix A.
func TestPatchJSONRFC6902(t *testing.T) {
	for _, c := range []patchJSONCase{
		{name: "A.1 add object member", doc: `{"foo":"bar"}`, patch: `[{"op":"add","path":"/baz","value":"qux"}]`, want: `{"baz":"qux","foo":"bar"}`},
		{name: "A.2 add array element", doc: `{"foo":["bar","baz"]}`, patch: `[{"op":"add","path":"/foo/1","value":"qux"}]`, want: `{"foo":["bar","qux","baz"]}`},
		{name: "A.3 remove object member", doc: `{"baz":"qux","foo":"bar"}`, patch: `[{"op":"remove","path":"/baz"}]`, want: `{"foo":"bar"}`},
		{name: "A.4 remove array element", doc: `{"foo":["bar","qux","baz"]}`, patch: `[{"op":"remove","path":"/foo/1"}]`, want: `{"foo":["bar","baz"]}`},
		{name: "A.5 replace", doc: `{"baz":"qux","foo":"bar"}`, patch: `[{"op":"replace","path":"/baz","value":"boo"}]`, want: `{"baz":"boo","foo":"bar"}`},
		{name: "A.6 move value", doc: `{"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}`,
			patch: `[{"op":"move","from":"/foo/waldo","path":"/qux/thud"}]`,
			want:  `{"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}}`},
		{name: "A.7 move array element", doc: `{"foo":["all","grass","cows","eat"]}`,
			patch: `[{"op":"move","from":"/foo/1","path":"/foo/3"}]`, want: `{"foo":["all","cows","eat","grass"]}`},
		{name: "A.8 test success", doc: `{"baz":"qux","foo":["a",2,"c"]}`,
			patch: `[{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}]`,
			want:  `{"baz":"qux","foo":["a",2,"c"]}`},
		{name: "A.9 test failure", doc: `{"baz":"qux"}`, patch: `[{"op":"test","path":"/baz","value":"bar"}]`,
			err: "testing value /baz failed: test failed"},
		{name: "A.10 add nested member", doc: `{"foo":"bar"}`, patch: `[{"op":"add","path":"/child","value":{"grandchild":{}}}]`,
			want: `{"foo":"bar","child":{"grandchild":{}}}`},
		{name: "A.11 ignore unrecognized members", doc: `{"foo":"bar"}`, patch: `[{"op":"add","path":"/baz","value":"qux","xyz":123}]`,
			want: `{"foo":"bar","baz":"qux"}`},
		{name: "A.12 add to nonexistent target", doc: `{"foo":"bar"}`, patch: `[{"op":"add","path":"/baz/bat","value":"qux"}]`,
			err: `add operation does not apply: doc is missing path: "/baz/bat": missing value`},
		// A.13: duplicate "op" is invalid; JSON decoders keep the last one, so this is a remove of a
		// missing member, which fails.
		{name: "A.13 invalid patch", doc: `{"foo":"bar"}`, patch: `[{"op":"add","path":"/baz","value":"qux","op":"remove"}]`,
			err: "error in remove for path: '/baz': Unable to remove nonexistent key: baz: missing value"},
		{name: "A.14 ~ escaping", doc: `{"/":9,"~1":10}`, patch: `[{"op":"test","path":"/~01","value":10}]`, want: `{"/":9,"~1":10}`},
		{name: "A.15 comparing strings and numbers", doc: `{"/":9,"~1":10}`, patch: `[{"op":"test","path":"/~01","value":"10"}]`,
			err: "testing value /~01 failed: test failed"},
		{name: "A.16 add array value", doc: `{"foo":["bar"]}`, patch: `[{"op":"add","path":"/foo/-","value":["abc","def"]}]`,
			want: `{"foo":["bar",["abc","def"]]}`},
	} {
		c.run(t)
	}
}

// TestPatchJSONAPIServer covers what the API server (evanphx/json-patch v4) does beyond the RFC
// examples: its error texts, statuses and departures from the RFC.
func TestPatchJSONAPIServer(t *testing.T) {
	pod := `{"metadata":{"name":"web","labels":{"app":"web"},"annotations":{"a/b":"1","c~d":"2"}},"spec":{"containers":[{"name":"main","image":"x"},{"name":"side","image":"y"}]}}`
	for _, c := range []patchJSONCase{
		{name: "escaped keys", doc: pod,
			patch: `[{"op":"remove","path":"/metadata/annotations/a~1b"},{"op":"replace","path":"/metadata/annotations/c~0d","value":"3"}]`,
			want:  `{"metadata":{"name":"web","labels":{"app":"web"},"annotations":{"c~d":"3"}},"spec":{"containers":[{"name":"main","image":"x"},{"name":"side","image":"y"}]}}`},
		{name: "append with -", doc: pod, patch: `[{"op":"add","path":"/spec/containers/-","value":{"name":"third"}}]`,
			want: `{"metadata":{"name":"web","labels":{"app":"web"},"annotations":{"a/b":"1","c~d":"2"}},"spec":{"containers":[{"name":"main","image":"x"},{"name":"side","image":"y"},{"name":"third"}]}}`},
		{name: "add at end index", doc: `{"a":[1]}`, patch: `[{"op":"add","path":"/a/1","value":2}]`, want: `{"a":[1,2]}`},
		{name: "add replaces member", doc: `{"a":1}`, patch: `[{"op":"add","path":"/a","value":2}]`, want: `{"a":2}`},
		{name: "negative index", doc: `{"a":[1,2,3]}`, patch: `[{"op":"remove","path":"/a/-1"},{"op":"add","path":"/a/-1","value":9},{"op":"replace","path":"/a/-3","value":0}]`, want: `{"a":[0,2,9]}`},
		{name: "replace of a missing member adds it", doc: `{"metadata":{"labels":{}}}`,
			patch: `[{"op":"replace","path":"/metadata/labels/tier","value":"front"}]`, want: `{"metadata":{"labels":{"tier":"front"}}}`},
		{name: "replace root", doc: `{"a":1}`, patch: `[{"op":"replace","path":"","value":{"b":2}}]`, want: `{"b":2}`},
		{name: "copy is deep", doc: `{"a":{"b":1}}`, patch: `[{"op":"copy","from":"/a","path":"/c"},{"op":"replace","path":"/c/b","value":2}]`, want: `{"a":{"b":1},"c":{"b":2}}`},
		{name: "copy into array", doc: `{"a":[1,2]}`, patch: `[{"op":"copy","from":"/a/0","path":"/a/0"}]`, want: `{"a":[1,1,2]}`},
		{name: "move to same place", doc: `{"a":1}`, patch: `[{"op":"move","from":"/a","path":"/a"}]`, want: `{"a":1}`},
		{name: "move between arrays", doc: `{"a":[1,2],"b":[]}`, patch: `[{"op":"move","from":"/a/0","path":"/b/0"}]`, want: `{"a":[2],"b":[1]}`},
		{name: "nested arrays", doc: `{"a":[[1],[2]]}`, patch: `[{"op":"add","path":"/a/1/0","value":0},{"op":"remove","path":"/a/0/0"}]`, want: `{"a":[[],[0,2]]}`},
		{name: "test numbers by value", doc: `{"a":1.0,"b":[0]}`, patch: `[{"op":"test","path":"/a","value":1},{"op":"test","path":"/b/0","value":-0}]`, want: `{"a":1.0,"b":[0]}`},
		{name: "test objects", doc: `{"a":{"x":[1,{"y":null}]}}`, patch: `[{"op":"test","path":"/a","value":{"x":[1,{"y":null}]}}]`, want: `{"a":{"x":[1,{"y":null}]}}`},
		{name: "test missing member against null", doc: `{"a":1}`, patch: `[{"op":"test","path":"/b","value":null}]`, want: `{"a":1}`},
		{name: "test root", doc: `{"a":1}`, patch: `[{"op":"test","path":"","value":{"a":1}}]`, want: `{"a":1}`},
		{name: "add without value adds null", doc: `{}`, patch: `[{"op":"add","path":"/a"}]`, want: `{"a":null}`},
		{name: "empty patch", doc: `{"a":1}`, patch: `[]`, want: `{"a":1}`},
		{name: "null patch", doc: `{"a":1}`, patch: `null`, want: `{"a":1}`},
		{name: "empty current", doc: ``, patch: `[{"op":"add","path":"/a","value":1}]`, want: `{"a":1}`},

		{name: "test failure", doc: pod, patch: `[{"op":"test","path":"/metadata/name","value":"db"}]`,
			err: "testing value /metadata/name failed: test failed"},
		{name: "test missing member", doc: `{}`, patch: `[{"op":"test","path":"/a","value":1}]`, err: "testing value /a failed: test failed"},
		{name: "test without value", doc: `{"a":1}`, patch: `[{"op":"test","path":"/a"}]`, err: "testing value /a failed: test failed"},
		{name: "test missing parent", doc: `{}`, patch: `[{"op":"test","path":"/a/b","value":1}]`, err: "test operation does not apply: is missing path: /a/b: missing value"},
		{name: "test bad index", doc: `{"a":[]}`, patch: `[{"op":"test","path":"/a/0","value":1}]`,
			err: "error in test for path: '/a/0': Unable to access invalid index: 0: invalid index referenced"},
		{name: "remove missing", doc: pod, patch: `[{"op":"remove","path":"/metadata/labels/tier"}]`,
			err: "error in remove for path: '/metadata/labels/tier': Unable to remove nonexistent key: tier: missing value"},
		{name: "remove missing parent", doc: pod, patch: `[{"op":"remove","path":"/metadata/finalizers/0"}]`,
			err: `remove operation does not apply: doc is missing path: "/metadata/finalizers/0": missing value`},
		{name: "remove bad index", doc: pod, patch: `[{"op":"remove","path":"/spec/containers/2"}]`,
			err: "error in remove for path: '/spec/containers/2': Unable to access invalid index: 2: invalid index referenced"},
		{name: "remove non-number index", doc: pod, patch: `[{"op":"remove","path":"/spec/containers/x"}]`,
			err: `error in remove for path: '/spec/containers/x': strconv.Atoi: parsing "x": invalid syntax`},
		{name: "remove root", doc: pod, patch: `[{"op":"remove","path":""}]`,
			err: `remove operation does not apply: doc is missing path: "": missing value`},
		{name: "add bad index", doc: pod, patch: `[{"op":"add","path":"/spec/containers/3","value":{}}]`,
			err: "error in add for path: '/spec/containers/3': Unable to access invalid index: 3: invalid index referenced"},
		{name: "add non-number index", doc: pod, patch: `[{"op":"add","path":"/spec/containers/a","value":{}}]`,
			err: `error in add for path: '/spec/containers/a': value was not a proper array index: 'a': strconv.Atoi: parsing "a": invalid syntax`},
		{name: "add through scalar", doc: pod, patch: `[{"op":"add","path":"/metadata/name/x","value":1}]`,
			err: `add operation does not apply: doc is missing path: "/metadata/name/x": missing value`},
		{name: "add without path", doc: pod, patch: `[{"op":"add","value":1}]`, err: "add operation failed to decode path: missing value"},
		{name: "add relative path", doc: pod, patch: `[{"op":"add","path":"a/b","value":1}]`,
			err: `add operation does not apply: doc is missing path: "a/b": missing value`},
		{name: "replace missing index", doc: pod, patch: `[{"op":"replace","path":"/spec/containers/5","value":{}}]`,
			err: "replace operation does not apply: doc is missing key: /spec/containers/5: missing value"},
		{name: "replace missing parent", doc: pod, patch: `[{"op":"replace","path":"/status/phase","value":"x"}]`,
			err: "replace operation does not apply: doc is missing path: /status/phase: missing value"},
		{name: "replace path not a string", doc: pod, patch: `[{"op":"replace","path":1,"value":"x"}]`,
			err: "replace operation failed to decode path: json: cannot unmarshal number into Go value of type string"},
		{name: "replace root with scalar", doc: pod, patch: `[{"op":"replace","path":"","value":1}]`,
			err: "replace operation value must be object or array"},
		{name: "move missing from", doc: pod, patch: `[{"op":"move","from":"/metadata/nope","path":"/x"}]`,
			err: "error in move for path: 'nope': Unable to remove nonexistent key: nope: missing value"},
		{name: "move without from", doc: pod, patch: `[{"op":"move","path":"/x"}]`,
			err: "move operation failed to decode from: operation, missing from field: missing value"},
		{name: "move into itself", doc: `{"a":{"b":1}}`, patch: `[{"op":"move","from":"/a","path":"/a/c"}]`,
			err: "move operation does not apply: doc is missing destination path: /a/c: missing value"},
		{name: "copy missing from", doc: pod, patch: `[{"op":"copy","from":"/nope/x","path":"/x"}]`,
			err: "copy operation does not apply: doc is missing from path: /nope/x: missing value"},
		{name: "copy missing member", doc: pod, patch: `[{"op":"copy","from":"/nope","path":"/x"}]`,
			err: "copy operation does not apply: doc is missing from path: /nope: missing value"},
		{name: "copy bad index", doc: pod, patch: `[{"op":"copy","from":"/spec/containers/9","path":"/x"}]`,
			err: "error in copy for from: '/spec/containers/9': Unable to access invalid index: 9: invalid index referenced"},
		{name: "unknown op", doc: pod, patch: `[{"op":"merge","path":"/a"}]`, err: "Unexpected kind: merge"},
		{name: "missing op", doc: pod, patch: `[{"path":"/a"}]`, err: "Unexpected kind: unknown"},
		{name: "null op", doc: pod, patch: `[null]`, err: "Unexpected kind: unknown"},
		{name: "ops apply in order and stop at the first error", doc: `{"a":1}`,
			patch: `[{"op":"remove","path":"/a"},{"op":"test","path":"/a","value":1}]`, err: "testing value /a failed: test failed"},

		{name: "not an array", doc: pod, patch: `{"op":"add"}`, code: 400,
			err: "json: cannot unmarshal object into Go value of type jsonpatch.Patch"},
		{name: "not an operation", doc: pod, patch: `["add"]`, code: 400,
			err: "json: cannot unmarshal string into Go value of type jsonpatch.Operation"},
		{name: "syntax", doc: pod, patch: `[{"op":"add",}]`, code: 400,
			err: "invalid character '}' looking for beginning of object key string"},
	} {
		c.run(t)
	}
}

func TestPatchJSONLimits(t *testing.T) {
	ops := strings.Repeat(`{"op":"test","path":"/a","value":1},`, patchMaxJSONOps)
	if _, err := ApplyPatch(PatchJSON, []byte(`{"a":1}`), []byte("["+ops[:len(ops)-1]+"]"), nil); err != nil {
		t.Errorf("%d operations: %v", patchMaxJSONOps, err)
	}
	_, err := ApplyPatch(PatchJSON, []byte(`{"a":1}`), []byte("["+ops+`{"op":"test","path":"/a","value":1}]`), nil)
	var pe *PatchError
	if !errors.As(err, &pe) || pe.Code != 413 || pe.Msg != "The allowed maximum operations in a JSON patch is 10000, got 10001" {
		t.Errorf("too many operations: %v", err)
	}

	// Doubling a 100 KiB value with copies passes the 3 MiB limit after a few rounds.
	doc := fmt.Sprintf(`{"a":[%q]}`, strings.Repeat("x", 100<<10))
	var p []string
	for i := 0; i < 6; i++ {
		p = append(p, `{"op":"copy","from":"/a","path":"/b"}`, `{"op":"move","from":"/b","path":"/a/-"}`)
	}
	_, err = ApplyPatch(PatchJSON, []byte(doc), []byte("["+strings.Join(p, ",")+"]"), nil)
	if !errors.As(err, &pe) || pe.Code != 422 || !strings.HasPrefix(pe.Msg, "Unable to complete the copy, the accumulated size increase of copy is ") ||
		!strings.HasSuffix(pe.Msg, ", exceeding the limit 3145728") {
		t.Errorf("copy limit: %v", err)
	}
}

func FuzzApplyJSONPatch(f *testing.F) {
	f.Add([]byte(`{"foo":["bar","baz"],"o":{"a":1}}`), []byte(`[{"op":"add","path":"/foo/1","value":"qux"},{"op":"remove","path":"/o/a"}]`))
	f.Add([]byte(`{"a":[[1],{"b":2}]}`), []byte(`[{"op":"move","from":"/a/0","path":"/a/1/c"},{"op":"copy","from":"/a","path":"/a/-"}]`))
	f.Add([]byte(`{"/":9,"~1":10}`), []byte(`[{"op":"test","path":"/~01","value":10},{"op":"replace","path":"","value":[]}]`))
	f.Add([]byte(`{"a":[1,2,3]}`), []byte(`[{"op":"remove","path":"/a/-1"},{"op":"add","path":"/a/-4","value":0}]`))
	f.Fuzz(func(t *testing.T, current, patch []byte) {
		out, err := ApplyPatch(PatchJSON, current, patch, nil)
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

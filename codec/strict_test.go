package codec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "sigs.k8s.io/json"
)

// oracle runs the API server's own strict decoder (sigs.k8s.io/json, as used by the apiserver's
// JSON serializer) on body and returns its problems split by kind, in document order. ok is
// false when decoding failed for another reason (syntax or type error): then the API server
// reports that error instead of the strict ones.
func oracle(body []byte, newObj func() any) (unknown, duplicate []string, ok bool) {
	errs, err := kjson.UnmarshalStrict(body, newObj())
	if err != nil {
		return nil, nil, false
	}
	for _, e := range errs {
		path := e.(interface{ FieldPath() string }).FieldPath()
		switch {
		case strings.HasPrefix(e.Error(), "unknown field "):
			unknown = append(unknown, path)
		case strings.HasPrefix(e.Error(), "duplicate field "):
			duplicate = append(duplicate, path)
		default:
			panic("unexpected strict error " + e.Error())
		}
	}
	return unknown, duplicate, true
}

type embedded struct {
	Inner string `json:"inner"`
}

type EmbeddedPtr struct {
	FromPtr int `json:"fromPtr"`
}

type shadow struct {
	Name string `json:"name"`
}

// custom exercises the nesting forms k8s.io/api types do not all have.
type custom struct {
	embedded                      // untagged embedding: fields promoted
	*EmbeddedPtr                  // embedded pointer: fields promoted
	shadow       `json:",inline"` // the Kubernetes spelling of the same
	Name         string           `json:"name"` // shallower: wins over shadow.Name
	Any          any              `json:"any"`
	Fixed        [2]embedded      `json:"fixed"`
	Skipped      string           `json:"-"`
	Untagged     int
	hidden       int
	Nested       map[string][]embedded          `json:"nested"`
	Raw          runtime.RawExtension           `json:"raw"`
	Time         metav1.Time                    `json:"time"`
	IntMap       map[int]string                 `json:"intMap"`
	Ptr          **embedded                     `json:"ptr"`
	Text         textOnly                       `json:"text"`
	Iface        interface{ Method() }          `json:"iface"`
	Deep         map[string]map[string]embedded `json:"deep"`
}

type textOnly struct{ V string }

func (t *textOnly) UnmarshalText(b []byte) error { t.V = string(b); return nil }

func TestUnknownFieldsTable(t *testing.T) {
	_ = custom{}.hidden
	pod := func() any { return &corev1.Pod{} }
	tests := []struct {
		name      string
		body      string
		obj       func() any
		unknown   []string
		duplicate []string
		noOracle  bool // k2d-specific rule the oracle does not share
		wantErr   bool
	}{
		{name: "empty object", body: `{}`, obj: pod},
		{name: "valid minimal", body: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},"spec":{"containers":[{"name":"c","image":"i"}]}}`, obj: pod},
		{name: "unknown top", body: `{"foo":1}`, obj: pod, unknown: []string{"foo"}},
		{name: "unknown nested struct", body: `{"spec":{"foo":1}}`, obj: pod, unknown: []string{"spec.foo"}},
		{name: "unknown in slice element", body: `{"spec":{"containers":[{"name":"a"},{"name":"b","foo":1}]}}`, obj: pod, unknown: []string{"spec.containers[1].foo"}},
		{name: "unknown in nested slices", body: `{"spec":{"containers":[{"ports":[{},{"x":1}]}]}}`, obj: pod, unknown: []string{"spec.containers[0].ports[1].x"}},
		{name: "case sensitive", body: `{"metadata":{"Name":"a","name":"b"}}`, obj: pod, unknown: []string{"metadata.Name"}},
		{name: "unknown value not descended", body: `{"spec":{"foo":{"bar":{"baz":1}}}}`, obj: pod, unknown: []string{"spec.foo"}},
		{name: "map any key", body: `{"metadata":{"labels":{"a":"1","b/c":"2","":"3"}}}`, obj: pod},
		{name: "map duplicate key", body: `{"metadata":{"labels":{"a":"1","b":"2","a":"3"}}}`, obj: pod, duplicate: []string{"metadata.labels.a"}},
		{name: "struct duplicate field", body: `{"metadata":{"name":"a","name":"b"}}`, obj: pod, duplicate: []string{"metadata.name"}},
		{name: "duplicate object field walks both", body: `{"spec":{"containers":[],"containers":[{"bad":1}]}}`, obj: pod,
			unknown: []string{"spec.containers[0].bad"}, duplicate: []string{"spec.containers"}},
		{name: "unknown repeated reported once", body: `{"spec":{"x":1,"x":2}}`, obj: pod, unknown: []string{"spec.x"}},
		{name: "duplicate repeated reported once", body: `{"metadata":{"name":"a","name":"b","name":"c"}}`, obj: pod, duplicate: []string{"metadata.name"}},
		{name: "inline embedded VolumeSource", body: `{"spec":{"volumes":[{"name":"v","configMap":{"name":"c","itemz":[]},"emptyDir":{}}]}}`, obj: pod,
			unknown: []string{"spec.volumes[0].configMap.itemz"}},
		{name: "inline embedded ProbeHandler", body: `{"spec":{"containers":[{"livenessProbe":{"httpGet":{"port":8080,"portz":1},"periodSeconds":3}}]}}`, obj: pod,
			unknown: []string{"spec.containers[0].livenessProbe.httpGet.portz"}},
		{name: "pointer struct", body: `{"spec":{"securityContext":{"runAsUser":1,"x":2}}}`, obj: pod, unknown: []string{"spec.securityContext.x"}},
		{name: "quantity opaque", body: `{"spec":{"containers":[{"resources":{"limits":{"cpu":{"anything":1}}}}]}}`, obj: pod, noOracle: true},
		{name: "quantity map duplicate", body: `{"spec":{"containers":[{"resources":{"limits":{"cpu":"1","cpu":"2"}}}]}}`, obj: pod,
			duplicate: []string{"spec.containers[0].resources.limits.cpu"}},
		{name: "int-or-string opaque", body: `{"spec":{"containers":[{"readinessProbe":{"tcpSocket":{"port":"http"}}}]}}`, obj: pod},
		{name: "time opaque", body: `{"metadata":{"creationTimestamp":"2025-01-01T00:00:00Z"}}`, obj: pod},
		{name: "fieldsV1 opaque", body: `{"metadata":{"managedFields":[{"fieldsV1":{"f:x":{},"f:x":{}},"y":1}]}}`, obj: pod,
			unknown: []string{"metadata.managedFields[0].y"}},
		{name: "type mismatch skipped", body: `{"spec":{"containers":{"x":1},"volumes":"str","nodeSelector":[{"a":1}]}}`, obj: pod, noOracle: true},
		{name: "null values", body: `{"metadata":null,"spec":{"containers":null,"securityContext":null}}`, obj: pod},
		{name: "escaped keys", body: `{"spec":{"containers":[{"na\u006de":"a","\u00e9t\u00e9":1,"\ud83d\ude00":2,"bad\ud800":3}]}}`, obj: pod,
			unknown: []string{"spec.containers[0].été", "spec.containers[0].😀", "spec.containers[0].bad\uFFFD"}},
		{name: "invalid utf8 key", body: "{\"spec\":{\"a\xffb\":1}}", obj: pod, unknown: []string{"spec.a\uFFFDb"}},
		{name: "events.k8s.io Event", body: `{"apiVersion":"events.k8s.io/v1","kind":"Event","eventTime":"2025-01-01T00:00:00.000000Z","regarding":{"kind":"Pod","x":1},"note":"n","series":{"count":1,"lastObservedTime":"2025-01-01T00:00:00.000000Z","y":1}}`,
			obj: func() any { return &eventsv1.Event{} }, unknown: []string{"regarding.x", "series.y"}},
		{name: "node", body: `{"status":{"capacity":{"cpu":"4"},"nodeInfo":{"architecture":"arm","os":"linux"}}}`,
			obj: func() any { return &corev1.Node{} }, unknown: []string{"status.nodeInfo.os"}},
		{name: "watch event raw extension", body: `{"type":"ADDED","object":{"anything":{"goes":1},"anything":2}}`,
			obj: func() any { return &metav1.WatchEvent{} }},
		{name: "apiVersion and kind allowed at root", body: `{"apiVersion":"v1","kind":"X","inner":"a","nested":{"k":[{"kind":"no"}]}}`,
			obj: func() any { return &custom{} }, unknown: []string{"nested.k[0].kind"}, noOracle: true},
		{name: "embedded forms", body: `{"inner":"a","fromPtr":1,"name":"n","Untagged":1,"Skipped":"x","hidden":1,"untagged":2}`,
			obj: func() any { return &custom{} }, unknown: []string{"Skipped", "hidden", "untagged"}},
		{name: "interface any duplicates", body: `{"any":{"a":[{"b":1,"b":2}],"a":3}}`,
			obj: func() any { return &custom{} }, duplicate: []string{"any.a[0].b", "any.a"}},
		{name: "fixed array", body: `{"fixed":[{"inner":"a"},{"x":1},{"y":2}]}`,
			obj: func() any { return &custom{} }, unknown: []string{"fixed[1].x"}},
		{name: "map of slices of structs", body: `{"nested":{"k":[{"inner":"a","z":1}],"k":[]}}`,
			obj: func() any { return &custom{} }, unknown: []string{"nested.k[0].z"}, duplicate: []string{"nested.k"}},
		{name: "map of maps", body: `{"deep":{"a":{"b":{"q":1}}}}`,
			obj: func() any { return &custom{} }, unknown: []string{"deep.a.b.q"}},
		{name: "int keys", body: `{"intMap":{"1":"a","1":"b"}}`,
			obj: func() any { return &custom{} }, duplicate: []string{"intMap.1"}},
		{name: "double pointer", body: `{"ptr":{"inner":"a","w":1}}`,
			obj: func() any { return &custom{} }, unknown: []string{"ptr.w"}},
		{name: "raw and time and text", body: `{"raw":{"x":{"y":1}},"time":"2025-01-01T00:00:00Z","text":"t"}`,
			obj: func() any { return &custom{} }},
		{name: "non-empty interface skipped", body: `{"iface":{"x":1}}`,
			obj: func() any { return &custom{} }, noOracle: true},
		{name: "whitespace", body: " \n\t{ \"spec\" : { \"foo\" : [ 1 , 2 ] } } \r\n", obj: pod, unknown: []string{"spec.foo"}},
		{name: "syntax: empty", body: ``, obj: pod, wantErr: true},
		{name: "syntax: trailing", body: `{} {}`, obj: pod, wantErr: true},
		{name: "syntax: truncated", body: `{"spec":{"containers":[`, obj: pod, wantErr: true},
		{name: "syntax: bad number", body: `{"spec":{"x":01}}`, obj: pod, wantErr: true},
		{name: "syntax: bad escape", body: `{"a\q":1}`, obj: pod, wantErr: true},
		{name: "syntax: control char", body: "{\"a\nb\":1}", obj: pod, wantErr: true},
		{name: "syntax: single quotes", body: `{'a':1}`, obj: pod, wantErr: true},
		{name: "syntax: trailing comma", body: `{"a":1,}`, obj: pod, wantErr: true},
		{name: "root not an object", body: `[{"a":1}]`, obj: pod},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			unknown, duplicate, err := UnknownFields([]byte(tc.body), tc.obj())
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if !equalPaths(unknown, tc.unknown) || !equalPaths(duplicate, tc.duplicate) {
				t.Errorf("got unknown %q duplicate %q, want %q %q", unknown, duplicate, tc.unknown, tc.duplicate)
			}
			if tc.noOracle || tc.wantErr {
				return
			}
			ou, od, ok := oracle([]byte(tc.body), tc.obj)
			if !ok {
				return
			}
			if !equalPaths(unknown, ou) || !equalPaths(duplicate, od) {
				t.Errorf("API server decoder reports unknown %q duplicate %q; UnknownFields %q %q", ou, od, unknown, duplicate)
			}
		})
	}
}

func equalPaths(a, b []string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

// TestUnknownFieldsTestdata checks real pod manifests against expectations and against the API
// server's decoder.
func TestUnknownFieldsTestdata(t *testing.T) {
	want := map[string][2][]string{
		"pod-valid.json": {},
		"pod-unknown.json": {{
			"status2",
			"metadata.Namespace",
			"metadata.ownerReferences[0].owner",
			"spec.containers[1].foo",
			"spec.containers[1].ports[1].hostIPx",
			"spec.containers[1].resources.claimz",
			"spec.containers[1].livenessProbe.httpGet.paths",
			"spec.containers[1].livenessProbe.exec2",
			"spec.containers[1].env[0].valueFrom.secretKeyRef.opt",
			"spec.volumes[0].configMap.items[0].mod",
			"spec.volumes[0].emptydir",
			"spec.securityContext.runAsUserr",
		}},
		"pod-duplicate.json": {
			{"spec.containers[0].unknown"},
			{"metadata.name", "metadata.labels.app", "metadata.annotations.a", "spec.containers[0].image",
				"spec.containers[1].resources.limits.memory", "spec.nodeSelector.k", "kind"},
		},
	}
	files, err := filepath.Glob(filepath.Join("testdata", "strict", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		w, ok := want[name]
		if !ok {
			t.Errorf("%s: no expectation", name)
			continue
		}
		unknown, duplicate, err := UnknownFields(body, &corev1.Pod{})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !equalPaths(unknown, w[0]) || !equalPaths(duplicate, w[1]) {
			t.Errorf("%s: got unknown %q duplicate %q, want %q %q", name, unknown, duplicate, w[0], w[1])
		}
		ou, od, ok := oracle(body, func() any { return &corev1.Pod{} })
		if !ok {
			t.Errorf("%s: the API server decoder fails on it", name)
			continue
		}
		if !equalPaths(unknown, ou) || !equalPaths(duplicate, od) {
			t.Errorf("%s: API server decoder reports unknown %q duplicate %q", name, ou, od)
		}
	}
}

func TestUnknownFieldsLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"metadata":{"name":"a","name":"b"},"spec":{`)
	for i := 0; i < 150; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"f`)
		b.WriteString(strings.Repeat("x", i))
		b.WriteString(`":1`)
	}
	b.WriteString(`}}`)
	unknown, duplicate, err := UnknownFields([]byte(b.String()), &corev1.Pod{})
	if err != nil {
		t.Fatal(err)
	}
	if len(unknown)+len(duplicate) != maxStrictErrors || len(duplicate) != 1 {
		t.Errorf("got %d unknown and %d duplicate, want %d in total", len(unknown), len(duplicate), maxStrictErrors)
	}
	ou, od, _ := oracle([]byte(b.String()), func() any { return &corev1.Pod{} })
	if !equalPaths(unknown, ou) || !equalPaths(duplicate, od) {
		t.Errorf("differs from the API server decoder")
	}
}

// TestUnknownFieldsManyMapKeys covers objects with more keys than the linear duplicate scan
// handles, where a hash set takes over.
func TestUnknownFieldsManyMapKeys(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"metadata":{"labels":{`)
	for i := 0; i < 40; i++ {
		b.WriteString(`"k` + strconv.Itoa(i) + `":"v",`)
	}
	b.WriteString(`"k3":"again","k39":"again","k40":"new","k40":"again"},"annotations":{"k3":"x"}}}`)
	body := []byte(b.String())
	unknown, duplicate, err := UnknownFields(body, &corev1.Pod{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"metadata.labels.k3", "metadata.labels.k39", "metadata.labels.k40"}
	if len(unknown) != 0 || !equalPaths(duplicate, want) {
		t.Errorf("got unknown %q duplicate %q, want duplicate %q", unknown, duplicate, want)
	}
	ou, od, _ := oracle(body, func() any { return &corev1.Pod{} })
	if !equalPaths(unknown, ou) || !equalPaths(duplicate, od) {
		t.Errorf("API server decoder reports unknown %q duplicate %q", ou, od)
	}
}

func TestUnknownFieldsDepth(t *testing.T) {
	deep := strings.Repeat("[", maxStrictDepth+1) + strings.Repeat("]", maxStrictDepth+1)
	if _, _, err := UnknownFields([]byte(`{"metadata":`+deep+`}`), &corev1.Pod{}); err == nil {
		t.Error("no error for nesting deeper than the JSON scanner allows")
	}
	ok := strings.Repeat("[", 1000) + strings.Repeat("]", 1000)
	if _, _, err := UnknownFields([]byte(`{"metadata":`+ok+`}`), &corev1.Pod{}); err != nil {
		t.Errorf("error for acceptable nesting: %v", err)
	}
}

func TestStrictError(t *testing.T) {
	if got := StrictError(nil, nil); got != "" {
		t.Errorf("no problems: got %q", got)
	}
	got := StrictError([]string{"spec.foo", `spec.containers[0]."q"`}, []string{"metadata.name"})
	want := `strict decoding error: unknown field "spec.foo", unknown field "spec.containers[0].\"q\"", duplicate field "metadata.name"`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// The API server's own message for the same problems, when they occur in this order.
	body := []byte(`{"spec":{"foo":1,"containers":[{"\"q\"":1}]},"metadata":{"name":"a","name":"b"}}`)
	errs, err := kjson.UnmarshalStrict(body, &corev1.Pod{})
	if err != nil {
		t.Fatal(err)
	}
	if server := runtime.NewStrictDecodingError(errs).Error(); server != want {
		t.Errorf("API server says %s", server)
	}
}

func TestUnknownFieldsConcurrent(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "strict", "pod-unknown.json"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				if u, _, err := UnknownFields(body, &corev1.Pod{}); err != nil || len(u) != 12 {
					t.Errorf("got %d unknown, err %v", len(u), err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestJSONStructFieldsMatchEncodingJSON(t *testing.T) {
	// Every field encoding/json writes must be known, and nothing else.
	for _, v := range []any{custom{EmbeddedPtr: &EmbeddedPtr{}}, corev1.Pod{}, corev1.Volume{}, corev1.Probe{}, metav1.ObjectMeta{}} {
		typ := reflect.TypeOf(v)
		known := map[string]bool{}
		for _, f := range jsonStructFields(typ) {
			known[f.name] = true
		}
		b, err := json.Marshal(fillStrings(reflect.New(typ)).Elem().Interface())
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for k := range m {
			if !known[k] {
				t.Errorf("%s: encoding/json writes %q, not in the field table", typ, k)
			}
		}
	}
}

// fillStrings sets every string field reachable without allocation so omitempty keeps them.
func fillStrings(v reflect.Value) reflect.Value {
	e := v.Elem()
	for i := 0; i < e.NumField(); i++ {
		f := e.Field(i)
		if f.CanSet() && f.Kind() == reflect.String {
			f.SetString("x")
		}
	}
	return v
}

func BenchmarkUnknownFieldsPod(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("testdata", "strict", "pod-valid.json"))
	if err != nil {
		b.Fatal(err)
	}
	obj := &corev1.Pod{}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for i := 0; i < b.N; i++ {
		if _, _, err := UnknownFields(body, obj); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzUnknownFields(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "strict", "*.json"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{`{}`, `{"spec":{"containers":[{"name":"a","x":1}]}}`, `{"metadata":{"labels":{"a":"1","a":"2"}}}`,
		`{"a\u0000":1}`, `{"\ud800\udc00":1}`, `[`, `{"spec":{"volumes":[{"configMap":{"items":[{"k":1}]}}]}}`, `nul`, `-0.5e+3`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		unknown, duplicate, err := UnknownFields(body, &corev1.Pod{})
		if valid := json.Valid(body); valid != (err == nil) {
			t.Fatalf("json.Valid = %v but err = %v", valid, err)
		}
		if err != nil {
			return
		}
		ou, od, ok := oracle(body, func() any { return &corev1.Pod{} })
		if !ok {
			return // the API server fails on a type error first
		}
		if !equalPaths(unknown, ou) || !equalPaths(duplicate, od) {
			t.Fatalf("API server decoder reports unknown %q duplicate %q; UnknownFields %q %q", ou, od, unknown, duplicate)
		}
	})
}

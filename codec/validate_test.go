package codec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// validateCase is one entry of testdata/validate/*.json. The expected messages were written
// from the API server's validation sources, not from this package's output.
type validateCase struct {
	Name          string          `json:"name"`
	Resource      string          `json:"resource"` // Kind.GroupResource()
	Object        json.RawMessage `json:"object"`
	Old           json.RawMessage `json:"old"` // set for an update
	Message       string          `json:"message"`
	MessagePrefix string          `json:"messagePrefix"`
	Causes        []Cause         `json:"causes"`
}

func kindByGroupResource(t *testing.T, gr string) *Kind {
	t.Helper()
	for _, k := range Kinds {
		if k.GroupResource() == gr {
			return k
		}
	}
	t.Fatalf("no kind %q", gr)
	return nil
}

// decodeDefaulted decodes like the API server: into the typed object, then defaulted.
func decodeDefaulted(t *testing.T, k *Kind, raw json.RawMessage) runtime.Object {
	t.Helper()
	obj := k.New()
	if err := json.Unmarshal(raw, obj); err != nil {
		t.Fatal(err)
	}
	Default(obj)
	return obj
}

func TestValidateFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "validate", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var cases []validateCase
		if err := json.Unmarshal(data, &cases); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, tc := range cases {
			t.Run(filepath.Base(file)+"/"+tc.Name, func(t *testing.T) {
				k := kindByGroupResource(t, tc.Resource)
				obj := decodeDefaulted(t, k, tc.Object)
				var causes []Cause
				if tc.Old != nil {
					causes = ValidateUpdate(k, obj, decodeDefaulted(t, k, tc.Old))
				} else {
					causes = Validate(k, obj)
				}
				msg := ""
				if len(causes) > 0 {
					msg = InvalidMessage(QualifiedKind(k), obj.(metav1.Object).GetName(), causes)
				}
				switch {
				case tc.MessagePrefix != "":
					if !strings.HasPrefix(msg, tc.MessagePrefix) {
						t.Errorf("message\n got %s\nwant prefix %s", msg, tc.MessagePrefix)
					}
				case msg != tc.Message:
					t.Errorf("message\n got %s\nwant %s", msg, tc.Message)
				}
				if tc.Causes != nil && !reflect.DeepEqual(causes, tc.Causes) {
					t.Errorf("causes\n got %#v\nwant %#v", causes, tc.Causes)
				}
			})
		}
	}
}

func validPod(name string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	Default(p)
	return p
}

func TestValidateLengths(t *testing.T) {
	pods := KindFor("", "v1", "pods")
	long := strings.Repeat("a", 254)
	got := InvalidMessage("Pod", long, Validate(pods, validPod(long)))
	if want := `Pod "` + long + `" is invalid: metadata.name: Invalid value: "` + long + `": must be no more than 253 characters`; got != want {
		t.Errorf("long pod name:\n%s", got)
	}
	if c := Validate(pods, validPod(long[:253])); c != nil {
		t.Errorf("253 characters are allowed: %v", c)
	}

	nss := KindFor("", "v1", "namespaces")
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: long[:64]}}
	Default(ns)
	// The name also lands in the kubernetes.io/metadata.name label, which is too long too.
	if c := Validate(nss, ns); len(c) != 2 || c[0].Message != `Invalid value: "`+long[:64]+`": must be no more than 63 characters` ||
		c[1].Field != "metadata.labels" || c[1].Message != `Invalid value: "`+long[:64]+`": must be no more than 63 bytes` {
		t.Errorf("64-character namespace: %+v", c)
	}

	// Label values: at most 63 characters; the size of all annotations: at most 256 KiB.
	p := validPod("web")
	p.Labels = map[string]string{"app": long[:64]}
	p.Annotations = map[string]string{"note": strings.Repeat("x", 256<<10)}
	c := Validate(pods, p)
	want := []Cause{
		{Type: "FieldValueInvalid", Field: "metadata.labels", Message: `Invalid value: "` + long[:64] + `": must be no more than 63 bytes`},
		{Type: "FieldValueTooLong", Field: "metadata.annotations", Message: "Too long: may not be more than 262144 bytes"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("limits: %+v", c)
	}
	p.Annotations = map[string]string{"note": strings.Repeat("x", 256<<10-4)}
	p.Labels = map[string]string{"app": long[:63]}
	if c := Validate(pods, p); c != nil {
		t.Errorf("exactly at the limits: %+v", c)
	}
}

func TestInvalidMessage(t *testing.T) {
	one := []Cause{{Type: "FieldValueRequired", Field: "spec.containers", Message: "Required value"}}
	if got := InvalidMessage("Pod", "web", one); got != `Pod "web" is invalid: spec.containers: Required value` {
		t.Error(got)
	}
	if got := InvalidMessage("Pod", "web", nil); got != `Pod "web" is invalid` {
		t.Error(got)
	}
	dup := append(one, one[0], Cause{Field: "spec.x", Message: "Forbidden: no"})
	if got := InvalidMessage("Event.events.k8s.io", "e", dup); got != `Event.events.k8s.io "e" is invalid: [spec.containers: Required value, spec.x: Forbidden: no]` {
		t.Error(got)
	}
	// Names are quoted the Go way, as the server's %q does.
	if got := InvalidMessage("Pod", "a\"b", one); !strings.HasPrefix(got, `Pod "a\"b" is invalid`) {
		t.Error(got)
	}
	if got := QualifiedKind(KindFor("events.k8s.io", "v1", "events")); got != "Event.events.k8s.io" {
		t.Error(got)
	}
	if got := QualifiedKind(KindFor("", "v1", "pods")); got != "Pod" {
		t.Error(got)
	}
}

func TestValidateKindWithoutRules(t *testing.T) {
	// A kind without registered rules gets the generic metadata checks only.
	k := &Kind{Version: "v1", Resource: "limitranges", Kind: "LimitRange", Namespaced: true}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "..", Namespace: "default", Labels: map[string]string{"a": "b c"}}}
	c := Validate(k, cm)
	if len(c) != 2 || c[0].Field != "metadata.name" || c[0].Message != `Invalid value: "..": may not be '..'` || c[1].Field != "metadata.labels" {
		t.Errorf("%+v", c)
	}
	old := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "default", UID: "u", ResourceVersion: "1"}}
	upd := old.DeepCopy()
	upd.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Event", Name: "e", UID: "x"}}
	// rest.BeforeUpdate checks metadata twice (as on create and as an update), so the
	// server lists the cause twice and prints it once.
	c = ValidateUpdate(k, upd, old)
	want := `Invalid value: {"apiVersion":"v1","kind":"Event","name":"e","uid":"x"}: /v1, Kind=Event is disallowed from being an owner`
	if len(c) != 2 || c[0] != c[1] || c[0].Field != "metadata.ownerReferences[0]" || c[0].Message != want {
		t.Errorf("%+v", c)
	}
}

func TestValidateDoesNotMutate(t *testing.T) {
	pods := KindFor("", "v1", "pods")
	p := validPod("web")
	p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: "TCP"}}
	before := p.DeepCopy()
	Validate(pods, p)
	upd := p.DeepCopy()
	upd.ResourceVersion = "2"
	ValidateUpdate(pods, upd, p)
	if !reflect.DeepEqual(p, before) {
		t.Error("Validate changed the pod")
	}
}

func TestValidateWrongType(t *testing.T) {
	// A handler bug must not crash the server: the wrong type is an internal error.
	for _, k := range Kinds {
		c := Validate(k, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "x"}})
		if len(c) != 1 || c[0].Type != "InternalError" {
			t.Errorf("%s: %+v", k.GroupResource(), c)
		}
		c = ValidateUpdate(k, &corev1.Binding{}, &corev1.Binding{})
		if len(c) == 0 || c[len(c)-1].Type != "InternalError" {
			t.Errorf("%s update: %+v", k.GroupResource(), c)
		}
		if row := TableRow(k, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, tableNow); len(row) != len(TableColumns(k)) || !slices.Contains(row, any("x")) {
			t.Errorf("%s row: %v", k.GroupResource(), row)
		}
	}
}

func TestValidateSelfSubjectAccessReview(t *testing.T) {
	k := kindByGroupResource(t, "selfsubjectaccessreviews.authorization.k8s.io")
	ok := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "list", Resource: "pods"}}}
	if c := Validate(k, ok); c != nil {
		t.Errorf("kubectl auth can-i review: %+v", c)
	}
	empty := &authorizationv1.SelfSubjectAccessReview{ObjectMeta: metav1.ObjectMeta{Name: "x"}}
	got := InvalidMessage(QualifiedKind(k), "", Validate(k, empty))
	want := `SelfSubjectAccessReview.authorization.k8s.io "" is invalid: [spec.resourceAttributes: Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified, metadata: Invalid value: {"name":"x"}: must be empty]`
	if got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
	rules := kindByGroupResource(t, "selfsubjectrulesreviews.authorization.k8s.io")
	if c := Validate(rules, &authorizationv1.SelfSubjectRulesReview{}); c != nil {
		t.Errorf("rules review: %+v", c)
	}
}

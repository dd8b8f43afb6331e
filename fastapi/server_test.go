package fastapi

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/codec"
	"github.com/k2d-project/k2d/reconcile"
	"github.com/valyala/fasthttp/fasthttputil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const testToken = "t0ken"

// fakeRuntime counts the calls that would reach Docker.
type fakeRuntime struct{ calls uint64 }

func (f *fakeRuntime) Logs(context.Context, string, string, reconcile.LogOptions, io.Writer) error {
	f.calls++
	return nil
}
func (f *fakeRuntime) Exec(context.Context, string, string, string, []string, reconcile.ExecIO) (int, error) {
	f.calls++
	return 0, nil
}
func (f *fakeRuntime) Attach(context.Context, string, string, string, reconcile.ExecIO) (int, error) {
	f.calls++
	return 0, nil
}
func (f *fakeRuntime) DockerCalls() uint64 { return f.calls }

type testServer struct {
	t     *testing.T
	store *cache.Cache
	rt    *fakeRuntime
	hc    *http.Client
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	store, err := cache.New(cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	nsKind := codec.KindFor("", "v1", "namespaces")
	if _, err := store.Create(nsKind, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}}); err != nil {
		t.Fatal(err)
	}
	rt := &fakeRuntime{}
	s := New(Config{Token: testToken, Store: store, Runtime: rt, Kubeconfig: func() []byte { return nil },
		Version: Version{Major: "1", Minor: "32", GitVersion: "v1.32.0+k2d.test"}})
	ln := fasthttputil.NewInmemoryListener()
	go s.Serve(ln) //nolint:errcheck
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	hc := &http.Client{Transport: &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) { return ln.Dial() }}}
	return &testServer{t: t, store: store, rt: rt, hc: hc}
}

func (ts *testServer) do(method, path, contentType, body string, hdr ...string) (*http.Response, string) {
	ts.t.Helper()
	req, _ := http.NewRequest(method, "http://k2d"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := ts.hc.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func status(t *testing.T, body string) metav1.Status {
	t.Helper()
	var st metav1.Status
	if err := json.Unmarshal([]byte(body), &st); err != nil || st.Kind != "Status" {
		t.Fatalf("not a Status: %s", body)
	}
	return st
}

const podJSON = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","labels":{"app":"web"}},"spec":{"containers":[{"name":"app","image":"busybox:1"}]}}`

func TestCRUDAndErrors(t *testing.T) {
	ts := newTestServer(t)
	resp, body := ts.do("POST", "/api/v1/namespaces/default/pods", "application/json", podJSON)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	var pod corev1.Pod
	if err := json.Unmarshal([]byte(body), &pod); err != nil {
		t.Fatal(err)
	}
	if pod.UID == "" || pod.ResourceVersion == "" || pod.Spec.RestartPolicy != corev1.RestartPolicyAlways || pod.Status.Phase != corev1.PodPending {
		t.Fatalf("created pod lacks identity or defaults: %+v", pod)
	}
	for _, tc := range []struct {
		method, path, ct, body string
		code                   int
		reason                 metav1.StatusReason
		msg                    string
	}{
		{"POST", "/api/v1/namespaces/default/pods", "application/json", podJSON, 409, metav1.StatusReasonAlreadyExists, `pods "web" already exists`},
		{"GET", "/api/v1/namespaces/default/pods/nope", "", "", 404, metav1.StatusReasonNotFound, `pods "nope" not found`},
		{"POST", "/api/v1/namespaces/missing/pods", "application/json", podJSON, 404, metav1.StatusReasonNotFound, `namespaces "missing" not found`},
		{"POST", "/api/v1/namespaces/default/pods", "application/json", `{"apiVersion":"v1",`, 400, metav1.StatusReasonBadRequest, ""},
		{"POST", "/api/v1/namespaces/default/pods", "text/plain", podJSON, 415, metav1.StatusReasonUnsupportedMediaType, ""},
		{"POST", "/api/v1/namespaces/default/pods", "application/json", strings.Replace(podJSON, `"web"`, `"Web"`, 1), 422, metav1.StatusReasonInvalid, `Pod "Web" is invalid`},
		{"POST", "/api/v1/namespaces/default/pods?fieldValidation=Strict", "application/json", strings.Replace(podJSON, `"spec":{`, `"spec":{"foo":1,`, 1), 400, metav1.StatusReasonBadRequest, `strict decoding error: unknown field "spec.foo"`},
		{"PUT", "/api/v1/namespaces/default/pods/web", "application/json", strings.Replace(podJSON, `"name":"web"`, `"name":"web","resourceVersion":"1"`, 1), 409, metav1.StatusReasonConflict, "the object has been modified"},
		{"PATCH", "/api/v1/namespaces/default/pods/web", "application/json", `{}`, 415, metav1.StatusReasonUnsupportedMediaType, ""},
		{"GET", "/api/v1/foos", "", "", 404, metav1.StatusReasonNotFound, ""},
		{"POST", "/api/v1/nodes", "application/json", `{}`, 405, metav1.StatusReasonMethodNotAllowed, ""},
		{"GET", "/api/v1/pods?labelSelector=a+in+b", "", "", 400, metav1.StatusReasonBadRequest, ""},
		{"GET", "/api/v1/pods?fieldSelector=spec.foo%3Dx", "", "", 400, metav1.StatusReasonBadRequest, "field label not supported"},
	} {
		resp, body := ts.do(tc.method, tc.path, tc.ct, tc.body)
		st := status(t, body)
		if resp.StatusCode != tc.code || int(st.Code) != tc.code || st.Reason != tc.reason || !strings.Contains(st.Message, tc.msg) {
			t.Errorf("%s %s: got %d %s %q, want %d %s %q", tc.method, tc.path, resp.StatusCode, st.Reason, st.Message, tc.code, tc.reason, tc.msg)
		}
	}
	if items, _ := ts.store.List("pods", ""); len(items) != 1 {
		t.Fatalf("bad requests changed the store: %d pods", len(items))
	}
	// Unauthorized.
	req, _ := http.NewRequest("GET", "http://k2d/api/v1/pods", nil)
	req.Header.Set("Authorization", "Bearer wrong")
	r, err := ts.hc.Do(req)
	if err != nil || r.StatusCode != 401 {
		t.Fatalf("wrong token: %v %v", r, err)
	}
	r.Body.Close()
	// Strategic merge patch, then JSON patch.
	resp, body = ts.do("PATCH", "/api/v1/namespaces/default/pods/web", "application/strategic-merge-patch+json", `{"metadata":{"labels":{"tier":"front"}}}`)
	if resp.StatusCode != 200 || !strings.Contains(body, `"tier":"front"`) || !strings.Contains(body, `"app":"web"`) {
		t.Fatalf("strategic patch: %d %s", resp.StatusCode, body)
	}
	resp, body = ts.do("PATCH", "/api/v1/namespaces/default/pods/web", "application/json-patch+json", `[{"op":"remove","path":"/metadata/labels/tier"}]`)
	if resp.StatusCode != 200 || strings.Contains(body, `"tier"`) {
		t.Fatalf("json patch: %d %s", resp.StatusCode, body)
	}
	// Dry run changes nothing.
	resp, _ = ts.do("POST", "/api/v1/namespaces/default/pods?dryRun=All", "application/json", strings.Replace(podJSON, `"web"`, `"dry"`, 1))
	if _, ok := ts.store.Get("pods", "default", "dry"); resp.StatusCode != 201 || ok {
		t.Fatalf("dry run: %d stored=%v", resp.StatusCode, ok)
	}
}

func TestListTableAndPagination(t *testing.T) {
	ts := newTestServer(t)
	for _, n := range []string{"a", "b", "c"} {
		resp, body := ts.do("POST", "/api/v1/namespaces/default/pods", "application/json", strings.Replace(podJSON, `"web"`, `"`+n+`"`, 1))
		if resp.StatusCode != 201 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	}
	_, body := ts.do("GET", "/api/v1/namespaces/default/pods?limit=2", "", "")
	var list corev1.PodList
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 || list.Continue == "" || list.ResourceVersion == "" || list.ResourceVersion == "0" {
		t.Fatalf("page 1: %d items, continue %q rv %q", len(list.Items), list.Continue, list.ResourceVersion)
	}
	_, body = ts.do("GET", "/api/v1/namespaces/default/pods?limit=2&continue="+list.Continue, "", "")
	var page2 corev1.PodList
	_ = json.Unmarshal([]byte(body), &page2)
	if len(page2.Items) != 1 || page2.Items[0].Name != "c" || page2.Continue != "" {
		t.Fatalf("page 2: %+v", page2.Items)
	}
	resp, body := ts.do("GET", "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb", "", "",
		"Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
	if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "as=Table") {
		t.Fatalf("content type %q", ct)
	}
	var table metav1.Table
	if err := json.Unmarshal([]byte(body), &table); err != nil {
		t.Fatal(err)
	}
	if len(table.Rows) != 3 || table.ColumnDefinitions[0].Name != "Name" || table.Rows[0].Cells[0] != "a" {
		t.Fatalf("table: %s", body)
	}
}

func TestWatch(t *testing.T) {
	ts := newTestServer(t)
	ts.do("POST", "/api/v1/namespaces/default/pods", "application/json", podJSON)
	rv := ts.store.RV()
	req, _ := http.NewRequest("GET", "http://k2d/api/v1/namespaces/default/pods?watch=1&resourceVersion="+itoa(rv)+"&fieldSelector=metadata.name%3Dweb", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := ts.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	go func() {
		time.Sleep(50 * time.Millisecond)
		ts.do("POST", "/api/v1/namespaces/default/pods", "application/json", strings.Replace(podJSON, `"web"`, `"other"`, 1))
		ts.do("PATCH", "/api/v1/namespaces/default/pods/web", "application/merge-patch+json", `{"metadata":{"labels":{"x":"y"}}}`)
		ts.do("DELETE", "/api/v1/namespaces/default/pods/web?gracePeriodSeconds=0", "", "")
	}()
	var types []string
	for len(types) < 2 && lines.Scan() {
		if len(strings.TrimSpace(lines.Text())) == 0 {
			continue // the newline that sends the headers at once
		}
		var ev struct {
			Type   string
			Object corev1.Pod
		}
		if err := json.Unmarshal(lines.Bytes(), &ev); err != nil {
			t.Fatalf("frame %q: %v", lines.Text(), err)
		}
		if ev.Object.Name != "web" {
			t.Fatalf("field selector let %q through", ev.Object.Name)
		}
		types = append(types, ev.Type)
	}
	if strings.Join(types, ",") != "MODIFIED,DELETED" {
		t.Fatalf("events %v", types)
	}
	// A version older than the history gets an ERROR event with 410 Expired.
	_, body := ts.do("GET", "/api/v1/pods?watch=1&resourceVersion=0&timeoutSeconds=1", "", "")
	if !strings.Contains(body, `"type":"ADDED"`) {
		t.Fatalf("watch from 0 must start with the current state: %s", body)
	}
}

func TestDiscovery(t *testing.T) {
	ts := newTestServer(t)
	resp, body := ts.do("GET", "/api", "", "", "Accept", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")
	if resp.Header.Get("Content-Type") != mimeDiscoveryV2 || !strings.Contains(body, `"resource":"pods"`) {
		t.Fatalf("aggregated /api: %s %s", resp.Header.Get("Content-Type"), body)
	}
	_, body = ts.do("GET", "/api/v1", "", "")
	if !strings.Contains(body, `"name":"pods/exec"`) || !strings.Contains(body, `"shortNames":["po"]`) {
		t.Fatalf("/api/v1: %s", body)
	}
	_, body = ts.do("GET", "/apis", "", "")
	if !strings.Contains(body, `"events.k8s.io"`) {
		t.Fatalf("/apis: %s", body)
	}
	req, _ := http.NewRequest("GET", "http://k2d/version", nil)
	r, err := ts.hc.Do(req)
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("/version must be open: %v", err)
	}
	r.Body.Close()
}

func TestReadsMakeNoDockerCalls(t *testing.T) {
	ts := newTestServer(t)
	ts.do("POST", "/api/v1/namespaces/default/pods", "application/json", podJSON)
	// Reads with a fake Runtime: the cache alone must answer them. (The end-to-end suite
	// checks the same against the real binary and Docker through /metrics.)
	for i := 0; i < 1000; i++ {
		var resp *http.Response
		switch i % 3 {
		case 0:
			resp, _ = ts.do("GET", "/api/v1/namespaces/default/pods/web", "", "")
		case 1:
			resp, _ = ts.do("GET", "/api/v1/pods", "", "", "Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
		case 2:
			// A watch from the version before the pod: its ADDED event comes first.
			req, _ := http.NewRequest("GET", "http://k2d/api/v1/pods?watch=1&resourceVersion=1", nil)
			req.Header.Set("Authorization", "Bearer "+testToken)
			var err error
			if resp, err = ts.hc.Do(req); err != nil {
				t.Fatal(err)
			}
			line, _ := bufio.NewReader(resp.Body).ReadString('\n')
			resp.Body.Close()
			if !strings.Contains(line, `"type":"ADDED"`) {
				t.Fatalf("watch: %q", line)
			}
		}
		if resp.StatusCode != 200 {
			t.Fatalf("read %d: %d", i, resp.StatusCode)
		}
	}
	if ts.rt.calls != 0 {
		t.Fatalf("reads made %d runtime calls", ts.rt.calls)
	}
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }

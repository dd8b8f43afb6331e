package bench

// Go benchmarks of k2d's hot paths (make bench): the JSON codec on a realistic Pod, the
// cache's reads and writes with watchers, and the HTTP path (TLS left out) over an in-memory
// listener with a keep-alive fasthttp client.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/k2d-project/k2d/cache"
	"github.com/k2d-project/k2d/codec"
	"github.com/k2d-project/k2d/fastapi"
	"github.com/k2d-project/k2d/reconcile"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

var (
	podKind = codec.KindFor("", "v1", "pods")
	nsKind  = codec.KindFor("", "v1", "namespaces")
)

// samplePod is a pod as kubectl apply leaves it and k2d's status writes fill it: two
// containers with env, probes, volumes and a full status.
func samplePod(tb testing.TB, name string) *corev1.Pod {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "pod.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var p corev1.Pod
	if err := json.Unmarshal(b, &p); err != nil {
		tb.Fatal(err)
	}
	p.Name = name
	p.UID = ""
	p.ResourceVersion = ""
	return &p
}

func BenchmarkEncodePod(b *testing.B) {
	p := samplePod(b, "web")
	b.Run("generated", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := codec.EncodeObject(podKind, p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := json.Marshal(p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecodePod(b *testing.B) {
	body, err := codec.EncodeObject(podKind, samplePod(b, "web"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for i := 0; i < b.N; i++ {
		if _, err := codec.DecodeObject(podKind, body); err != nil {
			b.Fatal(err)
		}
	}
}

func newStore(tb testing.TB, pods int) *cache.Cache {
	tb.Helper()
	c, err := cache.New(cache.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := c.Create(nsKind, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}}); err != nil {
		tb.Fatal(err)
	}
	for i := 0; i < pods; i++ {
		if _, err := c.Create(podKind, samplePod(tb, fmt.Sprintf("web-%03d", i))); err != nil {
			tb.Fatal(err)
		}
	}
	return c
}

func BenchmarkCache(b *testing.B) {
	c := newStore(b, 100)
	b.Run("get", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, ok := c.Get("pods", "default", "web-042"); !ok {
				b.Fatal("missing")
			}
		}
	})
	b.Run("list100", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if l, _ := c.List("pods", "default"); len(l) != 100 {
				b.Fatal(len(l))
			}
		}
	})
	for _, watchers := range []int{0, 10, 100} {
		b.Run(fmt.Sprintf("status-update/watchers=%d", watchers), func(b *testing.B) {
			for w := 0; w < watchers; w++ {
				wt, _, _, err := c.Watch("pods", "", 0)
				if err != nil {
					b.Fatal(err)
				}
				go func() {
					for range wt.Events() {
					}
				}()
				defer wt.Stop()
			}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				_, err := c.Mutate(podKind, "default", "web-042", func(obj runtime.Object) (bool, error) {
					p := obj.(*corev1.Pod)
					p.Status.Message = fmt.Sprint(i)
					return true, nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type noRuntime struct{}

func (noRuntime) Logs(context.Context, string, string, reconcile.LogOptions, io.Writer) error {
	return nil
}
func (noRuntime) Exec(context.Context, string, string, string, []string, reconcile.ExecIO) (int, error) {
	return 0, nil
}
func (noRuntime) Attach(context.Context, string, string, string, reconcile.ExecIO) (int, error) {
	return 0, nil
}
func (noRuntime) DockerCalls() uint64 { return 0 }

func BenchmarkHTTP(b *testing.B) {
	store := newStore(b, 100)
	s := fastapi.New(fastapi.Config{Token: "t", Store: store, Runtime: noRuntime{}, Kubeconfig: func() []byte { return nil },
		Version: fastapi.Version{Major: "1", Minor: "32", GitVersion: "v1.32.0+k2d.bench"}})
	ln := fasthttputil.NewInmemoryListener()
	go s.Serve(ln) //nolint:errcheck
	defer s.Shutdown(context.Background())
	client := &fasthttp.HostClient{Addr: "k2d", Dial: func(string) (net.Conn, error) { return ln.Dial() }, MaxConns: 64}
	for _, tc := range []struct{ name, path, accept string }{
		{"get-pod", "/api/v1/namespaces/default/pods/web-042", "application/json"},
		{"list-100-pods", "/api/v1/namespaces/default/pods", "application/json"},
		{"list-100-pods-table", "/api/v1/namespaces/default/pods", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
				defer fasthttp.ReleaseRequest(req)
				defer fasthttp.ReleaseResponse(resp)
				req.SetRequestURI("http://k2d" + tc.path)
				req.Header.Set("Authorization", "Bearer t")
				req.Header.Set("Accept", tc.accept)
				for pb.Next() {
					if err := client.Do(req, resp); err != nil || resp.StatusCode() != 200 {
						b.Fatalf("%v %d", err, resp.StatusCode())
					}
				}
			})
		})
	}
}

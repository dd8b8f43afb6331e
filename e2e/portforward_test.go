package e2e

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestPortForward forwards a local port to busybox httpd in a pod with the real kubectl, over
// its default transport (SPDY tunnelled in WebSocket) and over plain SPDY.
func TestPortForward(t *testing.T) {
	start(t)
	ns := newNamespace(t, "pf")
	applyPod(t, ns, "www", `apiVersion: v1
kind: Pod
metadata:
  name: www
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: k2d-test/busybox:1
    imagePullPolicy: Never
    command: ["sh", "-c", "mkdir -p /www && echo hello-from-pod > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports:
    - containerPort: 8080
`)
	forwarding := regexp.MustCompile(`Forwarding from 127\.0\.0\.1:(\d+) -> 8080`)
	for _, tc := range []struct{ name, env string }{{"websocket", ""}, {"spdy", "KUBECTL_PORT_FORWARD_WEBSOCKETS=false"}} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv(strings.Split(tc.env, "=")[0], strings.Split(tc.env, "=")[1])
			}
			pf := kubectlStream(t, time.Minute, "port-forward", "-n", ns, "pod/www", ":8080")
			var port string
			for port == "" {
				line, ok := pf.next(30 * time.Second)
				if !ok {
					t.Fatalf("kubectl port-forward printed no forwarding line; stderr: %s", pf.stderr.String())
				}
				if m := forwarding.FindStringSubmatch(line); m != nil {
					port = m[1]
				}
			}
			for i := 0; i < 3; i++ { // several connections through one forward
				resp, err := http.Get("http://127.0.0.1:" + port + "/index.html")
				if err != nil {
					t.Fatalf("GET through the forwarded port: %v (kubectl stderr: %s)", err, pf.stderr.String())
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if strings.TrimSpace(string(body)) != "hello-from-pod" {
					t.Fatalf("GET %d: %q", i, body)
				}
			}
			pf.stop()
		})
	}
}

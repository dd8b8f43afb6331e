// Command floor is the least a server on k2d's design card does at start, with none of k2d's
// own code: it links the Kubernetes API groups k2d serves (their package inits run), makes a
// self-signed ECDSA serving certificate, lists the containers of the Docker engine and decodes
// the answer with the Docker API types, and serves TLS with fasthttp.
//
// bench/budget runs it under qemu-arm the way it runs k2d and the hello-world server, and
// prints its binary size and RSS: the part of k2d's footprint that the fixed dependencies set
// before k2d adds anything (bench/README.md).
//
//	floor PORT
package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/valyala/fasthttp"
	_ "go.uber.org/automaxprocs"
	_ "k8s.io/api/apps/v1"
	_ "k8s.io/api/authorization/v1"
	_ "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	_ "k8s.io/api/discovery/v1"
	_ "k8s.io/api/events/v1"
	_ "k8s.io/api/storage/v1"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: floor PORT")
		os.Exit(2)
	}
	cert, err := selfSigned()
	if err != nil {
		fail(err)
	}
	n, err := listContainers()
	if err != nil {
		fail(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Args[1])
	if err != nil {
		fail(err)
	}
	body := fmt.Sprintf("%s: %d containers\n", corev1.PodRunning, n)
	s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.WriteString(body) }}
	fail(s.Serve(tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})))
}

func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: "floor"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// listContainers asks the engine on DOCKER_HOST (unix sockets only) for its containers.
func listContainers() (int, error) {
	sock := strings.TrimPrefix(os.Getenv("DOCKER_HOST"), "unix://")
	if sock == "" {
		sock = "/var/run/docker.sock"
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET /containers/json?all=1 HTTP/1.0\r\nHost: docker\r\n\r\n")); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var list []container.Summary
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return 0, err
	}
	return len(list), nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "floor:", err)
	os.Exit(1)
}

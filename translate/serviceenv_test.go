package translate

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func envSvc(ns, name, ip string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.ServiceSpec{ClusterIP: ip, Ports: ports}}
}

func TestServiceEnv(t *testing.T) {
	kube := envSvc("default", "kubernetes", "10.96.0.1", corev1.ServicePort{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP})
	svcs := []*corev1.Service{
		kube,
		envSvc("shop", "web-api", "10.96.8.8", corev1.ServicePort{Port: 8080}), // unnamed, protocol unset: TCP
		envSvc("shop", "db", "None", corev1.ServicePort{Port: 5432}),           // headless: none
		envSvc("shop", "ext", ""), // ExternalName: none
		envSvc("other", "cache", "10.96.9.9", corev1.ServicePort{Port: 11211}), // another namespace: none
	}
	got := ServiceEnv(svcs, "shop", true)
	want := map[string]string{
		"WEB_API_SERVICE_HOST":          "10.96.8.8",
		"WEB_API_SERVICE_PORT":          "8080",
		"WEB_API_PORT":                  "tcp://10.96.8.8:8080",
		"WEB_API_PORT_8080_TCP":         "tcp://10.96.8.8:8080",
		"WEB_API_PORT_8080_TCP_PROTO":   "tcp",
		"WEB_API_PORT_8080_TCP_PORT":    "8080",
		"WEB_API_PORT_8080_TCP_ADDR":    "10.96.8.8",
		"KUBERNETES_SERVICE_HOST":       "10.96.0.1",
		"KUBERNETES_SERVICE_PORT":       "443",
		"KUBERNETES_SERVICE_PORT_HTTPS": "443",
		"KUBERNETES_PORT":               "tcp://10.96.0.1:443",
		"KUBERNETES_PORT_443_TCP":       "tcp://10.96.0.1:443",
		"KUBERNETES_PORT_443_TCP_PROTO": "tcp",
		"KUBERNETES_PORT_443_TCP_PORT":  "443",
		"KUBERNETES_PORT_443_TCP_ADDR":  "10.96.0.1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	if got := ServiceEnv(svcs, "shop", false); len(got) != 8 || got["WEB_API_SERVICE_HOST"] != "" {
		t.Fatalf("enableServiceLinks=false keeps only the kubernetes Service: %v", got)
	}
	// A Service of the pod's namespace named kubernetes wins over default's.
	own := envSvc("shop", "kubernetes", "10.96.7.7", corev1.ServicePort{Port: 80})
	if got := ServiceEnv(append(svcs, own), "shop", true); got["KUBERNETES_SERVICE_HOST"] != "10.96.7.7" {
		t.Fatalf("own kubernetes Service: %v", got["KUBERNETES_SERVICE_HOST"])
	}
	v6 := envSvc("shop", "v6", "fd00::10", corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolUDP})
	if got := ServiceEnv([]*corev1.Service{v6}, "shop", true); got["V6_PORT"] != "udp://[fd00::10]:80" || got["V6_PORT_80_UDP_ADDR"] != "fd00::10" {
		t.Fatalf("IPv6: %v", got)
	}
}

// TestContainerEnvWithServices: the container's own variables win and come first, the
// Service ones follow in name order, and $(VAR) may name them.
func TestContainerEnvWithServices(t *testing.T) {
	c := corev1.Container{Name: "api", Env: []corev1.EnvVar{
		{Name: "DB_SERVICE_HOST", Value: "override"},
		{Name: "URL", Value: "http://$(WEB_SERVICE_HOST):$(WEB_SERVICE_PORT)/"},
	}, Command: []string{"echo", "$(WEB_PORT)"}}
	pod := envPod(c)
	ec := EnvContext{ServiceEnv: map[string]string{
		"DB_SERVICE_HOST": "10.96.1.1", "WEB_SERVICE_HOST": "10.96.2.2", "WEB_SERVICE_PORT": "80", "WEB_PORT": "tcp://10.96.2.2:80",
	}}
	list, vars, err := containerEnv(pod, &pod.Spec.Containers[0], &ec)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"DB_SERVICE_HOST=override", "URL=http://10.96.2.2:80/", "WEB_PORT=tcp://10.96.2.2:80",
		"WEB_SERVICE_HOST=10.96.2.2", "WEB_SERVICE_PORT=80"}
	if !reflect.DeepEqual(list, want) {
		t.Fatalf("got %q\nwant %q", list, want)
	}
	if vars["WEB_PORT"] != "tcp://10.96.2.2:80" {
		t.Fatal("Service variables are not there to expand command and args")
	}
}

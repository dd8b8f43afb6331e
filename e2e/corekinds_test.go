package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// The core kinds as kubectl sees them: the generators of `kubectl create`, `kubectl get`
// columns (-o wide too), the server's 422 messages, immutable ConfigMaps and stringData. No
// pod is started: this is all API.

// TestCoreKindsConfig: ConfigMaps and Secrets made by `kubectl create` print like on a cluster,
// an immutable ConfigMap refuses edits, and stringData lands in data.
func TestCoreKindsConfig(t *testing.T) {
	start(t)
	ns := newNamespace(t, "corecfg")

	kubectlOK(t, "-n", ns, "create", "configmap", "settings", "--from-literal=mode=fast", "--from-literal=level=3")
	var cm corev1.ConfigMap
	kubectlJSON(t, &cm, "-n", ns, "get", "cm", "settings")
	if cm.Data["mode"] != "fast" || cm.Data["level"] != "3" || cm.Generation != 0 {
		t.Errorf("configmap: generation %d, data %v", cm.Generation, cm.Data)
	}
	rows := tableRows(kubectlOK(t, "-n", ns, "get", "cm", "settings"))
	if len(rows) != 2 || strings.Join(rows[0], "|") != "NAME|DATA|AGE" || rows[1][0] != "settings" || rows[1][1] != "2" {
		t.Errorf("kubectl get cm: %q", rows)
	}

	// Secrets of three generators: TYPE and DATA columns.
	kubectlOK(t, "-n", ns, "create", "secret", "generic", "creds", "--from-literal=user=admin", "--from-literal=pass=s3cret")
	kubectlOK(t, "-n", ns, "create", "secret", "docker-registry", "regcred", "--docker-server=registry.example.com",
		"--docker-username=me", "--docker-password=pw")
	crt, key := writeKeyPair(t)
	kubectlOK(t, "-n", ns, "create", "secret", "tls", "web-tls", "--cert="+crt, "--key="+key)
	rows = tableRows(kubectlOK(t, "-n", ns, "get", "secrets"))
	if len(rows) == 0 || strings.Join(rows[0], "|") != "NAME|TYPE|DATA|AGE" {
		t.Fatalf("kubectl get secrets header: %q", rows)
	}
	for name, want := range map[string][]string{
		"creds":   {"Opaque", "2"},
		"regcred": {"kubernetes.io/dockerconfigjson", "1"},
		"web-tls": {"kubernetes.io/tls", "2"},
	} {
		if r := rowFor(rows, name); len(r) != 4 || r[1] != want[0] || r[2] != want[1] {
			t.Errorf("secret %s: row %q, want TYPE %s DATA %s", name, r, want[0], want[1])
		}
	}

	// stringData is folded into data and never stored.
	kubectlInOK(t, `apiVersion: v1
kind: Secret
metadata:
  name: merged
stringData:
  token: from-string-data
  extra: x
data:
  token: ZnJvbS1kYXRh
`, "-n", ns, "apply", "-f", "-")
	var s corev1.Secret
	kubectlJSON(t, &s, "-n", ns, "get", "secret", "merged")
	if string(s.Data["token"]) != "from-string-data" || string(s.Data["extra"]) != "x" || s.StringData != nil || s.Type != corev1.SecretTypeOpaque {
		t.Errorf("stringData not merged into data: type %q data %q stringData %v", s.Type, s.Data, s.StringData)
	}

	// A docker config that is not JSON, and a TLS secret whose key does not fit (a warning).
	r := kubectlIn(t, `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"badcfg"},"type":"kubernetes.io/dockerconfigjson","stringData":{".dockerconfigjson":"{"}}`,
		"-n", ns, "create", "-f", "-")
	if want := `The Secret "badcfg" is invalid: data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": unexpected end of JSON input`; r.Code == 0 || !strings.Contains(r.Stderr, want) {
		t.Errorf("invalid docker config: want %q in %s", want, r)
	}
	r = kubectlIn(t, `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"oddtls"},"type":"kubernetes.io/tls","stringData":{"tls.crt":"x","tls.key":"y"}}`,
		"-n", ns, "create", "-f", "-")
	if r.Code != 0 || !strings.Contains(r.Stderr, "Warning: tls: failed to find any PEM data in certificate input") {
		t.Errorf("mismatched TLS secret: want a warning, got %s", r)
	}

	// Immutable ConfigMaps: data cannot change, immutable cannot be unset.
	kubectlOK(t, "-n", ns, "create", "configmap", "frozen", "--from-literal=a=1")
	kubectlOK(t, "-n", ns, "patch", "configmap", "frozen", "-p", `{"immutable":true}`)
	r = kubectl(t, "-n", ns, "patch", "configmap", "frozen", "-p", `{"data":{"a":"2"}}`)
	if want := "The ConfigMap \"frozen\" is invalid: data: Forbidden: field is immutable when `immutable` is set"; r.Code == 0 || !strings.Contains(r.Stderr, want) {
		t.Errorf("editing an immutable configmap: want %q, got %s", want, r)
	}
	r = kubectl(t, "-n", ns, "patch", "configmap", "frozen", "--type=merge", "-p", `{"immutable":false}`)
	if want := "immutable: Forbidden: field is immutable when `immutable` is set"; r.Code == 0 || !strings.Contains(r.Stderr, want) {
		t.Errorf("unsetting immutable: want %q, got %s", want, r)
	}
	kubectlJSON(t, &cm, "-n", ns, "get", "cm", "frozen")
	if cm.Data["a"] != "1" {
		t.Errorf("immutable configmap changed: %v", cm.Data)
	}

	// A bad key is refused with the server's wording.
	// (kubectl create configmap checks keys itself, so this goes as a manifest.)
	r = kubectlIn(t, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"badkey"},"data":{"a b":"1"}}`, "-n", ns, "create", "-f", "-")
	if want := `The ConfigMap "badkey" is invalid: data[a b]: Invalid value: "a b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`; r.Code == 0 || !strings.Contains(r.Stderr, want) {
		t.Errorf("bad configmap key: want %q, got %s", want, r)
	}

	kubectlOK(t, "-n", ns, "create", "serviceaccount", "builder")
	rows = tableRows(kubectlOK(t, "-n", ns, "get", "sa", "builder"))
	if len(rows) != 2 || strings.Join(rows[0], "|") != "NAME|SECRETS|AGE" || rows[1][1] != "0" {
		t.Errorf("kubectl get sa: %q", rows)
	}
}

// TestCoreKindsServices: `kubectl get svc/ep/endpointslices -o wide` columns and the server's
// validation of Services.
func TestCoreKindsServices(t *testing.T) {
	start(t)
	ns := newNamespace(t, "coresvc")

	kubectlOK(t, "-n", ns, "create", "service", "nodeport", "np", "--tcp=80:8080")
	kubectlOK(t, "-n", ns, "create", "service", "clusterip", "web", "--tcp=80:8080", "--tcp=443:8443")
	kubectlOK(t, "-n", ns, "create", "service", "externalname", "ext", "--external-name=example.com")
	rows := tableRows(kubectlOK(t, "-n", ns, "get", "svc", "-o", "wide"))
	if len(rows) == 0 || strings.Join(rows[0], "|") != "NAME|TYPE|CLUSTER-IP|EXTERNAL-IP|PORT(S)|AGE|SELECTOR" {
		t.Fatalf("kubectl get svc -o wide header: %q", rows)
	}
	ip := regexp.MustCompile(`^\d+\.\d+\.\d+\.\d+$`)
	if r := rowFor(rows, "np"); len(r) != 7 || r[1] != "NodePort" || !ip.MatchString(r[2]) || r[3] != "<none>" ||
		!regexp.MustCompile(`^80:3\d{4}/TCP$`).MatchString(r[4]) || r[6] != "app=np" {
		t.Errorf("NodePort row %q", r)
	}
	if r := rowFor(rows, "web"); len(r) != 7 || r[1] != "ClusterIP" || !ip.MatchString(r[2]) || r[4] != "80/TCP,443/TCP" || r[6] != "app=web" {
		t.Errorf("ClusterIP row %q", r)
	}
	if r := rowFor(rows, "ext"); len(r) != 7 || r[1] != "ExternalName" || r[2] != "<none>" || r[3] != "example.com" || r[4] != "<none>" {
		t.Errorf("ExternalName row %q", r)
	}
	var svc corev1.Service
	kubectlJSON(t, &svc, "-n", ns, "get", "svc", "np")
	if s := svc.Spec; s.SessionAffinity != corev1.ServiceAffinityNone || s.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyCluster ||
		s.InternalTrafficPolicy == nil || s.IPFamilyPolicy == nil || *s.IPFamilyPolicy != corev1.IPFamilyPolicySingleStack ||
		len(s.IPFamilies) != 1 || s.IPFamilies[0] != corev1.IPv4Protocol || svc.Generation != 0 {
		t.Errorf("service defaults: generation %d, spec %+v", svc.Generation, s)
	}

	// The cluster IP cannot change; an invalid Service gets the server's 422 message.
	r := kubectl(t, "-n", ns, "patch", "svc", "web", "-p", `{"spec":{"clusterIP":"10.96.200.200","clusterIPs":["10.96.200.200"]}}`)
	if want := `The Service "web" is invalid: spec.clusterIPs[0]: Invalid value: ["10.96.200.200"]: may not change once set`; r.Code == 0 || !strings.Contains(r.Stderr, want) {
		t.Errorf("changing the cluster IP: want %q, got %s", want, r)
	}
	r = kubectlIn(t, `{"apiVersion":"v1","kind":"Service","metadata":{"name":"bad"},"spec":{"ports":[{"name":"a","port":80,"nodePort":30999},{"port":81}]}}`,
		"-n", ns, "create", "-f", "-")
	if want := "The Service \"bad\" is invalid: \n* spec.ports[1].name: Required value\n* spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"; r.Code == 0 || !strings.Contains(r.Stderr, want) {
		t.Errorf("invalid service: want %q, got %s", want, r)
	}

	// A selectorless service with hand-made Endpoints and an EndpointSlice.
	kubectlInOK(t, `apiVersion: v1
kind: Service
metadata:
  name: manual
spec:
  ports:
  - port: 80
---
apiVersion: v1
kind: Endpoints
metadata:
  name: manual
subsets:
- addresses: [{ip: 10.1.0.1}, {ip: 10.1.0.2}, {ip: 10.1.0.3}, {ip: 10.1.0.4}]
  ports: [{port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: manual-abc
  labels: {endpointslice.kubernetes.io/managed-by: e2e}
addressType: IPv4
endpoints:
- addresses: [10.1.0.1]
- addresses: [10.1.0.2]
ports:
- {name: http, port: 80}
`, "-n", ns, "apply", "-f", "-")
	rows = tableRows(kubectlOK(t, "-n", ns, "get", "ep", "manual"))
	if len(rows) != 2 || strings.Join(rows[0], "|") != "NAME|ENDPOINTS|AGE" || rows[1][1] != "10.1.0.1:80,10.1.0.2:80,10.1.0.3:80 + 1 more..." {
		t.Errorf("kubectl get ep: %q", rows)
	}
	rows = tableRows(kubectlOK(t, "-n", ns, "get", "endpointslices", "manual-abc"))
	if len(rows) != 2 || strings.Join(rows[0], "|") != "NAME|ADDRESSTYPE|PORTS|ENDPOINTS|AGE" || strings.Join(rows[1][1:4], "|") != "IPv4|80|10.1.0.1,10.1.0.2" {
		t.Errorf("kubectl get endpointslices: %q", rows)
	}
	var es discoveryv1.EndpointSlice
	kubectlJSON(t, &es, "-n", ns, "get", "endpointslice", "manual-abc")
	if es.Generation != 1 || es.Ports[0].Protocol == nil || *es.Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("endpoint slice: generation %d, ports %+v", es.Generation, es.Ports)
	}
	r = kubectlIn(t, `{"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"loop"},"subsets":[{"addresses":[{"ip":"127.0.0.1"}]}]}`, "-n", ns, "create", "-f", "-")
	if want := `The Endpoints "loop" is invalid: subsets[0].addresses[0].ip: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)`; r.Code == 0 || !strings.Contains(r.Stderr, want) {
		t.Errorf("loopback endpoint: want %q, got %s", want, r)
	}
}

// TestCoreKindsStorage: StorageClass, PersistentVolume and PersistentVolumeClaim columns,
// defaults and the immutability of a claim's spec. A class without a provisioner k2d knows
// keeps the claim Pending, so no Docker volume is made.
func TestCoreKindsStorage(t *testing.T) {
	start(t)
	ns := newNamespace(t, "corestor")
	class := "e2e-manual-" + randSuffix(5)
	pvName := "e2e-pv-" + randSuffix(5)
	t.Cleanup(func() {
		kubectl(t, "delete", "storageclass", class, "--ignore-not-found", "--wait=false")
		kubectl(t, "delete", "pv", pvName, "--ignore-not-found", "--wait=false")
	})
	kubectlInOK(t, `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: `+class+`
provisioner: example.com/manual
volumeBindingMode: WaitForFirstConsumer
allowVolumeExpansion: true
`, "apply", "-f", "-")
	rows := tableRows(kubectlOK(t, "get", "sc", class))
	if len(rows) != 2 || strings.Join(rows[0], "|") != "NAME|PROVISIONER|RECLAIMPOLICY|VOLUMEBINDINGMODE|ALLOWVOLUMEEXPANSION|AGE" ||
		strings.Join(rows[1][:5], "|") != class+"|example.com/manual|Delete|WaitForFirstConsumer|true" {
		t.Errorf("kubectl get sc: %q", rows)
	}
	r := kubectl(t, "patch", "sc", class, "-p", `{"provisioner":"example.com/other","parameters":{"a":"b"}}`)
	if want := `The StorageClass "` + class + `" is invalid: ` + "\n* parameters: Forbidden: updates to parameters are forbidden.\n* provisioner: Forbidden: updates to provisioner are forbidden."; r.Code == 0 || !strings.Contains(r.Stderr, want) {
		t.Errorf("changing a class: want %q, got %s", want, r)
	}

	kubectlInOK(t, `apiVersion: v1
kind: PersistentVolume
metadata:
  name: `+pvName+`
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce, ReadOnlyMany]
  storageClassName: `+class+`-none
  hostPath: {path: /tmp/k2d-e2e-unused}
`, "apply", "-f", "-")
	var pv corev1.PersistentVolume
	kubectlJSON(t, &pv, "get", "pv", pvName)
	if pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain || pv.Spec.VolumeMode == nil ||
		*pv.Spec.VolumeMode != corev1.PersistentVolumeFilesystem || pv.Status.Phase == "" || pv.Generation != 0 {
		t.Errorf("volume defaults: generation %d, %+v %+v", pv.Generation, pv.Spec, pv.Status)
	}
	rows = tableRows(kubectlOK(t, "get", "pv", pvName, "-o", "wide"))
	if len(rows) != 2 || strings.Join(rows[0], "|") != "NAME|CAPACITY|ACCESS MODES|RECLAIM POLICY|STATUS|CLAIM|STORAGECLASS|VOLUMEATTRIBUTESCLASS|REASON|AGE|VOLUMEMODE" {
		t.Errorf("kubectl get pv -o wide header: %q", rows)
	} else if r := rows[1]; r[1] != "1Gi" || r[2] != "RWO,ROX" || r[3] != "Retain" || r[len(r)-1] != "Filesystem" {
		t.Errorf("kubectl get pv -o wide: %q", r)
	}

	kubectlInOK(t, `apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
spec:
  storageClassName: `+class+`
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 2Gi}}
`, "-n", ns, "apply", "-f", "-")
	rows = tableRows(kubectlOK(t, "-n", ns, "get", "pvc", "data", "-o", "wide"))
	if len(rows) != 2 || strings.Join(rows[0], "|") != "NAME|STATUS|VOLUME|CAPACITY|ACCESS MODES|STORAGECLASS|VOLUMEATTRIBUTESCLASS|AGE|VOLUMEMODE" {
		t.Errorf("kubectl get pvc -o wide header: %q", rows)
	} else if r := rows[1]; strings.Join(r[:3], "|") != "data|Pending|"+class || r[3] != "<unset>" || r[len(r)-1] != "Filesystem" {
		// VOLUME, CAPACITY and ACCESS MODES are empty until the claim is bound.
		t.Errorf("kubectl get pvc -o wide: %q", r)
	}
	r = kubectl(t, "-n", ns, "patch", "pvc", "data", "-p", `{"spec":{"accessModes":["ReadWriteMany"]}}`)
	if want := `The PersistentVolumeClaim "data" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims`; r.Code == 0 || !strings.Contains(r.Stderr, want) {
		t.Errorf("changing a claim: want %q, got %s", want, r)
	}
	r = kubectlIn(t, `{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"empty"},"spec":{}}`, "-n", ns, "create", "-f", "-")
	if want := "The PersistentVolumeClaim \"empty\" is invalid: \n* spec.accessModes: Required value: at least 1 access mode is required\n* spec.resources[storage]: Required value"; r.Code == 0 || !strings.Contains(r.Stderr, want) {
		t.Errorf("empty claim: want %q, got %s", want, r)
	}
}

// writeKeyPair writes a self-signed certificate and its key for `kubectl create secret tls`.
func writeKeyPair(t *testing.T) (crt, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "web.example.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	crt, key = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(crt, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
	return crt, key
}

// TestReplaceWithoutResourceVersion: `kubectl replace -f` of a manifest that carries no
// resourceVersion replaces the current object, as on a cluster.
func TestReplaceWithoutResourceVersion(t *testing.T) {
	start(t)
	ns := newNamespace(t, "replace")
	kubectlOK(t, "-n", ns, "create", "configmap", "plc", "--from-literal=line=1")
	kubectlInOK(t, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plc\ndata:\n  line: \"2\"\n", "-n", ns, "replace", "-f", "-")
	var cm corev1.ConfigMap
	kubectlJSON(t, &cm, "-n", ns, "get", "cm", "plc")
	if cm.Data["line"] != "2" {
		t.Fatalf("after kubectl replace: data %v", cm.Data)
	}
}

// TestCostlyQuantity: a quantity whose exponent would hold k2d's CPU for minutes in
// resource.ParseQuantity is refused at once with a clear error, and nothing is created; the same
// text in a ConfigMap is data and is stored.
func TestCostlyQuantity(t *testing.T) {
	start(t)
	ns := newNamespace(t, "quantity")
	const evil = "1.1e-99999999"
	pod := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: greedy\nspec:\n  containers:\n  - name: c\n    image: " + testImage +
		"\n    resources:\n      limits:\n        cpu: \"" + evil + "\"\n"
	r := kubectlIn(t, pod, "-n", ns, "create", "-f", "-")
	if r.Code == 0 || !strings.Contains(r.Stderr, "spec.containers[0].resources.limits[cpu]") || !strings.Contains(r.Stderr, "out of range") {
		t.Fatalf("kubectl create of the pod: %s", r)
	}
	if r := kubectl(t, "-n", ns, "get", "pod", "greedy"); r.Code == 0 || !strings.Contains(r.Stderr, "NotFound") {
		t.Fatalf("the refused pod exists: %s", r)
	}
	kubectlOK(t, "-n", ns, "create", "configmap", "text", "--from-literal=v="+evil)
	if got := kubectlOK(t, "-n", ns, "get", "cm", "text", "-o", "jsonpath={.data.v}"); got != evil {
		t.Fatalf("configmap value %q", got)
	}
}

package codec

import (
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestSecretDefaults(t *testing.T) {
	s := &corev1.Secret{Data: map[string][]byte{"a": []byte("old"), "b": []byte("keep")}, StringData: map[string]string{"a": "new", "c": "added"}}
	Default(s)
	if s.Type != corev1.SecretTypeOpaque || s.StringData != nil {
		t.Fatalf("type %q stringData %v", s.Type, s.StringData)
	}
	want := map[string][]byte{"a": []byte("new"), "b": []byte("keep"), "c": []byte("added")}
	if !reflect.DeepEqual(s.Data, want) {
		t.Fatalf("data %q", s.Data)
	}
	tls := &corev1.Secret{Type: corev1.SecretTypeTLS}
	Default(tls)
	if tls.Type != corev1.SecretTypeTLS {
		t.Fatal("explicit type changed")
	}
}

func TestConfigValidation(t *testing.T) {
	cmKind, secKind, saKind := KindFor("", "v1", "configmaps"), KindFor("", "v1", "secrets"), KindFor("", "v1", "serviceaccounts")
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: "ns", ResourceVersion: "1"}
	}
	yes := true
	for _, tc := range []struct {
		name string
		k    *Kind
		obj  runtime.Object
		old  runtime.Object
		want string
	}{
		{"valid configmap", cmKind, &corev1.ConfigMap{ObjectMeta: meta("c"), Data: map[string]string{"app.conf": "x", "KEY_1": "y"}}, nil, ""},
		{"bad key", cmKind, &corev1.ConfigMap{ObjectMeta: meta("c"), Data: map[string]string{"a b": "x"}}, nil,
			`ConfigMap "c" is invalid: data[a b]: Invalid value: "a b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`},
		{"dot-dot key", cmKind, &corev1.ConfigMap{ObjectMeta: meta("c"), Data: map[string]string{"..data": "x"}}, nil,
			`ConfigMap "c" is invalid: data[..data]: Invalid value: "..data": must not start with '..'`},
		{"duplicate key", cmKind, &corev1.ConfigMap{ObjectMeta: meta("c"), Data: map[string]string{"k": "x"}, BinaryData: map[string][]byte{"k": {1}}}, nil,
			`ConfigMap "c" is invalid: binaryData[k]: Invalid value: "k": duplicate of key present in data`},
		{"too large", cmKind, &corev1.ConfigMap{ObjectMeta: meta("c"), Data: map[string]string{"k": strings.Repeat("x", corev1.MaxSecretSize+1)}}, nil,
			`ConfigMap "c" is invalid: []: Too long: may not be more than 1048576 bytes`},
		{"upper-case name", cmKind, &corev1.ConfigMap{ObjectMeta: meta("Cfg")}, nil,
			`ConfigMap "Cfg" is invalid: metadata.name: Invalid value: "Cfg": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`},
		{"immutable configmap", cmKind, &corev1.ConfigMap{ObjectMeta: meta("c"), Immutable: &yes, Data: map[string]string{"k": "2"}},
			&corev1.ConfigMap{ObjectMeta: meta("c"), Immutable: &yes, Data: map[string]string{"k": "1"}},
			"ConfigMap \"c\" is invalid: data: Forbidden: field is immutable when `immutable` is set"},
		{"tls secret", secKind, &corev1.Secret{ObjectMeta: meta("s"), Type: corev1.SecretTypeTLS}, nil,
			`Secret "s" is invalid: [data[tls.crt]: Required value, data[tls.key]: Required value]`},
		{"dockerconfigjson", secKind, &corev1.Secret{ObjectMeta: meta("s"), Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{".dockerconfigjson": []byte("{")}}, nil,
			`Secret "s" is invalid: data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": unexpected end of JSON input`},
		{"token secret", secKind, &corev1.Secret{ObjectMeta: meta("s"), Type: corev1.SecretTypeServiceAccountToken}, nil,
			`Secret "s" is invalid: metadata.annotations[kubernetes.io/service-account.name]: Required value`},
		{"secret type change", secKind, &corev1.Secret{ObjectMeta: meta("s"), Type: "other"}, &corev1.Secret{ObjectMeta: meta("s"), Type: corev1.SecretTypeOpaque},
			`Secret "s" is invalid: type: Invalid value: "other": field is immutable`},
		{"valid service account", saKind, &corev1.ServiceAccount{ObjectMeta: meta("robot")}, nil, ""},
		{"bad service account name", saKind, &corev1.ServiceAccount{ObjectMeta: meta("Robot_1")}, nil, `ServiceAccount "Robot_1" is invalid: metadata.name: Invalid value: "Robot_1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var causes []Cause
			if tc.old == nil {
				causes = Validate(tc.k, tc.obj)
			} else {
				causes = ValidateUpdate(tc.k, tc.obj, tc.old)
			}
			got := ""
			if len(causes) > 0 {
				got = InvalidMessage(tc.k.Kind, tc.obj.(metav1.Object).GetName(), causes)
			}
			if got != tc.want && !(tc.want != "" && strings.HasPrefix(got, tc.want) && strings.HasSuffix(tc.name, "name")) {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestConfigTables(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	created := metav1.NewTime(now.Add(-90 * time.Minute))
	for _, tc := range []struct {
		res     string
		obj     runtime.Object
		columns string
		cells   []any
	}{
		{"configmaps", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kube-root-ca.crt", CreationTimestamp: created}, Data: map[string]string{"ca.crt": "x"}, BinaryData: map[string][]byte{"b": nil}},
			"Name Data Age", []any{"kube-root-ca.crt", int64(2), "90m"}},
		{"secrets", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tls", CreationTimestamp: created}, Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": nil, "tls.key": nil}},
			"Name Type Data Age", []any{"tls", "kubernetes.io/tls", int64(2), "90m"}},
		{"serviceaccounts", &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", CreationTimestamp: created}},
			"Name Secrets Age", []any{"default", int64(0), "90m"}},
	} {
		k := KindFor("", "v1", tc.res)
		var names []string
		for _, c := range TableColumns(k) {
			names = append(names, c.Name)
			if c.Description == "" {
				t.Errorf("%s: column %s has no description", tc.res, c.Name)
			}
		}
		if strings.Join(names, " ") != tc.columns {
			t.Errorf("%s columns: %v", tc.res, names)
		}
		if row := TableRow(k, tc.obj, now); !reflect.DeepEqual(row, tc.cells) {
			t.Errorf("%s row: %v, want %v", tc.res, row, tc.cells)
		}
	}
}

func TestAdmitPodServiceAccount(t *testing.T) {
	pod := func() *corev1.Pod {
		return &corev1.Pod{Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "i"}},
			Containers:     []corev1.Container{{Name: "a"}, {Name: "b", VolumeMounts: []corev1.VolumeMount{{Name: "x", MountPath: ServiceAccountMountPath}}}},
		}}
	}
	p := pod()
	AdmitServiceAccount(p)
	if p.Spec.ServiceAccountName != "default" || p.Spec.DeprecatedServiceAccount != "default" || len(p.Spec.Volumes) != 1 {
		t.Fatalf("spec: %+v", p.Spec)
	}
	v := p.Spec.Volumes[0]
	if len(v.Name) != len(ServiceAccountVolumePrefix)+5 || strings.Trim(v.Name[len(ServiceAccountVolumePrefix):], "bcdfghjklmnpqrstvwxz2456789") != "" {
		t.Errorf("volume name %q", v.Name)
	}
	if !reflect.DeepEqual(v.Projected, TokenVolumeSource()) {
		t.Errorf("projected source %+v", v.Projected)
	}
	if len(p.Spec.InitContainers[0].VolumeMounts) != 1 || len(p.Spec.Containers[0].VolumeMounts) != 1 || len(p.Spec.Containers[1].VolumeMounts) != 1 ||
		p.Spec.Containers[1].VolumeMounts[0].Name != "x" || !p.Spec.Containers[0].VolumeMounts[0].ReadOnly {
		t.Errorf("mounts: %+v %+v", p.Spec.InitContainers, p.Spec.Containers)
	}
	// Admitting again (a pod re-created from a dump) adds nothing.
	AdmitServiceAccount(p)
	if len(p.Spec.Volumes) != 1 || len(p.Spec.Containers[0].VolumeMounts) != 1 {
		t.Errorf("second admission changed the pod: %+v", p.Spec)
	}

	no, yes := false, true
	for _, tc := range []struct {
		name      string
		pod, sa   *bool
		wantVols  int
		sAccount  string
		deprecate string
	}{
		{"pod off", &no, nil, 0, "", ""},
		{"sa off", nil, &no, 0, "", ""},
		{"pod on wins over sa off", &yes, &no, 1, "", ""},
		{"deprecated field", nil, nil, 1, "", "robot"},
	} {
		p := pod()
		p.Spec.AutomountServiceAccountToken = tc.pod
		p.Spec.DeprecatedServiceAccount = tc.deprecate
		AdmitPodServiceAccount(p, &corev1.ServiceAccount{AutomountServiceAccountToken: tc.sa})
		if len(p.Spec.Volumes) != tc.wantVols {
			t.Errorf("%s: %d volumes", tc.name, len(p.Spec.Volumes))
		}
		if tc.deprecate != "" && p.Spec.ServiceAccountName != tc.deprecate {
			t.Errorf("%s: serviceAccountName %q", tc.name, p.Spec.ServiceAccountName)
		}
	}
	mirror := pod()
	mirror.Annotations = map[string]string{MirrorPodAnnotation: "x"}
	AdmitServiceAccount(mirror)
	if len(mirror.Spec.Volumes) != 0 {
		t.Error("mirror pod got a token volume")
	}
}

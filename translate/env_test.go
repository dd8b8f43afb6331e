package translate

import (
	"errors"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func envPod(c corev1.Container) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "api-7d9f", Namespace: "shop", UID: "11111111-2222-3333-4444-555555555555",
			Labels:      map[string]string{"app": "api", "app.kubernetes.io/name": "shop-api"},
			Annotations: map[string]string{"note": "hi"},
		},
		Spec: corev1.PodSpec{ServiceAccountName: "api-sa", Containers: []corev1.Container{c}},
	}
}

func fieldEnv(name, path string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
}

func resEnv(name, res, divisor, ctr string) corev1.EnvVar {
	sel := &corev1.ResourceFieldSelector{Resource: res, ContainerName: ctr}
	if divisor != "" {
		sel.Divisor = resource.MustParse(divisor)
	}
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: sel}}
}

func TestEnvFieldRefs(t *testing.T) {
	c := corev1.Container{Name: "api", Env: []corev1.EnvVar{
		fieldEnv("NAME", "metadata.name"),
		fieldEnv("NS", "metadata.namespace"),
		fieldEnv("UID", "metadata.uid"),
		fieldEnv("APP", "metadata.labels['app']"),
		fieldEnv("APPNAME", "metadata.labels['app.kubernetes.io/name']"),
		fieldEnv("NOLABEL", "metadata.labels['absent']"),
		fieldEnv("NOTE", "metadata.annotations['note']"),
		fieldEnv("NODE", "spec.nodeName"),
		fieldEnv("SA", "spec.serviceAccountName"),
		fieldEnv("PODIP", "status.podIP"),
		fieldEnv("PODIPS", "status.podIPs"),
		fieldEnv("HOSTIP", "status.hostIP"),
		fieldEnv("HOSTIPS", "status.hostIPs"),
	}}
	pod := envPod(c)
	ec := EnvContext{PodIP: "172.20.0.5", PodIPs: []string{"172.20.0.5", "fd00::5"}, HostIP: "192.168.1.10", NodeName: "pi"}
	list, _, err := containerEnv(pod, &pod.Spec.Containers[0], &ec)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"NAME=api-7d9f", "NS=shop", "UID=11111111-2222-3333-4444-555555555555", "APP=api", "APPNAME=shop-api",
		"NOLABEL=", "NOTE=hi", "NODE=pi", "SA=api-sa", "PODIP=172.20.0.5", "PODIPS=172.20.0.5,fd00::5",
		"HOSTIP=192.168.1.10", "HOSTIPS=192.168.1.10",
	}
	if !reflect.DeepEqual(list, want) {
		t.Errorf("env\n got %q\nwant %q", list, want)
	}

	// spec.nodeName of a bound pod wins over the context's.
	pod.Spec.NodeName = "bound"
	list, _, _ = containerEnv(pod, &pod.Spec.Containers[0], &ec)
	if list[7] != "NODE=bound" {
		t.Errorf("got %s", list[7])
	}

	for _, bad := range []string{"metadata.labels", "metadata.labels['x'", "spec.containers", "status.phase"} {
		c := corev1.Container{Name: "x", Env: []corev1.EnvVar{fieldEnv("X", bad)}}
		pod := envPod(c)
		if _, _, err := containerEnv(pod, &pod.Spec.Containers[0], &ec); !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("field path %q: err %v, want ErrInvalidSpec", bad, err)
		}
	}
}

func TestEnvResourceFieldRef(t *testing.T) {
	c := corev1.Container{
		Name: "api",
		Resources: corev1.ResourceRequirements{
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1500m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("100M")},
		},
		Env: []corev1.EnvVar{
			resEnv("CPU_LIMIT", "limits.cpu", "", ""),     // ceil(1.5) = 2
			resEnv("CPU_LIMIT_M", "limits.cpu", "1m", ""), // 1500
			resEnv("CPU_REQ", "requests.cpu", "", ""),     // ceil(0.25) = 1
			resEnv("MEM_LIMIT", "limits.memory", "", ""),
			resEnv("MEM_LIMIT_MI", "limits.memory", "1Mi", ""),
			resEnv("MEM_REQ_MI", "requests.memory", "1Mi", ""), // ceil(95.37) = 96
			resEnv("EPH", "limits.ephemeral-storage", "1Gi", ""),
			resEnv("SIDE_MEM", "limits.memory", "1Mi", "side"),
			resEnv("SIDE_CPU", "limits.cpu", "1m", "side"), // no limit: node allocatable
		},
	}
	pod := envPod(c)
	pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "side", Resources: corev1.ResourceRequirements{
		Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("16Mi")},
	}})
	ec := EnvContext{NodeAllocatable: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("1Gi"),
		corev1.ResourceEphemeralStorage: resource.MustParse("30Gi"),
	}}
	list, _, err := containerEnv(pod, &pod.Spec.Containers[0], &ec)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"CPU_LIMIT=2", "CPU_LIMIT_M=1500", "CPU_REQ=1", "MEM_LIMIT=67108864", "MEM_LIMIT_MI=64",
		"MEM_REQ_MI=96", "EPH=30", "SIDE_MEM=16", "SIDE_CPU=4000",
	}
	if !reflect.DeepEqual(list, want) {
		t.Errorf("env\n got %q\nwant %q", list, want)
	}

	bad := corev1.Container{Name: "x", Env: []corev1.EnvVar{resEnv("X", "limits.memory", "", "nope")}}
	pod = envPod(bad)
	if _, _, err := containerEnv(pod, &pod.Spec.Containers[0], &ec); !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("unknown container: %v", err)
	}
}

func TestEnvExpansionOrderAndOverride(t *testing.T) {
	c := corev1.Container{
		Name: "api",
		EnvFrom: []corev1.EnvFromSource{
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}},
			{Prefix: "DB_", SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}}},
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Optional: ptr(true)}},
		},
		Env: []corev1.EnvVar{
			{Name: "URL", Value: "http://$(HOST):$(PORT)/$(LATER)"}, // LATER is defined after: stays
			{Name: "LATER", Value: "x"},
			{Name: "MODE", Value: "override"}, // envFrom set it first; the position stays
			{Name: "PASS", Value: "$(DB_PASSWORD)"},
			{Name: "LITERAL", Value: "$$(HOST)"},
			{Name: "KEY", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "HOST"}}},
			{Name: "OPT", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "absent", Optional: ptr(true)}}},
			{Name: "EMPTY"},
			{Name: "RAW", Value: "$(KEY) keeps = signs"},
		},
	}
	pod := envPod(c)
	data := map[string]map[string]string{
		"cfg": {"PORT": "8080", "HOST": "db", "MODE": "envfrom", "bad=key": "dropped", "": "dropped"},
		"db":  {"PASSWORD": "s3cret"},
	}
	ec := EnvContext{
		ResolveFrom: func(src *corev1.EnvFromSource) (map[string]string, bool, error) {
			name := ""
			if src.ConfigMapRef != nil {
				name = src.ConfigMapRef.Name
			} else {
				name = src.SecretRef.Name
			}
			d, ok := data[name]
			return d, ok, nil
		},
		Resolve: func(ref *corev1.EnvVarSource) (string, bool, error) {
			if r := ref.ConfigMapKeyRef; r != nil {
				v, ok := data[r.Name][r.Key]
				return v, ok, nil
			}
			r := ref.SecretKeyRef
			v, ok := data[r.Name][r.Key]
			return v, ok, nil
		},
	}
	list, vars, err := containerEnv(pod, &pod.Spec.Containers[0], &ec)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"HOST=db", "MODE=override", "PORT=8080", "DB_PASSWORD=s3cret",
		"URL=http://db:8080/$(LATER)", "LATER=x", "PASS=s3cret", "LITERAL=$(HOST)", "KEY=db", "EMPTY=",
		"RAW=db keeps = signs",
	}
	if !reflect.DeepEqual(list, want) {
		t.Errorf("env\n got %q\nwant %q", list, want)
	}
	if vars["MODE"] != "override" || len(vars) != len(want) {
		t.Errorf("vars %v", vars)
	}
}

func TestEnvMissingReferences(t *testing.T) {
	none := EnvContext{
		Resolve:     func(*corev1.EnvVarSource) (string, bool, error) { return "", false, nil },
		ResolveFrom: func(*corev1.EnvFromSource) (map[string]string, bool, error) { return nil, false, nil },
	}
	boom := errors.New("store down")
	failing := EnvContext{
		Resolve:     func(*corev1.EnvVarSource) (string, bool, error) { return "", false, boom },
		ResolveFrom: func(*corev1.EnvFromSource) (map[string]string, bool, error) { return nil, false, boom },
	}
	cmKey := func(optional *bool) corev1.EnvVar {
		return corev1.EnvVar{Name: "K", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Key: "k", Optional: optional}}}
	}
	secFrom := func(optional *bool) corev1.EnvFromSource {
		return corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Optional: optional}}
	}
	cases := []struct {
		name string
		c    corev1.Container
		ec   EnvContext
		want error
	}{
		{"missing key", corev1.Container{Env: []corev1.EnvVar{cmKey(nil)}}, none, ErrNotFound},
		{"missing key optional false", corev1.Container{Env: []corev1.EnvVar{cmKey(ptr(false))}}, none, ErrNotFound},
		{"missing key optional", corev1.Container{Env: []corev1.EnvVar{cmKey(ptr(true))}}, none, nil},
		{"no resolver", corev1.Container{Env: []corev1.EnvVar{cmKey(nil)}}, EnvContext{}, ErrNotFound},
		{"no resolver optional", corev1.Container{Env: []corev1.EnvVar{cmKey(ptr(true))}}, EnvContext{}, nil},
		{"resolver error", corev1.Container{Env: []corev1.EnvVar{cmKey(ptr(true))}}, failing, boom},
		{"missing envFrom", corev1.Container{EnvFrom: []corev1.EnvFromSource{secFrom(nil)}}, none, ErrNotFound},
		{"missing envFrom optional", corev1.Container{EnvFrom: []corev1.EnvFromSource{secFrom(ptr(true))}}, none, nil},
		{"envFrom error", corev1.Container{EnvFrom: []corev1.EnvFromSource{secFrom(ptr(true))}}, failing, boom},
		{"fileKeyRef", corev1.Container{Env: []corev1.EnvVar{{Name: "F", ValueFrom: &corev1.EnvVarSource{
			FileKeyRef: &corev1.FileKeySelector{VolumeName: "v", Path: "p", Key: "k"}}}}}, none, ErrInvalidSpec},
	}
	for _, c := range cases {
		c.c.Name = "x"
		pod := envPod(c.c)
		list, _, err := containerEnv(pod, &pod.Spec.Containers[0], &c.ec)
		if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
		if c.want == nil && len(list) != 0 {
			t.Errorf("%s: optional variable must be skipped, got %q", c.name, list)
		}
	}
}

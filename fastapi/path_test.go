package fastapi

import "testing"

func TestParseResourcePath(t *testing.T) {
	for _, tc := range []struct {
		path                               string
		ok                                 bool
		group, version, ns, res, name, sub string
	}{
		{"/api/v1/pods", true, "", "v1", "", "pods", "", ""},
		{"/api/v1/namespaces", true, "", "v1", "", "namespaces", "", ""},
		{"/api/v1/namespaces/plant-a", true, "", "v1", "", "namespaces", "plant-a", ""},
		{"/api/v1/namespaces/plant-a/status", true, "", "v1", "", "namespaces", "plant-a", "status"},
		{"/api/v1/namespaces/plant-a/finalize", true, "", "v1", "", "namespaces", "plant-a", "finalize"},
		{"/api/v1/namespaces/default/pods", true, "", "v1", "default", "pods", "", ""},
		{"/api/v1/namespaces/default/pods/web", true, "", "v1", "default", "pods", "web", ""},
		{"/api/v1/namespaces/default/pods/web/log", true, "", "v1", "default", "pods", "web", "log"},
		{"/api/v1/nodes/n1/", true, "", "v1", "", "nodes", "n1", ""},
		{"/apis/events.k8s.io/v1/namespaces/x/events/e", true, "events.k8s.io", "v1", "x", "events", "e", ""},
		{"/api/v1/namespaces/default/pods/web/log/extra", false, "", "", "", "", "", ""},
		{"/api/v1//pods", false, "", "", "", "", "", ""},
		{"/apis/events.k8s.io", false, "", "", "", "", "", ""},
		{"/foo", false, "", "", "", "", "", ""},
	} {
		rp, ok := parseResourcePath(tc.path)
		if ok != tc.ok {
			t.Errorf("%s: ok %v, want %v", tc.path, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		if rp.group != tc.group || rp.version != tc.version || rp.namespace != tc.ns || rp.resource != tc.res || rp.name != tc.name || rp.sub != tc.sub {
			t.Errorf("%s: got %+v", tc.path, rp)
		}
	}
}

func TestParseAccept(t *testing.T) {
	a := parseAccept("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")
	if a.table != "v1" || !a.json {
		t.Fatalf("kubectl get: %+v", a)
	}
	a = parseAccept("application/json;as=Table;v=v1beta1;g=meta.k8s.io")
	if a.table != "v1beta1" || a.json {
		t.Fatalf("k9s: %+v", a)
	}
	a = parseAccept("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")
	if a.discovery != "v2" {
		t.Fatalf("discovery: %+v", a)
	}
	if a := parseAccept("application/vnd.kubernetes.protobuf"); a.acceptable() {
		t.Fatalf("protobuf only must not be acceptable: %+v", a)
	}
	if a := parseAccept(""); !a.json {
		t.Fatal("no Accept means JSON")
	}
	if a := parseAccept("*/*"); !a.json {
		t.Fatal("*/* means JSON")
	}
}

func TestLabelSelector(t *testing.T) {
	labels := map[string]string{"app": "web", "tier": "front", "owner": "helm"}
	for sel, want := range map[string]bool{
		"":                            true,
		"app=web":                     true,
		"app==web":                    true,
		"app!=web":                    false,
		"app=web,tier=front":          true,
		"app=web,tier=back":           false,
		"tier in (front,back)":        true,
		"tier notin (front)":          false,
		"owner":                       true,
		"!owner":                      false,
		"missing":                     false,
		"!missing":                    true,
		"owner=helm,name in (a, b)":   false,
		"app in (web),tier notin (x)": true,
	} {
		s, err := parseLabelSelector(sel)
		if err != nil {
			t.Errorf("%q: %v", sel, err)
			continue
		}
		if got := s.matches(labels); got != want {
			t.Errorf("%q: got %v want %v", sel, got, want)
		}
	}
	for _, bad := range []string{"a in b", "=x", ","} {
		if _, err := parseLabelSelector(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

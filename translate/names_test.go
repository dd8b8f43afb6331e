package translate

import (
	"testing"
)

func TestContainerNameRoundTrip(t *testing.T) {
	cases := []struct {
		container, pod, ns, uid string
		attempt                 int
		want                    string
	}{
		{"POD", "web-0", "default", "5c0a6d2e-2f4b-4c57-9a43-3c1d6f0e7a10", 0, "k8s_POD_web-0_default_5c0a6d2e-2f4b-4c57-9a43-3c1d6f0e7a10_0"},
		{"nginx", "my.pod.with.dots", "team-a", "uid", 12, "k8s_nginx_my.pod.with.dots_team-a_uid_12"},
		// The ambiguity of the predecessor's <namespace>-<name> ("a-b"/"c" vs "a"/"b-c") is gone.
		{"c", "b-c", "a", "u", 1, "k8s_c_b-c_a_u_1"},
		{"c", "c", "a-b", "u", 1, "k8s_c_c_a-b_u_1"},
	}
	for _, c := range cases {
		got := ContainerName(c.container, c.pod, c.ns, c.uid, c.attempt)
		if got != c.want {
			t.Errorf("ContainerName = %q, want %q", got, c.want)
		}
		for _, name := range []string{got, "/" + got} {
			ctr, pod, ns, uid, attempt, ok := ParseContainerName(name)
			if !ok || ctr != c.container || pod != c.pod || ns != c.ns || uid != c.uid || attempt != c.attempt {
				t.Errorf("ParseContainerName(%q) = %q %q %q %q %d %v", name, ctr, pod, ns, uid, attempt, ok)
			}
		}
	}
}

func TestParseContainerNameRejects(t *testing.T) {
	for _, name := range []string{
		"", "/", "nginx", "/My_Web.App", "k8s_a_b_c_d", "k8s_a_b_c_d_e_1", "k9s_a_b_c_d_1",
		"k8s_a_b_c_d_x", "k8s_a_b_c_d_-1", "k8s_a_b_c_d_01", "k8s__b_c_d_1", "k8s_a_b_c__1",
	} {
		if _, _, _, _, _, ok := ParseContainerName(name); ok {
			t.Errorf("ParseContainerName(%q) accepted", name)
		}
	}
}

func FuzzParseContainerName(f *testing.F) {
	f.Add("k8s_POD_web-0_default_uid_0")
	f.Add("/k8s_a_b_c_d_7")
	f.Fuzz(func(t *testing.T, name string) {
		c, p, ns, uid, attempt, ok := ParseContainerName(name)
		if !ok {
			return
		}
		if got := ContainerName(c, p, ns, uid, attempt); "/"+got != name && got != name {
			t.Fatalf("round trip of %q gave %q", name, got)
		}
	})
}

func TestNetwork(t *testing.T) {
	if got := NetworkName("kube-system"); got != "k2d-kube-system" {
		t.Errorf("NetworkName = %q", got)
	}
	req := Network("a-namespace-longer-than-fifteen-chars")
	if req.Name != "k2d-a-namespace-longer-than-fifteen-chars" || req.Driver != "bridge" {
		t.Errorf("request: %+v", req)
	}
	if len(req.Options) != 0 {
		t.Errorf("no driver options expected (no bridge name: Linux caps it at 15 chars): %v", req.Options)
	}
	if req.Labels[LabelManaged] != "true" || req.Labels[LabelNamespace] != "a-namespace-longer-than-fifteen-chars" {
		t.Errorf("labels: %v", req.Labels)
	}
	if req.CheckDuplicate == nil || !*req.CheckDuplicate {
		t.Error("CheckDuplicate must be set for API 1.41")
	}
	if !IsManaged(req.Labels) || IsManaged(map[string]string{LabelManaged: "false"}) || IsManaged(nil) {
		t.Error("IsManaged")
	}
}

package main

import "testing"

func TestCheckClusterDomain(t *testing.T) {
	good := map[string]string{"cluster.local": "cluster.local", "Cluster.Local.": "cluster.local", "k2d": "k2d", " edge-1.lan ": "edge-1.lan"}
	for in, want := range good {
		if got, err := checkClusterDomain(in); err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", ".", "a..b", "-a.b", "a-.b", "a_b.local", "a b", string(make([]byte, 64)) + ".x"} {
		if got, err := checkClusterDomain(in); err == nil {
			t.Errorf("%q accepted as %q", in, got)
		}
	}
	c, _, err := parseConfig("serve", []string{"--cluster-domain", "K2D.Internal", "--advertise-addr", "192.0.2.1"})
	if err != nil || c.ClusterDomain != "k2d.internal" {
		t.Errorf("flag: %+v %v", c, err)
	}
	t.Setenv("K2D_CLUSTER_DOMAIN", "edge.lan")
	if c, _, err := parseConfig("serve", []string{"--advertise-addr", "192.0.2.1"}); err != nil || c.ClusterDomain != "edge.lan" {
		t.Errorf("env: %+v %v", c, err)
	}
	if _, _, err := parseConfig("serve", []string{"--cluster-domain", "bad_domain", "--advertise-addr", "192.0.2.1"}); err == nil {
		t.Error("bad domain accepted")
	}
}

package main

import (
	"fmt"
	"strings"
)

// defaultClusterDomain is kubelet's --cluster-domain on kubeadm clusters.
const defaultClusterDomain = "cluster.local"

// checkClusterDomain normalises a cluster domain (lower case, no final dot) and checks it is a
// DNS subdomain as RFC 1123 defines it: labels of letters, digits and inner hyphens.
func checkClusterDomain(s string) (string, error) {
	d := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
	bad := fmt.Errorf("invalid cluster domain %q: want a DNS name such as %s", s, defaultClusterDomain)
	if d == "" || len(d) > 253 {
		return "", bad
	}
	for _, l := range strings.Split(d, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", bad
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", bad
			}
		}
	}
	return d, nil
}

package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
)

// kubeconfig returns a kubeconfig for server with the CA and token embedded.
func kubeconfig(server string, caPEM []byte, token string) []byte {
	return []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: k2d
  cluster:
    server: %s
    certificate-authority-data: %s
contexts:
- name: k2d
  context:
    cluster: k2d
    user: k2d
    namespace: default
current-context: k2d
users:
- name: k2d
  user:
    token: %s
`, server, base64.StdEncoding.EncodeToString(caPEM), token))
}

func kubeconfigPath(dataPath string) string { return filepath.Join(dataPath, "kubeconfig") }

// writeKubeconfig writes the kubeconfig with mode 0600, only when its content changed.
func writeKubeconfig(dataPath string, data []byte) error {
	p := kubeconfigPath(dataPath)
	if old, err := os.ReadFile(p); err == nil && string(old) == string(data) {
		return nil
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("cannot write kubeconfig: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("cannot write kubeconfig: %w", err)
	}
	return nil
}

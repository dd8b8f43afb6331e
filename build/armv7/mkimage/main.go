// Command mkimage writes a container image tar holding one static k2d binary, FROM scratch,
// for a given platform. The tar is both a Docker archive (manifest.json, what `docker load`
// reads) and an OCI image layout (oci-layout, index.json, blobs/), so `docker load`, podman,
// skopeo and containerd's import all accept it. No daemon, registry or buildx is needed, and
// the output is reproducible: every timestamp is the Unix epoch.
//
//	go run ./build/armv7/mkimage -binary bin/k2d-armv7 -arch arm -variant v7 -tag k2d/k2d:dev-armv7 -o bin/k2d-armv7-image.tar
package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	var (
		binary  = flag.String("binary", "", "static k2d binary to put at /k2d")
		arch    = flag.String("arch", "arm", "GOARCH-style architecture: arm, arm64, amd64")
		variant = flag.String("variant", "v7", "architecture variant: v6, v7, v8 or empty")
		tag     = flag.String("tag", "k2d/k2d:dev", "repository:tag the image loads as")
		out     = flag.String("o", "", "output tar")
	)
	flag.Parse()
	if *binary == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "mkimage: -binary and -o are required")
		os.Exit(2)
	}
	if err := build(*binary, *arch, *variant, *tag, *out); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

var epoch = time.Unix(0, 0).UTC()

func build(binary, arch, variant, tag, out string) error {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return err
	}
	layer, err := layerTar(bin)
	if err != nil {
		return err
	}
	layerDigest := digest(layer)

	type imgConfig struct {
		Entrypoint []string          `json:"Entrypoint"`
		Cmd        []string          `json:"Cmd"`
		Env        []string          `json:"Env"`
		Volumes    map[string]any    `json:"Volumes"`
		Labels     map[string]string `json:"Labels"`
	}
	config, err := json.Marshal(map[string]any{
		"architecture": arch,
		"variant":      variant,
		"os":           "linux",
		"created":      epoch.Format(time.RFC3339),
		"config": imgConfig{
			Entrypoint: []string{"/k2d"},
			Cmd:        []string{"serve"},
			Env:        []string{"K2D_DATA_PATH=/var/lib/k2d"},
			Volumes:    map[string]any{"/var/lib/k2d": map[string]any{}},
			Labels: map[string]string{
				"org.opencontainers.image.title":       "k2d",
				"org.opencontainers.image.description": "The Kubernetes API on one Docker host",
			},
		},
		"rootfs":  map[string]any{"type": "layers", "diff_ids": []string{layerDigest}},
		"history": []map[string]any{{"created": epoch.Format(time.RFC3339), "created_by": "k2d mkimage: COPY k2d /k2d"}},
	})
	if err != nil {
		return err
	}
	configDigest := digest(config)

	platform := map[string]string{"architecture": arch, "os": "linux"}
	if variant != "" {
		platform["variant"] = variant
	}
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        descriptor("application/vnd.oci.image.config.v1+json", config, nil),
		"layers":        []any{descriptor("application/vnd.oci.image.layer.v1.tar", layer, nil)},
	})
	if err != nil {
		return err
	}
	index, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.index.v1+json",
		"manifests": []any{descriptor("application/vnd.oci.image.manifest.v1+json", manifest, map[string]any{
			"platform":    platform,
			"annotations": map[string]string{"io.containerd.image.name": tag, "org.opencontainers.image.ref.name": refName(tag)},
		})},
	})
	if err != nil {
		return err
	}
	dockerManifest, err := json.Marshal([]map[string]any{{
		"Config":   blobPath(configDigest),
		"RepoTags": []string{tag},
		"Layers":   []string{blobPath(layerDigest)},
	}})
	if err != nil {
		return err
	}

	f, err := os.Create(out)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	files := []struct {
		name string
		data []byte
	}{
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"index.json", index},
		{"manifest.json", dockerManifest},
		{blobPath(digest(manifest)), manifest},
		{blobPath(configDigest), config},
		{blobPath(layerDigest), layer},
	}
	for _, dir := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return err
		}
	}
	for _, file := range files {
		if err := writeFile(tw, file.name, file.data, 0o644); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}

// layerTar is the image's only layer: /k2d, plus the directories k2d writes to, and /tmp.
func layerTar(bin []byte) ([]byte, error) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, d := range []struct {
		name string
		mode int64
	}{{"tmp/", 0o1777}, {"var/", 0o755}, {"var/lib/", 0o755}, {"var/lib/k2d/", 0o700}} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d.name, Mode: d.mode, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
	}
	if err := writeFile(tw, "k2d", bin, 0o755); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeFile(tw *tar.Writer, name string, data []byte, mode int64) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
		return err
	}
	_, err := io.Copy(tw, bytes.NewReader(data))
	return err
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func blobPath(d string) string { return "blobs/sha256/" + d[len("sha256:"):] }

func descriptor(mediaType string, b []byte, extra map[string]any) map[string]any {
	d := map[string]any{"mediaType": mediaType, "digest": digest(b), "size": len(b)}
	for k, v := range extra {
		d[k] = v
	}
	return d
}

// refName is the tag part of repository:tag, as the OCI ref.name annotation holds it.
func refName(tag string) string {
	for i := len(tag) - 1; i >= 0 && tag[i] != '/'; i-- {
		if tag[i] == ':' {
			return tag[i+1:]
		}
	}
	return "latest"
}

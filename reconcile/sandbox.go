package reconcile

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"
)

// SandboxRepo is the repository of the sandbox image k2d builds from its own binary.
const SandboxRepo = "k2d/pause"

// sandboxChanges make the imported root filesystem a runnable image.
var sandboxChanges = []string{
	`CMD ["/k2d","pause"]`,
	`LABEL io.k2d.managed=true`,
}

// sandboxImage returns the sandbox image reference Start ensured.
func (c *Controller) sandboxImage() string {
	if p := c.sandbox.Load(); p != nil {
		return *p
	}
	if c.o.SandboxImage != "" {
		return c.o.SandboxImage
	}
	return SandboxRepo + ":latest"
}

// SandboxImageRef returns the sandbox image name k2d uses for the binary at path:
// k2d/pause:<first 12 hex digits of its SHA-256>. A new k2d build gets a new image; the
// same build never imports twice.
func SandboxImageRef(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot open %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("cannot hash %s: %w", path, err)
	}
	return SandboxRepo + ":" + hex.EncodeToString(h.Sum(nil))[:12], nil
}

// ensureSandboxImage makes sure the sandbox image exists. Unless Options.SandboxImage names
// another, it is built locally from k2d's own (static) binary: a one-file root filesystem
// imported with `docker import`, so devices without a registry work.
func (c *Controller) ensureSandboxImage(ctx context.Context) (string, error) {
	if ref := c.o.SandboxImage; ref != "" {
		if _, err := c.d.ImageInspect(ctx, ref); err != nil {
			if !isNotFound(err) {
				return "", err
			}
			if err := c.d.ImagePull(ctx, ref, "", nil); err != nil {
				return "", fmt.Errorf("cannot get sandbox image %q: %w", ref, err)
			}
		}
		return ref, nil
	}
	bin := c.o.Binary
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("cannot find k2d's executable for the sandbox image: %w", err)
		}
		bin = exe
	}
	ref, err := SandboxImageRef(bin)
	if err != nil {
		return "", err
	}
	if _, err := c.d.ImageInspect(ctx, ref); err == nil {
		return ref, nil
	} else if !isNotFound(err) {
		return "", err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeSandboxTar(pw, bin)) }()
	repo, tag := SandboxRepo, ref[len(SandboxRepo)+1:]
	err = c.d.ImageImport(ctx, pr, repo, tag, sandboxChanges)
	pr.CloseWithError(io.ErrClosedPipe) // stops the writer if the import gave up early
	if err != nil {
		return "", fmt.Errorf("cannot build sandbox image %s: %w", ref, err)
	}
	c.log.Info("built sandbox image", "image", ref)
	return ref, nil
}

// writeSandboxTar writes a root filesystem holding only the binary, as /k2d.
func writeSandboxTar(w io.Writer, bin string) error {
	f, err := os.Open(bin)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	mod := time.Unix(0, 0)
	if err := tw.WriteHeader(&tar.Header{Name: "k2d", Mode: 0o755, Size: fi.Size(), ModTime: mod, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := io.Copy(tw, f); err != nil {
		return err
	}
	return tw.Close()
}

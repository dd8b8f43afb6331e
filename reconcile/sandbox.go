package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
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
	if err := checkStatic(bin); errors.Is(err, errDynamic) {
		return "", err
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
	return writeOneFileTar(w, "k2d", 0o755, fi.Size(), f)
}

// tarBlock is the size of a tar header block, and the unit the file data is padded to.
const tarBlock = 512

// writeOneFileTar writes a tar archive of one regular file, byte for byte as archive/tar's
// Writer does for a Header with only Name, Mode, Size and Typeflag set (ModTime zero or the
// Unix epoch): a USTAR header, the size bytes of data padded to a block, and two zero blocks.
// The sandbox image needs no more, and archive/tar would add about 50 KB to the armv7 binary.
// The name must be ASCII and fit the 100-byte name field, the size 11 octal digits (8 GiB):
// beyond those archive/tar switches to PAX headers, which this writer does not write. Like
// archive/tar, it fails when data holds fewer or more than size bytes.
func writeOneFileTar(w io.Writer, name string, mode, size int64, data io.Reader) error {
	if name == "" || len(name) > 100 || !isASCII(name) || size < 0 || size >= 1<<33 || mode < 0 || mode >= 1<<21 {
		return fmt.Errorf("cannot write %q (mode %o, %d bytes) as a USTAR tar entry", name, mode, size)
	}
	var h [tarBlock]byte
	copy(h[0:100], name)
	putTarOctal(h[100:108], mode)
	putTarOctal(h[108:116], 0) // uid
	putTarOctal(h[116:124], 0) // gid
	putTarOctal(h[124:136], size)
	putTarOctal(h[136:148], 0) // modification time: the Unix epoch
	h[156] = '0'               // regular file
	copy(h[257:265], "ustar\x0000")
	putTarOctal(h[329:337], 0) // device major
	putTarOctal(h[337:345], 0) // device minor
	// The checksum is the sum of the header's bytes with its own field counted as spaces,
	// written as six octal digits, a NUL and a space.
	var sum int64
	for i, c := range h {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int64(c)
	}
	putTarOctal(h[148:155], sum)
	h[155] = ' '
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	if n, err := io.CopyN(w, data, size); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("tar entry %q: got %d bytes of %d", name, n, size)
		}
		return err
	}
	var extra [1]byte
	if n, _ := io.ReadFull(data, extra[:]); n > 0 {
		return fmt.Errorf("tar entry %q: data is longer than %d bytes", name, size)
	}
	// Zero padding up to a block, then the two zero blocks that end the archive.
	pad := (tarBlock - size%tarBlock) % tarBlock
	_, err := w.Write(make([]byte, pad+2*tarBlock))
	return err
}

// putTarOctal writes x into a numeric tar header field: octal digits with leading zeros and a
// closing NUL. x must fit.
func putTarOctal(b []byte, x int64) {
	s := strconv.FormatInt(x, 8)
	n := len(b) - 1 - len(s)
	for i := range n {
		b[i] = '0'
	}
	copy(b[n:], s)
	b[len(b)-1] = 0
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// errDynamic says why a dynamically linked k2d cannot be its own sandbox.
var errDynamic = errors.New("k2d's binary is dynamically linked, so it cannot run as the pod sandbox in an image FROM scratch: build it with CGO_ENABLED=0 (as `make build` does) or set K2D_SANDBOX_IMAGE to a pause image")

// checkStatic returns errDynamic when the ELF file at path asks for a program interpreter
// (PT_INTERP, the dynamic loader), which an image holding only that file does not have. Other
// errors say the file could not be read as ELF; the caller goes on then (Docker has the last
// word), as this check exists only to name a known mistake.
func checkStatic(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var id [16]byte
	if _, err := io.ReadFull(f, id[:]); err != nil || string(id[:4]) != "\x7fELF" {
		return fmt.Errorf("%s is not an ELF executable", path)
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if id[5] == 2 {
		bo = binary.BigEndian
	}
	var phoff int64
	var phentsize, phnum uint16
	switch id[4] {
	case 1: // 32-bit: e_phoff at 28, e_phentsize at 42, e_phnum at 44
		var h [46]byte
		if _, err := f.ReadAt(h[:], 0); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		phoff, phentsize, phnum = int64(bo.Uint32(h[28:])), bo.Uint16(h[42:]), bo.Uint16(h[44:])
	case 2: // 64-bit: e_phoff at 32, e_phentsize at 54, e_phnum at 56
		var h [58]byte
		if _, err := f.ReadAt(h[:], 0); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		phoff, phentsize, phnum = int64(bo.Uint64(h[32:])), bo.Uint16(h[54:]), bo.Uint16(h[56:])
	default:
		return fmt.Errorf("%s: unknown ELF class %d", path, id[4])
	}
	var pt [4]byte
	for i := int64(0); i < int64(phnum); i++ {
		if _, err := f.ReadAt(pt[:], phoff+i*int64(phentsize)); err != nil {
			return fmt.Errorf("%s: program header %d: %w", path, i, err)
		}
		if bo.Uint32(pt[:]) == 3 { // PT_INTERP
			return errDynamic
		}
	}
	return nil
}

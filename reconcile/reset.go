package reconcile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/k2d-project/k2d/dockerio"
	"github.com/k2d-project/k2d/svcnet"
	"github.com/k2d-project/k2d/translate"
)

// Reset removes everything k2d created in Docker, and only that: every container, network
// and volume labelled io.k2d.managed=true, and the sandbox image of this k2d build. Plain
// containers and their Pods are left alone. It also removes the Service ClusterIPs k2d put
// on the loopback interface (labelled lo:k2d).
func Reset(ctx context.Context, d *dockerio.Client) error {
	bin := ""
	if exe, err := os.Executable(); err == nil {
		bin = exe
	}
	err := reset(ctx, d, bin)
	if verr := svcnet.RemoveAllVIPs(); verr != nil {
		err = errors.Join(err, fmt.Errorf("cannot remove the service addresses on lo: %w", verr))
	}
	return err
}

func reset(ctx context.Context, d docker, bin string) error {
	var errs []error
	managed := translate.LabelManaged + "=true"
	list, err := d.ContainerList(ctx, true, managed)
	if err != nil {
		return fmt.Errorf("cannot reset: %w", err)
	}
	for _, s := range list {
		if err := d.ContainerRemove(ctx, s.ID, true, true); err != nil && !isNotFound(err) {
			errs = append(errs, err)
		}
	}
	nets, err := d.NetworkList(ctx, managed)
	if err != nil {
		errs = append(errs, err)
	}
	for _, n := range nets {
		if err := d.NetworkRemove(ctx, n.ID); err != nil && !isNotFound(err) {
			errs = append(errs, err)
		}
	}
	vols, err := d.VolumeList(ctx, managed)
	if err != nil {
		errs = append(errs, err)
	}
	for _, v := range vols {
		if err := d.VolumeRemove(ctx, v.Name, true); err != nil && !isNotFound(err) {
			errs = append(errs, err)
		}
	}
	if bin != "" {
		if ref, err := SandboxImageRef(bin); err == nil {
			if err := d.ImageRemove(ctx, ref, true); err != nil && !isNotFound(err) && !strings.Contains(err.Error(), "No such image") {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cannot reset everything: %w", err)
	}
	return nil
}

//go:build !linux

package svcnet

import (
	"errors"
	"net/netip"
)

// VIPLabel is the label of the addresses k2d puts on the loopback interface (Linux only).
const VIPLabel = "lo:k2d"

var errNoNetlink = errors.New("virtual service addresses need Linux")

type loopbackVIPs struct{}

// LoopbackVIPs returns the host's VIP manager; outside Linux every call fails.
func LoopbackVIPs() VIPs { return loopbackVIPs{} }

func (loopbackVIPs) Add(netip.Addr) error        { return errNoNetlink }
func (loopbackVIPs) Remove(netip.Addr) error     { return errNoNetlink }
func (loopbackVIPs) List() ([]netip.Addr, error) { return nil, errNoNetlink }

// RemoveAllVIPs removes k2d's loopback addresses; there are none outside Linux.
func RemoveAllVIPs() error { return nil }

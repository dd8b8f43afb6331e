//go:build !linux

package svcnet

import (
	"errors"
	"net"
	"net/netip"
)

func setPktinfo(*net.UDPConn) error { return errors.New("IP_PKTINFO needs Linux") }

var oobSize = 0

func pktDst([]byte) netip.Addr { return netip.Addr{} }

func pktSrc(netip.Addr) []byte { return nil }

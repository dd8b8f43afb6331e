//go:build linux

package svcnet

import (
	"encoding/binary"
	"net"
	"net/netip"
	"syscall"
)

// A UDP socket bound to a wildcard address (a NodePort) must answer from the address the
// client sent to, or a client with a connected socket drops the answer. IP_PKTINFO tells each
// datagram's destination, and the same control message on the answer sets its source.

func setPktinfo(c *net.UDPConn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_PKTINFO, 1)
	}); err != nil {
		return err
	}
	return serr
}

// oobSize is the room a received IP_PKTINFO control message needs.
var oobSize = syscall.CmsgSpace(syscall.SizeofInet4Pktinfo)

// pktDst returns the destination address of a datagram from its control messages.
func pktDst(oob []byte) netip.Addr {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return netip.Addr{}
	}
	for _, m := range msgs {
		if m.Header.Level == syscall.IPPROTO_IP && m.Header.Type == syscall.IP_PKTINFO && len(m.Data) >= syscall.SizeofInet4Pktinfo {
			// struct in_pktinfo { int ipi_ifindex; struct in_addr ipi_spec_dst, ipi_addr; }
			return netip.AddrFrom4([4]byte(m.Data[8:12]))
		}
	}
	return netip.Addr{}
}

// pktSrc returns the control message that sends a datagram from src.
func pktSrc(src netip.Addr) []byte {
	if !src.Is4() {
		return nil
	}
	b := make([]byte, syscall.CmsgSpace(syscall.SizeofInet4Pktinfo))
	hdr := syscall.SizeofCmsghdr
	l := syscall.CmsgLen(syscall.SizeofInet4Pktinfo)
	ne := binary.NativeEndian
	if hdr == 16 { // cmsg_len is a size_t
		ne.PutUint64(b[0:8], uint64(l))
	} else {
		ne.PutUint32(b[0:4], uint32(l))
	}
	ne.PutUint32(b[hdr-8:], uint32(syscall.IPPROTO_IP))
	ne.PutUint32(b[hdr-4:], uint32(syscall.IP_PKTINFO))
	data := b[syscall.CmsgLen(0):]
	a := src.As4()
	copy(data[4:8], a[:]) // ipi_spec_dst: the source address to use
	return b
}

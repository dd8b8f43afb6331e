//go:build linux

package svcnet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
)

// VIPLabel is the label of the IPv4 addresses k2d puts on the loopback interface: `ip addr show
// lo` lists them as "lo:k2d", and List and RemoveAll find them by it. IPv6 addresses carry no
// label (the kernel keeps labels for IPv4 only): they are removed with their Service.
const VIPLabel = "lo:k2d"

// rtScopeHost keeps a VIP out of source address selection: only sockets bound to it send from
// it. Packets from pods reach it all the same, through the local routing table.
const rtScopeHost = 254

// loopbackVIPs manages VIPs on "lo" through a NETLINK_ROUTE socket.
type loopbackVIPs struct{}

// LoopbackVIPs returns the host's VIP manager: ClusterIPs as /32 (or /128) addresses on the
// loopback interface, so that packets to them from the host and from containers (routed to
// the host by their bridge gateway) are delivered to k2d's listeners. It needs CAP_NET_ADMIN.
func LoopbackVIPs() VIPs { return loopbackVIPs{} }

func (loopbackVIPs) Add(a netip.Addr) error {
	err := addrRequest(syscall.RTM_NEWADDR, syscall.NLM_F_CREATE|syscall.NLM_F_EXCL, a)
	if errors.Is(err, syscall.EEXIST) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot add %s to lo: %w", a, err)
	}
	return nil
}

func (loopbackVIPs) Remove(a netip.Addr) error {
	err := addrRequest(syscall.RTM_DELADDR, 0, a)
	if errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ESRCH) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot remove %s from lo: %w", a, err)
	}
	return nil
}

func (loopbackVIPs) List() ([]netip.Addr, error) {
	idx, err := loIndex()
	if err != nil {
		return nil, err
	}
	rib, err := syscall.NetlinkRIB(syscall.RTM_GETADDR, syscall.AF_INET)
	if err != nil {
		return nil, fmt.Errorf("cannot list addresses: %w", os.NewSyscallError("netlink", err))
	}
	return parseVIPDump(rib, idx)
}

// RemoveAllVIPs removes every IPv4 address labelled VIPLabel from lo: `k2d reset`.
func RemoveAllVIPs() error {
	v := loopbackVIPs{}
	list, err := v.List()
	if err != nil {
		return err
	}
	var errs []error
	for _, a := range list {
		if err := v.Remove(a); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// parseVIPDump returns the addresses labelled VIPLabel on interface idx in an RTM_GETADDR dump.
func parseVIPDump(rib []byte, idx int) ([]netip.Addr, error) {
	msgs, err := syscall.ParseNetlinkMessage(rib)
	if err != nil {
		return nil, fmt.Errorf("cannot parse address list: %w", err)
	}
	var out []netip.Addr
	for i := range msgs {
		m := &msgs[i]
		if m.Header.Type != syscall.RTM_NEWADDR || len(m.Data) < syscall.SizeofIfAddrmsg {
			continue
		}
		if int(binary.NativeEndian.Uint32(m.Data[4:8])) != idx {
			continue
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(m)
		if err != nil {
			continue
		}
		var addr netip.Addr
		var label string
		for _, a := range attrs {
			switch a.Attr.Type {
			case syscall.IFA_LOCAL, syscall.IFA_ADDRESS:
				if ip, ok := netip.AddrFromSlice(a.Value); ok && (a.Attr.Type == syscall.IFA_LOCAL || !addr.IsValid()) {
					addr = ip
				}
			case syscall.IFA_LABEL:
				label = cString(a.Value)
			}
		}
		if addr.IsValid() && label == VIPLabel {
			out = append(out, addr)
		}
	}
	return out, nil
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

var loIdx atomic.Int32

func loIndex() (int, error) {
	if i := loIdx.Load(); i > 0 {
		return int(i), nil
	}
	ifc, err := net.InterfaceByName("lo")
	if err != nil {
		return 0, fmt.Errorf("cannot find the loopback interface: %w", err)
	}
	loIdx.Store(int32(ifc.Index))
	return ifc.Index, nil
}

var nlSeq atomic.Uint32

// addrRequest sends one RTM_NEWADDR or RTM_DELADDR for a on lo and waits for the kernel's ack.
func addrRequest(typ uint16, flags uint16, a netip.Addr) error {
	idx, err := loIndex()
	if err != nil {
		return err
	}
	seq := nlSeq.Add(1)
	msg := addrMessage(typ, flags, seq, idx, a)
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, syscall.NETLINK_ROUTE)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	defer syscall.Close(fd)
	sa := &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}
	if err := syscall.Bind(fd, sa); err != nil {
		return os.NewSyscallError("bind", err)
	}
	if err := syscall.Sendto(fd, msg, 0, sa); err != nil {
		return os.NewSyscallError("sendto", err)
	}
	buf := make([]byte, 4096)
	for {
		n, _, err := syscall.Recvfrom(fd, buf, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return os.NewSyscallError("recvfrom", err)
		}
		done, err := parseAck(buf[:n], seq)
		if done {
			return err
		}
	}
}

// addrMessage encodes an ifaddrmsg request for a on interface idx, labelled for IPv4.
func addrMessage(typ, flags uint16, seq uint32, idx int, a netip.Addr) []byte {
	a = a.Unmap()
	raw := a.AsSlice()
	family, plen := byte(syscall.AF_INET), byte(32)
	if a.Is6() {
		family, plen = syscall.AF_INET6, 128
	}
	b := make([]byte, syscall.NLMSG_HDRLEN, 64)
	b = append(b, family, plen, 0, rtScopeHost, 0, 0, 0, 0)
	binary.NativeEndian.PutUint32(b[syscall.NLMSG_HDRLEN+4:], uint32(idx))
	b = appendAttr(b, syscall.IFA_LOCAL, raw)
	b = appendAttr(b, syscall.IFA_ADDRESS, raw)
	if a.Is4() && typ == syscall.RTM_NEWADDR {
		b = appendAttr(b, syscall.IFA_LABEL, append([]byte(VIPLabel), 0))
	}
	ne := binary.NativeEndian
	ne.PutUint32(b[0:4], uint32(len(b)))
	ne.PutUint16(b[4:6], typ)
	ne.PutUint16(b[6:8], syscall.NLM_F_REQUEST|syscall.NLM_F_ACK|flags)
	ne.PutUint32(b[8:12], seq)
	ne.PutUint32(b[12:16], 0)
	return b
}

func appendAttr(b []byte, typ uint16, val []byte) []byte {
	l := syscall.SizeofRtAttr + len(val)
	var h [4]byte
	binary.NativeEndian.PutUint16(h[0:2], uint16(l))
	binary.NativeEndian.PutUint16(h[2:4], typ)
	b = append(b, h[:]...)
	b = append(b, val...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// parseAck finds the NLMSG_ERROR answering seq: done with a nil error for an ack, or the errno.
func parseAck(b []byte, seq uint32) (done bool, err error) {
	msgs, perr := syscall.ParseNetlinkMessage(b)
	if perr != nil {
		return true, fmt.Errorf("cannot parse netlink answer: %w", perr)
	}
	for _, m := range msgs {
		if m.Header.Seq != seq {
			continue
		}
		switch m.Header.Type {
		case syscall.NLMSG_ERROR:
			if len(m.Data) < 4 {
				return true, errors.New("short netlink error message")
			}
			if e := int32(binary.NativeEndian.Uint32(m.Data[0:4])); e != 0 {
				return true, os.NewSyscallError("netlink", syscall.Errno(-e))
			}
			return true, nil
		case syscall.NLMSG_DONE:
			return true, nil
		}
	}
	return false, nil
}

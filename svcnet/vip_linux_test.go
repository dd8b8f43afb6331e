//go:build linux

package svcnet

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestAddrMessage(t *testing.T) {
	m := addrMessage(syscall.RTM_NEWADDR, syscall.NLM_F_CREATE|syscall.NLM_F_EXCL, 9, 1, ip("10.96.0.10"))
	ne := binary.NativeEndian
	if int(ne.Uint32(m[0:4])) != len(m) || ne.Uint16(m[4:6]) != syscall.RTM_NEWADDR || ne.Uint32(m[8:12]) != 9 {
		t.Fatalf("header %x", m[:16])
	}
	if f := ne.Uint16(m[6:8]); f != syscall.NLM_F_REQUEST|syscall.NLM_F_ACK|syscall.NLM_F_CREATE|syscall.NLM_F_EXCL {
		t.Errorf("flags %x", f)
	}
	// ifaddrmsg: AF_INET, /32, scope host, index 1.
	if m[16] != syscall.AF_INET || m[17] != 32 || m[19] != rtScopeHost || ne.Uint32(m[20:24]) != 1 {
		t.Errorf("ifaddrmsg %x", m[16:24])
	}
	// The dump parser reads the same layout the kernel sends: the label and the address.
	dump := append(append([]byte{}, m...), addrMessage(syscall.RTM_NEWADDR, 0, 10, 2, ip("10.96.0.11"))...)
	got, err := parseVIPDump(dump, 1)
	if err != nil || !slices.Equal(got, []netip.Addr{ip("10.96.0.10")}) {
		t.Errorf("parsed %v %v", got, err)
	}
	del := addrMessage(syscall.RTM_DELADDR, 0, 11, 1, ip("10.96.0.10"))
	if strings.Contains(string(del), VIPLabel) {
		t.Error("a delete carries the label")
	}
	v6 := addrMessage(syscall.RTM_NEWADDR, 0, 12, 1, ip("fd00::10"))
	if v6[16] != syscall.AF_INET6 || v6[17] != 128 || strings.Contains(string(v6), VIPLabel) {
		t.Errorf("IPv6 message %x", v6)
	}
	ack := make([]byte, 36)
	ne.PutUint32(ack[0:4], 36)
	ne.PutUint16(ack[4:6], syscall.NLMSG_ERROR)
	ne.PutUint32(ack[8:12], 5)
	eperm := -int32(syscall.EPERM)
	ne.PutUint32(ack[16:20], uint32(eperm))
	if done, err := parseAck(ack, 5); !done || err == nil || !strings.Contains(err.Error(), "operation not permitted") {
		t.Errorf("EPERM ack: %v %v", done, err)
	}
	if done, _ := parseAck(ack, 6); done {
		t.Error("an ack of another request ended the wait")
	}
}

// TestLoopbackVIPs adds, lists and removes a real address on lo. It needs root.
func TestLoopbackVIPs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	a := ip("198.51.100.77") // TEST-NET-2: never a real ClusterIP
	v := LoopbackVIPs()
	t.Cleanup(func() { _ = v.Remove(a) })
	if err := v.Add(a); err != nil {
		t.Fatal(err)
	}
	if err := v.Add(a); err != nil {
		t.Errorf("second add: %v", err)
	}
	list, err := v.List()
	if err != nil || !slices.Contains(list, a) {
		t.Errorf("list %v %v", list, err)
	}
	if path, err := exec.LookPath("ip"); err == nil {
		out, _ := exec.Command(path, "-4", "addr", "show", "dev", "lo").CombinedOutput()
		if !strings.Contains(string(out), "inet 198.51.100.77/32 scope host "+VIPLabel) {
			t.Errorf("ip addr show lo:\n%s", out)
		}
	}
	// The address is local: a listener on it answers.
	ln, err := net.Listen("tcp", "198.51.100.77:0")
	if err != nil {
		t.Fatalf("listen on the VIP: %v", err)
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Errorf("dial the VIP: %v", err)
	} else {
		c.Close()
	}
	ln.Close()
	if err := v.Remove(a); err != nil {
		t.Fatal(err)
	}
	if err := v.Remove(a); err != nil {
		t.Errorf("second remove: %v", err)
	}
	if list, _ := v.List(); slices.Contains(list, a) {
		t.Error("still listed after Remove")
	}
}

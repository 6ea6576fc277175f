package kubelet

import (
	"fmt"
	"net/netip"
)

// ipam hands out pod IPs from the node's pod CIDR like the host-local CNI
// IPAM plugin: round-robin from the address after the last one handed out,
// skipping the network address, the gateway (.1) and the broadcast
// address, so that a freed address is not reused at once.
type ipam struct {
	prefix netip.Prefix
	size   int    // addresses in the range
	used   []bool // by offset from the network address
	last   int    // offset of the last allocation
	inUse  int
}

func newIPAM(cidr string) (*ipam, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() {
		return nil, fmt.Errorf("pod CIDR %q is not an IPv4 prefix", cidr)
	}
	p = p.Masked()
	bits := 32 - p.Bits()
	if bits < 2 || bits > 16 {
		return nil, fmt.Errorf("pod CIDR %q must hold between 4 and 65536 addresses", cidr)
	}
	n := 1 << bits
	return &ipam{prefix: p, size: n, used: make([]bool, n), last: 1}, nil
}

// allocate returns a free address.
func (a *ipam) allocate() (string, error) {
	for i := 1; i <= a.size; i++ {
		off := (a.last + i) % a.size
		if off <= 1 || off == a.size-1 || a.used[off] {
			continue
		}
		a.used[off] = true
		a.last = off
		a.inUse++
		return a.addr(off), nil
	}
	return "", fmt.Errorf("no free IP address left in pod CIDR %s", a.prefix)
}

// release frees ip (no-op for "" or an address not handed out).
func (a *ipam) release(ip string) {
	if ip == "" {
		return
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil || !a.prefix.Contains(addr) {
		return
	}
	off := int(u32(addr) - u32(a.prefix.Addr()))
	if off >= 0 && off < a.size && a.used[off] {
		a.used[off] = false
		a.inUse--
	}
}

func (a *ipam) addr(off int) string {
	v := u32(a.prefix.Addr()) + uint32(off)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

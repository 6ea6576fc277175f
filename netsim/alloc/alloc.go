package alloc

import (
	"errors"
	"fmt"
	"math/big"
	"net/netip"

	utilnet "k8s.io/apimachinery/pkg/util/net"
	netutils "k8s.io/utils/net"

	"github.com/kubesim/kubesim/sim"
)

// Defaults, as kube-apiserver's --service-cluster-ip-range (kubeadm's
// default) and --service-node-port-range.
const (
	DefaultServiceCIDR   = "10.96.0.0/12"
	DefaultNodePortRange = "30000-32767"
)

// Operations Admit understands; the values are admission.Operation's.
const (
	OpCreate = "CREATE"
	OpUpdate = "UPDATE"
	OpDelete = "DELETE"
)

// Errors with upstream's wording (pkg/registry/core/service/ipallocator and
// portallocator).
var (
	ErrIPAllocated   = errors.New("provided IP is already allocated")
	ErrPortAllocated = errors.New("provided port is already allocated")
	ErrFull          = errors.New("range is full")
	// ErrMismatchedNetwork is the MetaAllocator's (the ClusterIP allocator
	// since MultiCIDRServiceAllocator went GA in v1.33) for an IP outside
	// every service CIDR.
	ErrMismatchedNetwork = errors.New("the provided network does not match the current range")
)

// Config selects the ranges the allocator hands out.
type Config struct {
	// ServiceCIDR is the IPv4 range ClusterIPs come from; "" means
	// DefaultServiceCIDR.
	ServiceCIDR string
	// NodePortRange is "first-last"; "" means DefaultNodePortRange.
	NodePortRange string
}

// Allocator hands out Service ClusterIPs and NodePorts. It is the
// simulator's counterpart of the API server's service REST allocators: it
// runs inside Service create/update/delete, mutates the new object to carry
// what it allocated and keeps one bitmap per range.
//
// Randomness comes from the engine streams "ipallocator" and
// "portallocator", so a scenario and seed always yield the same IPs/ports.
type Allocator struct {
	prefix    netip.Prefix
	base      netip.Addr // first usable address (network + 1)
	ips       *bitmap
	portRange utilnet.PortRange
	ports     *bitmap
}

// New builds an allocator for cfg.
func New(eng *sim.Engine, cfg Config) (*Allocator, error) {
	cidr := cfg.ServiceCIDR
	if cidr == "" {
		cidr = DefaultServiceCIDR
	}
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("service CIDR %q: %w", cidr, err)
	}
	if !prefix.Addr().Is4() {
		return nil, fmt.Errorf("service CIDR %q: kubesim supports IPv4 service ranges only", cidr)
	}
	if prefix.Masked() != prefix {
		return nil, fmt.Errorf("service CIDR %q: not a network address (did you mean %s?)", cidr, prefix.Masked())
	}
	if prefix.Bits() < 8 {
		return nil, fmt.Errorf("service CIDR %q: larger than a /8 is not supported", cidr)
	}
	rangeSize := 1 << (32 - prefix.Bits())
	// Neither the network address nor the broadcast address is handed out.
	size := max(rangeSize-2, 0)
	pr := cfg.NodePortRange
	if pr == "" {
		pr = DefaultNodePortRange
	}
	portRange, err := utilnet.ParsePortRange(pr)
	if err != nil {
		return nil, fmt.Errorf("node port range %q: %w", pr, err)
	}
	return &Allocator{
		prefix:    prefix,
		base:      prefix.Addr().Next(),
		ips:       newBitmap(size, min(ipStaticBand(rangeSize), size), eng.Rand("ipallocator")),
		portRange: *portRange,
		ports:     newBitmap(portRange.Size, portStaticBand(portRange.Size), eng.Rand("portallocator")),
	}, nil
}

// ipStaticBand is upstream's ipallocator calculateRangeOffset:
// min(max(16, size/16), 256), or 0 for ranges of 16 addresses or fewer.
func ipStaticBand(rangeSize int) int {
	if rangeSize <= 16 {
		return 0
	}
	return min(max(16, rangeSize/16), 256)
}

// portStaticBand is upstream's portallocator calculateRangeOffset:
// min(max(16, size/32), 128), or 0 for ranges of 16 ports or fewer.
func portStaticBand(size int) int {
	if size <= 16 {
		return 0
	}
	return min(max(16, size/32), 128)
}

// ServiceCIDR is the range ClusterIPs come from.
func (a *Allocator) ServiceCIDR() string { return a.prefix.String() }

// NodePortRange is the range NodePorts come from, as "first-last".
func (a *Allocator) NodePortRange() string { return a.portRange.String() }

// KubernetesServiceIP is the first usable address of the range (10.96.0.1
// by default), which upstream gives to default/kubernetes. The wiring should
// create that Service asking for this IP; dynamic allocation picks from the
// upper band first, so it does not take it before then.
func (a *Allocator) KubernetesServiceIP() string { return a.base.String() }

// HasIP reports whether ip is allocated.
func (a *Allocator) HasIP(ip string) bool {
	off, err := a.ipOffset(ip)
	return err == nil && a.ips.has(off)
}

// HasNodePort reports whether port is allocated.
func (a *Allocator) HasNodePort(port int) bool {
	return a.portRange.Contains(port) && a.ports.has(port-a.portRange.Base)
}

// UsedIPs is the number of allocated ClusterIPs.
func (a *Allocator) UsedIPs() int { return a.ips.used() }

// UsedNodePorts is the number of allocated NodePorts (health-check node
// ports included).
func (a *Allocator) UsedNodePorts() int { return a.ports.used() }

// AllocatedIPs lists allocated ClusterIPs in increasing order.
func (a *Allocator) AllocatedIPs() []string {
	var out []string
	a.ips.forEach(func(off int) { out = append(out, a.ipAt(off).String()) })
	return out
}

// AllocatedNodePorts lists allocated NodePorts in increasing order.
func (a *Allocator) AllocatedNodePorts() []int {
	var out []int
	a.ports.forEach(func(off int) { out = append(out, a.portRange.Base+off) })
	return out
}

// errNotInRange is upstream's ipallocator ErrNotInRange text.
type errNotInRange struct{ ip, validRange string }

func (e *errNotInRange) Error() string {
	return fmt.Sprintf("the provided IP (%s) is not in the valid range. The range of valid IPs is %s", e.ip, e.validRange)
}

// errPortNotInRange is upstream's portallocator ErrNotInRange text.
type errPortNotInRange struct{ validPorts string }

func (e *errPortNotInRange) Error() string {
	return fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %s", e.validPorts)
}

// ipOffset is ip's offset in the bitmap. As upstream's MetaAllocator, an
// IP outside the service CIDR is ErrMismatchedNetwork, and the network
// and broadcast addresses are not in the range (the CIDR's allocator's
// ErrNotInRange). IPs parse as upstream's do (netutils.ParseIPSloppy), so
// a legacy form with leading zeros is the same address.
func (a *Allocator) ipOffset(ip string) (int, error) {
	parsed := netutils.ParseIPSloppy(ip).To4()
	if parsed == nil {
		return 0, ErrMismatchedNetwork
	}
	addr := netip.AddrFrom4([4]byte(parsed))
	if !a.prefix.Contains(addr) {
		return 0, ErrMismatchedNetwork
	}
	off := int(new(big.Int).Sub(new(big.Int).SetBytes(addr.AsSlice()), new(big.Int).SetBytes(a.base.AsSlice())).Int64())
	if off < 0 || off >= a.ips.size {
		return 0, &errNotInRange{ip: addr.String(), validRange: a.prefix.String()}
	}
	return off, nil
}

func (a *Allocator) ipAt(off int) netip.Addr {
	b := a.base.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += uint32(off)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// allocateIP reserves ip, or the next free one when ip is "".
func (a *Allocator) allocateIP(ip string) (string, error) {
	if ip == "" {
		off, ok := a.ips.next()
		if !ok {
			return "", ErrFull
		}
		return a.ipAt(off).String(), nil
	}
	off, err := a.ipOffset(ip)
	if err != nil {
		return "", err
	}
	if !a.ips.reserve(off) {
		return "", ErrIPAllocated
	}
	return a.ipAt(off).String(), nil
}

func (a *Allocator) releaseIP(ip string) {
	if off, err := a.ipOffset(ip); err == nil {
		a.ips.release(off)
	}
}

// allocatePort reserves port, or the next free one when port is 0.
func (a *Allocator) allocatePort(port int) (int, error) {
	if port == 0 {
		off, ok := a.ports.next()
		if !ok {
			return 0, ErrFull
		}
		return a.portRange.Base + off, nil
	}
	if !a.portRange.Contains(port) {
		return 0, &errPortNotInRange{validPorts: a.portRange.String()}
	}
	if !a.ports.reserve(port - a.portRange.Base) {
		return 0, ErrPortAllocated
	}
	return port, nil
}

func (a *Allocator) releasePort(port int) {
	if a.portRange.Contains(port) {
		a.ports.release(port - a.portRange.Base)
	}
}

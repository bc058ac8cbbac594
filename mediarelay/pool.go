package mediarelay

import "net/netip"

// iface is one configured interface with its pool of even/odd port pairs.
//
// Pairs are handed out from a FIFO ring of free pair indexes, so a released
// pair goes to the back of the queue and is reused as late as possible
// (stray packets of an ended call rarely reach the next one). inUse guards
// against a pair ever being handed out twice. The pool is guarded by the
// relay's mutex.
type iface struct {
	cfg   InterfaceConfig
	idx   int // position in Config.Interfaces
	base  int // first slot of this interface in the relay's socket table
	pairs int

	free  []int32 // ring of free pair indexes
	head  int     // index of the oldest free pair in free
	count int     // number of free pairs
	inUse []bool
}

func newIface(cfg InterfaceConfig, idx, base int) *iface {
	n := (int(cfg.PortMax) - int(cfg.PortMin) + 1) / 2
	f := &iface{cfg: cfg, idx: idx, base: base, pairs: n, free: make([]int32, n), count: n, inUse: make([]bool, n)}
	for i := range f.free {
		f.free[i] = int32(i)
	}
	return f
}

// rtpPort is the even port of pair p (RFC 3550 §11: RTP on an even port,
// RTCP on the next higher odd port).
func (f *iface) rtpPort(p int) uint16 { return f.cfg.PortMin + uint16(2*p) }

// take removes the oldest free pair from the ring; ok is false when empty.
func (f *iface) take() (p int, ok bool) {
	if f.count == 0 {
		return 0, false
	}
	p = int(f.free[f.head])
	f.head = (f.head + 1) % len(f.free)
	f.count--
	f.inUse[p] = true
	return p, true
}

// put returns pair p to the back of the ring. Putting a pair that is not in
// use is ignored, so a double release cannot make a pair free twice.
func (f *iface) put(p int) {
	if !f.inUse[p] {
		return
	}
	f.inUse[p] = false
	f.free[(f.head+f.count)%len(f.free)] = int32(p)
	f.count++
}

// slot is the index in the relay's socket table of pair p's RTP (rtcp=false)
// or RTCP socket.
func (f *iface) slot(p int, rtcp bool) int {
	s := f.base + 2*p
	if rtcp {
		s++
	}
	return s
}

func (f *iface) addrPort(port uint16) netip.AddrPort { return netip.AddrPortFrom(f.cfg.Addr, port) }

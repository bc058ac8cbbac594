package sipptest

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
)

// portMu serialises port picking inside this process, and picked remembers
// what was handed out, so parallel tests never get the same port before
// SIPp has bound it.
var (
	portMu sync.Mutex
	picked = map[netip.AddrPort]bool{}
)

// FreePort returns a port on ip that is free for both UDP and TCP now and
// was not handed out before by this process. SIPp binds it later, so another
// process may still take it in between; tests use addresses of their own in
// 127.0.0.0/8 to make that unlikely.
func FreePort(ip netip.Addr) (uint16, error) {
	portMu.Lock()
	defer portMu.Unlock()
	for range 64 {
		port, err := freeUDPTCP(ip)
		if err != nil {
			return 0, err
		}
		ap := netip.AddrPortFrom(ip, port)
		if !picked[ap] {
			picked[ap] = true
			return port, nil
		}
	}
	return 0, fmt.Errorf("%w on %s", ErrNoPort, ip)
}

// FreeMediaPort returns an even UDP port p on ip with p..p+3 free: SIPp binds
// p and p+2 for audio and video, and RTCP would use p+1 and p+3.
func FreeMediaPort(ip netip.Addr) (uint16, error) {
	portMu.Lock()
	defer portMu.Unlock()
	for range 256 {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
		if err != nil {
			return 0, fmt.Errorf("%w: media port on %s: %v", ErrNoPort, ip, err)
		}
		base := uint16(c.LocalAddr().(*net.UDPAddr).Port) &^ 1
		c.Close()
		if base < 1024 || base > 65530 {
			continue
		}
		ok := true
		for i := range uint16(4) {
			ap := netip.AddrPortFrom(ip, base+i)
			if picked[ap] || !udpFree(ap) {
				ok = false
				break
			}
		}
		if ok {
			for i := range uint16(4) {
				picked[netip.AddrPortFrom(ip, base+i)] = true
			}
			return base, nil
		}
	}
	return 0, fmt.Errorf("%w: no media port range on %s", ErrNoPort, ip)
}

func udpFree(ap netip.AddrPort) bool {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// freeUDPTCP asks the kernel for a UDP port and checks TCP on the same number.
func freeUDPTCP(ip netip.Addr) (uint16, error) {
	for range 64 {
		u, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
		if err != nil {
			return 0, fmt.Errorf("%w on %s: %v", ErrNoPort, ip, err)
		}
		port := uint16(u.LocalAddr().(*net.UDPAddr).Port)
		l, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, port)))
		u.Close()
		if err != nil {
			continue
		}
		l.Close()
		return port, nil
	}
	return 0, fmt.Errorf("%w on %s for both UDP and TCP", ErrNoPort, ip)
}

// bound reports whether a socket is bound to ap (a listening one for TCP),
// reading /proc/net/{udp,tcp}[6] so that the check never binds the port itself.
func bound(network string, ap netip.AddrPort) (bool, error) {
	file := "/proc/net/" + network
	if ap.Addr().Is6() {
		file += "6"
	}
	f, err := os.Open(file)
	if err != nil {
		return false, fmt.Errorf("sipptest: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 {
			continue
		}
		local, ok := parseProcAddr(fields[1])
		if !ok || local.Port() != ap.Port() {
			continue
		}
		if network == "tcp" && fields[3] != "0A" { // TCP_LISTEN
			continue
		}
		if local.Addr() == ap.Addr() || local.Addr().IsUnspecified() {
			return true, nil
		}
	}
	return false, sc.Err()
}

// parseProcAddr parses "0100007F:13C4": the address as host-order 32-bit
// words in hex, the port in hex.
func parseProcAddr(s string) (netip.AddrPort, bool) {
	host, port, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, false
	}
	b, err := hex.DecodeString(host)
	if err != nil || (len(b) != 4 && len(b) != 16) {
		return netip.AddrPort{}, false
	}
	for i := 0; i < len(b); i += 4 {
		w := binary.LittleEndian.Uint32(b[i:])
		binary.BigEndian.PutUint32(b[i:], w)
	}
	addr, _ := netip.AddrFromSlice(b)
	p, err := strconv.ParseUint(port, 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(addr.Unmap(), uint16(p)), true
}

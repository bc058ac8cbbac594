package rtpload

import (
	"bufio"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// AudioSDP is a minimal RFC 8866 session description offering PCMU (RFC
// 3551 payload type 0) at addr.
func AudioSDP(addr netip.AddrPort, sessID int) string {
	ipv := "IP4"
	if addr.Addr().Is6() {
		ipv = "IP6"
	}
	return fmt.Sprintf("v=0\r\no=- %d 1 IN %s %s\r\ns=rtpload\r\nc=IN %s %s\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n",
		sessID, ipv, addr.Addr(), ipv, addr.Addr(), addr.Port())
}

// MediaAddr extracts the first audio stream's address from an SDP body:
// the c= line (session or media level) and the m= port.
func MediaAddr(sdp string) (netip.AddrPort, error) {
	var addr netip.Addr
	var port int
	inAudio := false
	sc := bufio.NewScanner(strings.NewReader(sdp))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case strings.HasPrefix(line, "m="):
			if port != 0 {
				break
			}
			f := strings.Fields(line[2:])
			if len(f) >= 2 && f[0] == "audio" {
				p, err := strconv.Atoi(f[1])
				if err != nil {
					return netip.AddrPort{}, fmt.Errorf("rtpload: bad m= line %q", line)
				}
				port, inAudio = p, true
			} else {
				inAudio = false
			}
		case strings.HasPrefix(line, "c="):
			f := strings.Fields(line[2:])
			if len(f) == 3 && (port == 0 || inAudio) {
				a, err := netip.ParseAddr(f[2])
				if err != nil {
					return netip.AddrPort{}, fmt.Errorf("rtpload: bad c= line %q", line)
				}
				addr = a
			}
		}
	}
	if !addr.IsValid() || port == 0 {
		return netip.AddrPort{}, fmt.Errorf("rtpload: no audio address in SDP")
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

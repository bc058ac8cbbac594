package rtpload

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"
)

// NGClient speaks rtpengine's NG control protocol: each request is a
// cookie, a space and a bencoded dictionary in one UDP datagram; the reply
// repeats the cookie.
type NGClient struct {
	conn   *net.UDPConn
	addr   netip.AddrPort
	cookie atomic.Uint64
	buf    []byte
}

// DialNG opens a client to the NG control address.
func DialNG(addr netip.AddrPort) (*NGClient, error) {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, err
	}
	return &NGClient{conn: c, addr: addr, buf: make([]byte, 65536)}, nil
}

// Close closes the client's socket.
func (c *NGClient) Close() error { return c.conn.Close() }

// Do sends one command and returns the reply dictionary, retrying a few
// times on timeout. A reply whose result is not "ok" (or "pong") is an error.
func (c *NGClient) Do(req map[string]any) (map[string]any, error) {
	cookie := strconv.FormatUint(c.cookie.Add(1), 10) + "_" + strconv.FormatInt(time.Now().UnixNano()%1e6, 10)
	msg := append([]byte(cookie), ' ')
	msg, err := Encode(msg, req)
	if err != nil {
		return nil, err
	}
	for try := 0; try < 5; try++ {
		if _, err := c.conn.Write(msg); err != nil {
			return nil, err
		}
		c.conn.SetReadDeadline(time.Now().Add(time.Second))
		for {
			n, err := c.conn.Read(c.buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break // retry
				}
				return nil, err
			}
			b := c.buf[:n]
			sp := indexByte(b, ' ')
			if sp < 0 || string(b[:sp]) != cookie {
				continue // a late reply to an earlier try
			}
			v, _, err := Decode(b[sp+1:])
			if err != nil {
				return nil, err
			}
			m, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("rtpload: NG reply is not a dictionary")
			}
			if r, _ := m["result"].(string); r != "ok" && r != "pong" {
				return m, fmt.Errorf("rtpload: NG %v: %v %v", req["command"], r, m["error-reason"])
			}
			return m, nil
		}
	}
	return nil, fmt.Errorf("rtpload: NG %v: no reply from %v", req["command"], c.addr)
}

// Offer sends the caller's SDP and returns the relay's SDP for the callee.
func (c *NGClient) Offer(callID, fromTag, sdp string) (string, error) {
	m, err := c.Do(map[string]any{"command": "offer", "call-id": callID, "from-tag": fromTag, "sdp": sdp})
	if err != nil {
		return "", err
	}
	s, _ := m["sdp"].(string)
	return s, nil
}

// Answer sends the callee's SDP and returns the relay's SDP for the caller.
func (c *NGClient) Answer(callID, fromTag, toTag, sdp string) (string, error) {
	m, err := c.Do(map[string]any{"command": "answer", "call-id": callID, "from-tag": fromTag, "to-tag": toTag, "sdp": sdp})
	if err != nil {
		return "", err
	}
	s, _ := m["sdp"].(string)
	return s, nil
}

// Delete ends a call.
func (c *NGClient) Delete(callID, fromTag string) error {
	_, err := c.Do(map[string]any{"command": "delete", "call-id": callID, "from-tag": fromTag})
	return err
}

// Ping checks that the relay answers.
func (c *NGClient) Ping() error {
	_, err := c.Do(map[string]any{"command": "ping"})
	return err
}

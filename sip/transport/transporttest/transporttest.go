// Package transporttest holds test doubles for package transport and its
// users: a self-signed certificate for TLS listeners, a UDP wrapper that
// drops packets on command, and a scripted DNS resolver.
package transporttest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sbc-project/sbc/sip/transport"
)

// SelfSigned writes a fresh self-signed certificate for 127.0.0.1, ::1 and
// "localhost" to PEM files in a test temp directory and returns their paths
// and a pool that trusts it.
func SelfSigned(tb testing.TB) (certFile, keyFile string, pool *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sbc test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		tb.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// Lossy wraps a UDP socket and drops outgoing and incoming datagrams for
// which Drop returns true. Use it as transport.Config.WrapUDP.
type Lossy struct {
	transport.PacketConn
	mu sync.Mutex
	// Drop decides per datagram; out is true for sends. Nil drops nothing.
	Drop            func(b []byte, out bool) bool
	Dropped, Passed int
	droppedInOrOut  [2]int
}

// WrapUDP returns a transport.Config.WrapUDP function that wraps every
// socket with the same drop function and reports the wrappers to got.
func WrapUDP(drop func(b []byte, out bool) bool, got func(*Lossy)) func(string, transport.PacketConn) transport.PacketConn {
	return func(_ string, pc transport.PacketConn) transport.PacketConn {
		l := &Lossy{PacketConn: pc, Drop: drop}
		if got != nil {
			got(l)
		}
		return l
	}
}

func (l *Lossy) drop(b []byte, out bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Drop != nil && l.Drop(b, out) {
		l.Dropped++
		return true
	}
	l.Passed++
	return false
}

// Stats returns datagrams dropped and passed so far.
func (l *Lossy) Stats() (dropped, passed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.Dropped, l.Passed
}

// ReadFromUDPAddrPort reads the next datagram that is not dropped.
func (l *Lossy) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	for {
		n, a, err := l.PacketConn.ReadFromUDPAddrPort(b)
		if err != nil || !l.drop(b[:n], false) {
			return n, a, err
		}
	}
}

// WriteToUDPAddrPort sends b unless it is dropped (then it pretends to).
func (l *Lossy) WriteToUDPAddrPort(b []byte, a netip.AddrPort) (int, error) {
	if l.drop(b, true) {
		return len(b), nil
	}
	return l.PacketConn.WriteToUDPAddrPort(b, a)
}

// Resolver answers SRV and address lookups from maps; absent names are
// NXDOMAIN. Keys of SRV are "_service._proto.name".
type Resolver struct {
	SRV   map[string][]*net.SRV
	Hosts map[string][]netip.Addr
	mu    sync.Mutex
	Log   []string
}

// LookupSRV implements transport.Resolver.
func (r *Resolver) LookupSRV(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
	q := "_" + service + "._" + proto + "." + name
	r.mu.Lock()
	r.Log = append(r.Log, "SRV "+q)
	r.mu.Unlock()
	if s, ok := r.SRV[q]; ok {
		return q, s, nil
	}
	return "", nil, &net.DNSError{Err: "no such host", Name: q, IsNotFound: true}
}

// LookupNetIP implements transport.Resolver.
func (r *Resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	r.Log = append(r.Log, "A/AAAA "+host)
	r.mu.Unlock()
	if a, ok := r.Hosts[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

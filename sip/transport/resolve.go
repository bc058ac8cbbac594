package transport

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// Resolver is the part of *net.Resolver used to locate SIP servers; tests
// inject their own.
type Resolver interface {
	LookupSRV(ctx context.Context, service, proto, name string) (cname string, addrs []*net.SRV, err error)
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Resolve turns t into destinations in the order to try them, following
// the subset of RFC 3263 §4 without NAPTR:
//   - an IP literal is used as is, with the given or default port;
//   - a host name with a port is resolved through A/AAAA (§4.2);
//   - a host name without a port is looked up as SRV _sips._tcp (secure),
//     or _sip._udp, _sip._tcp and _sips._tcp in that order when no
//     transport is given (§4.1), else the given transport's record; SRV
//     targets are ordered by priority and weight (RFC 2782) and resolved
//     through A/AAAA; without SRV records the host's A/AAAA records are
//     used with the default port.
//
// The transport is the given one, else TLS for sips, else UDP (§4.1).
// Destinations no listener can reach (family, interface) are left out.
//
// Answers for host names are cached (Config.DNSCacheTTL, see dnsCache);
// IP literals are not looked up at all.
func (l *Layer) Resolve(ctx context.Context, t Target) ([]Dest, error) {
	if l.dns != nil && t.Host != "" {
		if _, err := netip.ParseAddr(strings.Trim(strings.TrimSuffix(t.Host, "."), "[]")); err != nil {
			return l.dns.lookup(ctx, t)
		}
	}
	return l.resolve(ctx, t)
}

// resolve is Resolve without the cache.
func (l *Layer) resolve(ctx context.Context, t Target) ([]Dest, error) {
	if t.Host == "" {
		return nil, fmt.Errorf("%w: empty host", ErrBadTarget)
	}
	if t.Secure && t.Transport != 0 && t.Transport != TLS {
		return nil, fmt.Errorf("%w: sips over %s", ErrBadTarget, t.Transport)
	}
	host := strings.TrimSuffix(t.Host, ".")
	var out []Dest
	add := func(tr Transport, a netip.Addr, port uint16, name string) {
		d := Dest{Transport: tr, Addr: netip.AddrPortFrom(a.Unmap(), port), Interface: t.Interface, ServerName: name}
		if l.HasListener(d) && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	defTransport := t.Transport
	if defTransport == 0 {
		defTransport = UDP
		if t.Secure {
			defTransport = TLS
		}
	}
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		port := t.Port
		if port == 0 {
			port = defTransport.DefaultPort()
		}
		add(defTransport, a, port, "")
		if len(out) == 0 {
			return nil, fmt.Errorf("%w: %s %s", ErrNoListener, defTransport, a)
		}
		return out, nil
	}
	if t.Port != 0 { // §4.2: explicit port, A/AAAA only
		addrs, err := l.res.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, fmt.Errorf("transport: resolve %s: %w", host, err)
		}
		for _, a := range addrs {
			add(defTransport, a, t.Port, host)
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("%w: %s", ErrNoAddress, host)
		}
		return out, nil
	}
	type srvQuery struct {
		tr             Transport
		service, proto string
	}
	var qs []srvQuery
	switch {
	case t.Secure || t.Transport == TLS:
		qs = []srvQuery{{TLS, "sips", "tcp"}}
	case t.Transport == UDP:
		qs = []srvQuery{{UDP, "sip", "udp"}}
	case t.Transport == TCP:
		qs = []srvQuery{{TCP, "sip", "tcp"}}
	default:
		qs = []srvQuery{{UDP, "sip", "udp"}, {TCP, "sip", "tcp"}, {TLS, "sips", "tcp"}}
	}
	var errs []error
	for _, q := range qs {
		_, srvs, err := l.res.LookupSRV(ctx, q.service, q.proto, host)
		if err != nil {
			var de *net.DNSError
			if !errors.As(err, &de) || !de.IsNotFound {
				errs = append(errs, err)
			}
			continue
		}
		if len(srvs) == 0 {
			continue
		}
		srvs = slices.Clone(srvs)
		// RFC 2782: lowest priority first; among equals, heavier weight
		// first (deterministic; net.Resolver already shuffles by weight).
		slices.SortStableFunc(srvs, func(a, b *net.SRV) int {
			if c := cmp.Compare(a.Priority, b.Priority); c != 0 {
				return c
			}
			return cmp.Compare(b.Weight, a.Weight)
		})
		for _, s := range srvs {
			target := strings.TrimSuffix(s.Target, ".")
			if target == "" { // "." means the service is not offered (RFC 2782)
				continue
			}
			addrs, err := l.res.LookupNetIP(ctx, "ip", target)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			for _, a := range addrs {
				add(q.tr, a, s.Port, host)
			}
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	// §4.2: no SRV records: A/AAAA of the host with the default port.
	addrs, err := l.res.LookupNetIP(ctx, "ip", host)
	if err != nil {
		errs = append(errs, err)
		return nil, fmt.Errorf("transport: resolve %s: %w", host, errors.Join(errs...))
	}
	for _, a := range addrs {
		add(defTransport, a, defTransport.DefaultPort(), host)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNoAddress, host)
	}
	return out, nil
}

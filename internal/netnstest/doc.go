// Package netnstest builds a throw-away network of Linux network namespaces
// for NAT integration tests: a user agent behind a NAT router (nftables
// masquerade, RFC 4787 endpoint-independent or, with fully-random, symmetric
// port mapping), the SBC, and a carrier. Every address lives only inside
// the namespaces the test creates (RFC 1918 10.200.1.0/24 behind the NAT,
// the documentation ranges RFC 5737 198.51.100.0/24 and 203.0.113.0/24 on
// the "public" and core links), so no packet can leave the machine. It needs
// root; without it the test is skipped, or failed when CI=true.
package netnstest

// Package capture records every SIP message the SBC sends and receives, for
// operators' Homer and Wireshark/sngrep tooling: a pcap writer (libpcap
// classic format, Ethernet or raw-IP link type, with synthesized IPv4/IPv6
// (RFC 791, RFC 8200) and UDP/TCP (RFC 768, RFC 9293) headers and checksums,
// rotated by size), a HEP v3 (HEP/EEP, as implemented by Homer) encoder and UDP
// sender, and a Capturer front that samples whole calls by Call-ID hash,
// filters by trunk and hands each sink its own bounded queue so that capture
// never blocks the SIP path.
package capture

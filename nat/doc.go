// Package nat holds the SBC's NAT traversal building blocks for user agents
// behind NAT: per-request NAT detection (RFC 3581 sent-by versus source,
// private ranges of RFC 1918, RFC 6598 and RFC 4193), the registration
// relay of an access trunk with its binding cache (RFC 3261 §10: REGISTER
// forwarded with the SBC's own Contact, expiry shortened toward the UA,
// 401/407 challenges relayed, §10.2.4 Call-ID/CSeq per binding), and
// keepalives that hold each NATed UA's binding open (OPTIONS, RFC 3261 §11,
// or the double-CRLF ping of RFC 5626 §4.4.1 on streams). Expiry and
// keepalives run on one heap driven by an injectable clock; there is no
// goroutine per binding. The cache belongs to the process, not to a policy
// generation, so it survives policy reloads.
//
// # Wiring it into the daemon
//
//	reg, err := nat.New(nat.Config{
//		Policy:             store.Current,
//		SentBy:             server.SentBy, // b2bua's sentBy(iface, tr), exported
//		RegistrarInterface: "inside",      // where registrars are reached
//		Logger:             log,
//	})
//	server, _ := b2bua.New(b2bua.Config{..., Registrar: reg})  // HandleRegister
//	m, layer, _ := transaction.New(transaction.Config{Handler: server, ...}, tc)
//	server.SetTx(m)
//	reg.SetTx(m, layer) // layer writes CRLF keepalives on streams
//	defer reg.Close()
//	admin: List() → []admin.RegistrationInfo (same fields as Info)
//
// In the B2BUA, per request: d := nat.Detect(req, tx.Source(),
// tx.Flow().Transport() == transport.UDP, sdpConnectionAddrs...) and keep d
// with the dialog; toward a party with d.NATed send in-dialog requests on
// the flow it used (RFC 3581 §4), never to its Contact. A call from the
// core: b, ok := reg.LookupURI(req.RequestURI) (the Request-URI carries the
// token the SBC registered); if ok, build the B-leg with Request-URI
// b.Contact and send it with RequestOn(b.Flow, ...), else 480 (RFC 3261
// §10.3: no binding). Registrar.Stats feeds the metrics.
package nat

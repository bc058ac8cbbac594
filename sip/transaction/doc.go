// Package transaction implements the SIP transaction layer of RFC 3261 §17
// with the INVITE changes of RFC 6026: client and server, INVITE and
// non-INVITE state machines, timers A–M on one hashed timer wheel driven by
// an injectable Clock (no goroutine per transaction), request and response
// matching including the RFC 2543 fallback (§17.1.3, §17.2.3), ACK
// generation for non-2xx final responses (§17.1.1.3), CANCEL (§9) and
// merged-request detection (§8.2.2.2).
//
// # Using it from the B2BUA
//
// Build the transport and the Manager together:
//
//	m, layer, err := transaction.New(transaction.Config{
//		Handler: b2bua,                 // HandleRequest(tx *ServerTx, req *sip.Message)
//		Hooks: transaction.Hooks{
//			ACK:           b2bua.onACK,  // ACK for 2xx (tx is the INVITE it acknowledges, or nil)
//			StrayResponse: b2bua.onStray,
//			Cancel:        b2bua.onCancel, // nil: the Manager answers the INVITE with 487 itself
//			ServerError:   b2bua.onServerError, // ErrNoACK, transport errors
//		},
//	}, transport.Config{Listeners: listeners, Limits: limits})
//	defer layer.Close()
//	defer m.Close()
//
// Server side: HandleRequest is called once per new server transaction, on
// the goroutine that read the message; it must not block (hand the work to
// the call's own executor). Retransmissions never reach it. Answer with
// tx.Respond(tx.NewResponse(code, reason)) or any response built from the
// request; the transaction adds a To tag, retransmits final responses
// over UDP (Timer G), retransmits a 2xx to INVITE until its ACK (RFC 3261
// §13.3.1.4; matched by Call-ID, From tag, To tag and CSeq number), and
// answers retransmitted requests. An INVITE gets 100 Trying at once unless
// Config.No100. CANCEL is answered by the Manager (200, or 481 when it
// matches nothing), then Hooks.Cancel tells the TU. A request that merges
// with a live transaction gets 482 and never reaches the handler.
//
// Client side: m.Request(ctx, req, target, onResp) resolves the target
// (transport.Target, RFC 3263 subset), adds a top Via with a fresh branch
// when req has none, sends, and calls onResp for every response passed to
// the TU, or once with ErrTimeout or a transport error. m.RequestOn sends on
// a known transport.Flow (in-dialog requests over the same connection).
// onResp calls of one transaction never overlap. ClientTx.Cancel sends a
// CANCEL per RFC 3261 §9.1, waiting for a provisional response when none has
// arrived. ACK for a 2xx is not a transaction: build it and send it with
// m.Send or m.SendOn.
//
// Concurrency: no goroutine per transaction. The Manager runs one goroutine,
// the Clock's ticker driving a hashed timer wheel (10 ms ticks, 4096 slots);
// every transaction embeds its two timers, so arming never allocates.
// Messages are handled on the transport's reading goroutines; transactions
// live in 64 sharded maps. Lock order: a transaction's lock before a shard's.
// Memory is bounded by MaxServerTransactions (stateless 503 beyond it), by
// Timer C for INVITE client transactions stuck in Proceeding, and by a guard
// on server transactions the TU never answers (64*T1 for non-INVITE, 408
// after Timer C plus 64*T1 for INVITE).
//
// A transaction that has done its work lingers to absorb retransmissions
// (Timers D, H, I, J, K, L, M: up to 64*T1 on UDP). It keeps only its match
// keys, flows, the bytes it may have to send again (the last response; for
// an INVITE client in Completed the ACK) and a few scalars: server
// transactions release the request when they send their final response,
// client transactions release the request, its bytes and onResp on a final
// response that leads to Completed. An INVITE client transaction in
// Accepted keeps its request and onResp, since every 2xx retransmission
// goes to the TU, which ACKs it (RFC 6026 §7.2). ServerTx.Request and
// ClientTx.Request document when they return nil; ServerTx.Method, CallID,
// ToTag, Flow and NewResponse work in every state.
//
// Timers use T1, T2 and T4 from Config (defaults 500 ms, 4 s, 5 s) and are
// only armed for retransmission on unreliable transports. Inject
// transactiontest.FakeClock as Config.Clock to drive them in tests.
package transaction

package transaction_test

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transaction"
	"github.com/sbc-project/sbc/sip/transport"
)

const window = 64 // transactions in flight

// BenchmarkUDPLoopback measures OPTIONS transactions per second between two
// Managers over loopback UDP, against a baseline in the same run: the same
// request and response bytes bounced by a bare socket echo with the same
// window (no parsing, no transactions).
func BenchmarkUDPLoopback(b *testing.B) {
	reqText := newRequest(b, "OPTIONS", "bench")
	reqText.PrependHeader("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKbench;rport")
	reqBytes := reqText.AppendTo(nil)
	respMsg := sip.NewResponse(reqText, 200, "")
	transport.AddToTag(respMsg, "abc")
	respBytes := respMsg.AppendTo(nil)

	b.Run("baseline-echo", func(b *testing.B) {
		srv, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		cli, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		defer cli.Close()
		go func() { // exits when srv closes
			buf := make([]byte, 65536)
			for {
				_, a, err := srv.ReadFromUDPAddrPort(buf)
				if err != nil {
					return
				}
				srv.WriteToUDPAddrPort(respBytes, a)
			}
		}()
		defer srv.Close()
		dst := srv.LocalAddr().(*net.UDPAddr).AddrPort()
		sem := make(chan struct{}, window)
		done := make(chan struct{})
		b.ReportAllocs()
		b.ResetTimer()
		go func() { // exits after b.N responses or a read deadline
			buf := make([]byte, 65536)
			for i := 0; i < b.N; i++ {
				cli.SetReadDeadline(time.Now().Add(2 * time.Second))
				if _, _, err := cli.ReadFromUDPAddrPort(buf); err != nil {
					// a lost datagram: release its slot so the sender can finish
					i--
					select {
					case <-sem:
					default:
						close(done)
						return
					}
					continue
				}
				<-sem
			}
			close(done)
		}()
		for i := 0; i < b.N; i++ {
			sem <- struct{}{}
			cli.WriteToUDPAddrPort(reqBytes, dst)
		}
		<-done
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
	})

	b.Run("transactions", func(b *testing.B) {
		uas := newPeerT1(b, transport.UDP, func(tx *transaction.ServerTx, _ *sip.Message) {
			tx.Respond(tx.NewResponse(200, ""))
		}, nil, [2]string{}, nil, 500*time.Millisecond)
		uac := newPeerT1(b, transport.UDP, func(tx *transaction.ServerTx, _ *sip.Message) {}, nil, [2]string{}, nil, 500*time.Millisecond)
		dest := transport.Dest{Transport: transport.UDP, Addr: uas.addr()}
		sem := make(chan struct{}, window)
		var wg sync.WaitGroup
		var failed int64
		var mu sync.Mutex
		cb := func(_ *transaction.ClientTx, resp *sip.Message, err error) {
			if err == nil && resp.StatusCode < 200 {
				return
			}
			mu.Lock()
			if err != nil {
				failed++
			}
			mu.Unlock()
			<-sem
			wg.Done()
		}
		reqs := make([]*sip.Message, b.N)
		for i := range reqs {
			reqs[i] = newRequest(b, "OPTIONS", fmt.Sprint("bench-", i))
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			sem <- struct{}{}
			wg.Add(1)
			if _, err := uac.m.RequestTo(reqs[i], dest, cb); err != nil {
				b.Fatal(err)
			}
		}
		wg.Wait()
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
		b.ReportMetric(float64(uac.m.Stats().Retransmits), "retransmits")
		if failed != 0 {
			b.Fatalf("%d of %d transactions failed", failed, b.N)
		}
	})
}

package transaction_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sbc-project/sbc/internal/testenv"
	"github.com/sbc-project/sbc/sip"
	"github.com/sbc-project/sbc/sip/transaction"
	"github.com/sbc-project/sbc/sip/transport"
)

// testUAS is a minimal user agent server on the transaction layer: 200 to
// OPTIONS, MESSAGE and BYE; 180 then 200 (with Contact) to INVITE.
type testUAS struct {
	m       *transaction.Manager
	l       *transport.Layer
	byMeth  map[string]*atomic.Int64
	acks    atomic.Int64
	noACK   atomic.Int64
	servErr atomic.Int64
}

func startUAS(t *testing.T) *testUAS {
	t.Helper()
	u := &testUAS{byMeth: map[string]*atomic.Int64{}}
	for _, m := range []string{"OPTIONS", "MESSAGE", "INVITE", "BYE"} {
		u.byMeth[m] = new(atomic.Int64)
	}
	lo := netip.MustParseAddrPort("127.0.0.1:0")
	m, l, err := transaction.New(transaction.Config{
		Handler: transaction.HandlerFunc(u.handle),
		Hooks: transaction.Hooks{
			ACK: func(*transaction.ServerTx, transport.Inbound) { u.acks.Add(1) },
			ServerError: func(_ *transaction.ServerTx, err error) {
				u.servErr.Add(1)
			},
		},
	}, transport.Config{Listeners: []transport.ListenerConfig{
		{Interface: "lo", Transport: transport.UDP, Addr: lo},
		{Interface: "lo", Transport: transport.TCP, Addr: lo},
	}})
	if err != nil {
		t.Fatal(err)
	}
	u.m, u.l = m, l
	t.Cleanup(func() { m.Close(); l.Close() })
	return u
}

func (u *testUAS) handle(tx *transaction.ServerTx, req *sip.Message) {
	if c := u.byMeth[req.Method]; c != nil {
		c.Add(1)
	}
	switch req.Method {
	case "OPTIONS":
		r := tx.NewResponse(200, "")
		r.AddHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE")
		r.AddHeader("Accept", "application/sdp, text/plain")
		tx.Respond(r)
	case "MESSAGE", "BYE":
		tx.Respond(tx.NewResponse(200, ""))
	case "INVITE":
		tx.Respond(tx.NewResponse(180, ""))
		r := tx.NewResponse(200, "")
		f := tx.Flow()
		r.AddHeader("Contact", fmt.Sprintf("<sip:uas@%s;transport=%s>", f.Local(), strings.ToLower(f.Transport().String())))
		tx.Respond(r)
	default:
		tx.Respond(tx.NewResponse(405, ""))
	}
}

func (u *testUAS) addr(tr transport.Transport) netip.AddrPort {
	for _, li := range u.l.Listeners() {
		if li.Transport == tr {
			return li.Addr
		}
	}
	return netip.AddrPort{}
}

// sippStats reads the last line of a SIPp -trace_stat CSV file.
func sippStats(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = ';'
	r.FieldsPerRecord = -1
	var header, last []string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if header == nil {
			header = rec
			continue
		}
		last = rec
	}
	out := map[string]string{}
	for i, h := range header {
		if i < len(last) {
			out[h] = last[i]
		}
	}
	return out
}

// TestSIPp drives the test UAS with SIPp over UDP and TCP: OPTIONS,
// MESSAGE and INVITE/ACK/BYE flows; every call must succeed.
func TestSIPp(t *testing.T) {
	sipp := testenv.LookPath(t, "sipp")
	scen := filepath.Join(testenv.RepoRoot(t), "scripts", "sipp", "transaction")
	const calls = 100
	u := startUAS(t)
	cases := []struct {
		scenario string
		tr       transport.Transport
		method   string
	}{
		{"options-uac.xml", transport.UDP, "OPTIONS"},
		{"options-uac.xml", transport.TCP, "OPTIONS"},
		{"message-uac.xml", transport.UDP, "MESSAGE"},
		{"message-uac.xml", transport.TCP, "MESSAGE"},
		{"invite-uac.xml", transport.UDP, "INVITE"},
		{"invite-uac.xml", transport.TCP, "INVITE"},
	}
	for _, c := range cases {
		t.Run(strings.TrimSuffix(c.scenario, "-uac.xml")+"-"+c.tr.String(), func(t *testing.T) {
			before := u.byMeth[c.method].Load()
			dir := t.TempDir()
			stf := filepath.Join(dir, "stats.csv")
			mode := "u1"
			if c.tr == transport.TCP {
				mode = "t1"
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, sipp, u.addr(c.tr).String(),
				"-sf", filepath.Join(scen, c.scenario),
				"-t", mode, "-i", "127.0.0.1", "-p", "0",
				"-m", strconv.Itoa(calls), "-r", "200", "-l", "20",
				"-timeout", "30s", "-timeout_error",
				"-trace_stat", "-stf", stf, "-fd", "1",
				"-nostdin", "-trace_err", "-error_file", filepath.Join(dir, "errors.log"))
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				errs, _ := os.ReadFile(filepath.Join(dir, "errors.log"))
				t.Fatalf("sipp: %v\n%s\nerrors:\n%s", err, tail(out, 3000), tail(errs, 3000))
			}
			st := sippStats(t, stf)
			if st["SuccessfulCall(C)"] != strconv.Itoa(calls) || st["FailedCall(C)"] != "0" {
				t.Fatalf("sipp stats: successful %s, failed %s", st["SuccessfulCall(C)"], st["FailedCall(C)"])
			}
			if got := u.byMeth[c.method].Load() - before; got != calls {
				t.Fatalf("UAS saw %d new %s transactions, want %d", got, c.method, calls)
			}
			t.Logf("%s over %s: %s calls, %s failed", c.method, c.tr, st["SuccessfulCall(C)"], st["FailedCall(C)"])
		})
	}
	if n := u.acks.Load(); n != 2*calls {
		t.Fatalf("UAS saw %d ACKs for 2xx, want %d", n, 2*calls)
	}
	if n := u.servErr.Load(); n != 0 {
		t.Fatalf("%d server transaction errors", n)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

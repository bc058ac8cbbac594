package transport

import (
	"net/netip"
	"testing"
)

// AppendSentBy writes exactly what SentBy returns, for every kind of
// listener address (RFC 3261 §18.1.1 sent-by).
func TestAppendSentBy(t *testing.T) {
	v4 := netip.MustParseAddrPort("192.0.2.1:5060")
	v6 := netip.MustParseAddrPort("[2001:db8::1]:5061")
	unspec := netip.MustParseAddrPort("0.0.0.0:5060")
	adv := PseudoFlow(UDP, "x", v4, v6)
	adv.lis.cfg.Advertise = "sbc.example.net:5060"
	for _, c := range []struct {
		f    Flow
		want string
	}{
		{PseudoFlow(UDP, "x", v4, v6), "192.0.2.1:5060"},
		{PseudoFlow(TLS, "x", v6, v4), "[2001:db8::1]:5061"},
		{PseudoFlow(UDP, "x", unspec, v4), ""},
		{adv, "sbc.example.net:5060"},
		{Flow{}, ""},
	} {
		if got, sb := string(c.f.AppendSentBy([]byte("x"))), c.f.SentBy(); got != "x"+c.want || sb != c.want {
			t.Errorf("AppendSentBy %q, SentBy %q, want %q", got, sb, c.want)
		}
	}
}

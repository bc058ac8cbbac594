package sip

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sbc-project/sbc/internal/testenv"
	"github.com/sbc-project/sbc/sip/siptest"
)

func mustParse(t *testing.T, s string) *Message {
	t.Helper()
	m, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

func TestTypedAccessorsTypicalInvite(t *testing.T) {
	m := mustParse(t, siptest.TypicalInvite)
	ru, err := m.ParsedRequestURI()
	if err != nil || ru.User != "+4930123456" || ru.Host != "sbc.example.net" {
		t.Errorf("ParsedRequestURI = %+v, %v", ru, err)
	}
	v, err := m.TopVia()
	if rp, ok := v.RPort(); err != nil || v.Host != "198.51.100.7" || v.Port != 5060 || v.Branch() != "z9hG4bK776asdhds" || !ok || rp != 0 {
		t.Errorf("TopVia = %+v, %v", v, err)
	}
	if vias, err := m.Via(); err != nil || len(vias) != 1 {
		t.Errorf("Via = %+v, %v", vias, err)
	}
	if f, err := m.From(); err != nil || f.DisplayName() != "Alice" || f.Tag() != "1928301774" || f.URI.User != "+4989987654" {
		t.Errorf("From = %+v, %v", f, err)
	}
	if to, err := m.To(); err != nil || to.Tag() != "" || to.URI.Host != "sbc.example.net" {
		t.Errorf("To = %+v, %v", to, err)
	}
	if id, err := m.CallID(); err != nil || id != "a84b4c76e66710@pc33.carrier.example.com" {
		t.Errorf("CallID = %q, %v", id, err)
	}
	if cs, err := m.CSeq(); err != nil || cs != (CSeq{314159, "INVITE"}) {
		t.Errorf("CSeq = %+v, %v", cs, err)
	}
	if mf, err := m.MaxForwards(); err != nil || mf != 70 {
		t.Errorf("MaxForwards = %d, %v", mf, err)
	}
	if cl, err := m.ContentLength(); err != nil || cl != 238 {
		t.Errorf("ContentLength = %d, %v", cl, err)
	}
	if ct, err := m.ContentType(); err != nil || !ct.Is("application", "sdp") {
		t.Errorf("ContentType = %+v, %v", ct, err)
	}
	if c, err := m.Contacts(); err != nil || len(c) != 1 || c[0].URI.Port != 5060 {
		t.Errorf("Contacts = %+v, %v", c, err)
	}
	if a, err := m.Allow(); err != nil || len(a) != 10 || a[0] != "INVITE" || a[9] != "NOTIFY" {
		t.Errorf("Allow = %q, %v", a, err)
	}
	if s, err := m.Supported(); err != nil || !slices.Equal(s, []string{"100rel", "timer", "replaces"}) {
		t.Errorf("Supported = %q, %v", s, err)
	}
	if r, err := m.Require(); err != nil || r != nil {
		t.Errorf("Require = %q, %v", r, err)
	}
	if se, err := m.SessionExpires(); err != nil || se.Delta != 1800 || se.Refresher() != "uac" {
		t.Errorf("SessionExpires = %+v, %v", se, err)
	}
	if p, err := m.PAssertedIdentity(); err != nil || len(p) != 1 || p[0].URI.User != "+4989987654" {
		t.Errorf("PAssertedIdentity = %+v, %v", p, err)
	}
	if ua, err := m.UserAgent(); err != nil || ua != "CarrierGW/4.2" {
		t.Errorf("UserAgent = %q, %v", ua, err)
	}
	if _, err := m.Expires(); !errors.Is(err, ErrMissingHeader) {
		t.Errorf("Expires on a message without it = %v", err)
	}
	if _, err := m.Server(); !errors.Is(err, ErrMissingHeader) {
		t.Errorf("Server = %v", err)
	}

	ok := mustParse(t, siptest.OKResponse)
	v, err = ok.TopVia()
	if rp, _ := v.RPort(); err != nil || rp != 5060 || v.Received() != "198.51.100.7" {
		t.Errorf("response TopVia = %+v, %v", v, err)
	}
	if rr, err := ok.RecordRoutes(); err != nil || len(rr) != 1 || !rr[0].URI.Params.Has("lr") {
		t.Errorf("RecordRoutes = %+v, %v", rr, err)
	}
	if to, err := ok.To(); err != nil || to.Tag() != "a6c85cf" {
		t.Errorf("response To = %+v, %v", to, err)
	}
}

func TestTypedAccessorsExtensions(t *testing.T) {
	m := mustParse(t, "NOTIFY sip:alice@192.0.2.10 SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKa, SIP/2.0/TCP p2.example.com;branch=z9hG4bKb\r\n"+
		"v: SIP/2.0/UDP p3.example.com;branch=z9hG4bKc\r\n"+
		"Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"+
		"Route: <sip:p3.example.com;lr>\r\n"+
		"To: <sip:alice@example.com>;tag=1\r\n"+
		"f: Bob <sip:bob@example.com>;tag=2\r\n"+
		"i: n1@example.com\r\n"+
		"CSeq: 7 NOTIFY\r\n"+
		"o: refer;id=93809824\r\n"+
		"Subscription-State: terminated;reason=noresource\r\n"+
		"Refer-To: <sip:carol@example.com?Replaces=abc%40h%3Bto-tag%3D1%3Bfrom-tag%3D2>\r\n"+
		"b: <sip:bob@example.com>\r\n"+
		"Reason: SIP;cause=200;text=\"done\", Q.850;cause=16\r\n"+
		"Privacy: id;header\r\n"+
		"Proxy-Require: foo\r\n"+
		"Require: 100rel\r\n"+
		"Require: timer\r\n"+
		"Unsupported: bar\r\n"+
		"RSeq: 5\r\n"+
		"RAck: 5 7 INVITE\r\n"+
		"Min-SE: 90\r\n"+
		"Replaces: x@y;to-tag=a;from-tag=b\r\n"+
		"Diversion: <tel:+15551234567>;reason=user-busy;counter=1\r\n"+
		"History-Info: <sip:a@example.com>;index=1, <sip:b@example.com>;index=1.1\r\n"+
		"P-Preferred-Identity: <sip:bob@example.com>\r\n"+
		"Path: <sip:pcscf.example.com;lr>\r\n"+
		"Service-Route: <sip:orig@scscf.example.com;lr>\r\n"+
		"Identity: abc.def.ghi;info=<https://cert.example.org/c.cer>;alg=ES256\r\n"+
		"Authorization: Digest username=\"bob\", realm=\"example.com\", nonce=\"n\", uri=\"sip:a@b\", response=\"r\"\r\n"+
		"Authorization: NoOneKnowsThisScheme opaque-data=here\r\n"+
		"Proxy-Authorization: Digest username=\"bob\", realm=\"p\"\r\n"+
		"Server: Test/1.0\r\n"+
		"Expires: 60\r\n"+
		"Contact: *\r\n"+
		"Max-Forwards: 70\r\n"+
		"Content-Length: 0\r\n\r\n")
	vias, err := m.Via()
	if err != nil || len(vias) != 3 || vias[0].Host != "[2001:db8::9:1]" || vias[2].Host != "p3.example.com" {
		t.Errorf("Via = %+v, %v", vias, err)
	}
	if r, err := m.Routes(); err != nil || len(r) != 3 || r[2].URI.Host != "p3.example.com" {
		t.Errorf("Routes = %+v, %v", r, err)
	}
	if f, err := m.From(); err != nil || f.Tag() != "2" {
		t.Errorf("From (compact) = %+v, %v", f, err)
	}
	if e, err := m.Event(); err != nil || e.Type != "refer" || e.ID() != "93809824" {
		t.Errorf("Event = %+v, %v", e, err)
	}
	if ss, err := m.SubscriptionState(); err != nil || ss.State != "terminated" || ss.Reason() != "noresource" {
		t.Errorf("SubscriptionState = %+v, %v", ss, err)
	}
	rt, err := m.ReferTo()
	if err != nil {
		t.Fatal(err)
	}
	if r, ok, err := ReplacesFromURI(rt.URI); err != nil || !ok || r.CallID != "abc@h" || r.ToTag() != "1" {
		t.Errorf("Refer-To Replaces = %+v %v %v", r, ok, err)
	}
	if rb, err := m.ReferredBy(); err != nil || rb.URI.User != "bob" {
		t.Errorf("ReferredBy = %+v, %v", rb, err)
	}
	if rs, err := m.Reasons(); err != nil || len(rs) != 2 || rs[0].Text() != "done" || rs[1].Protocol != "Q.850" {
		t.Errorf("Reasons = %+v, %v", rs, err)
	}
	if p, err := m.Privacy(); err != nil || !slices.Equal(p, []string{"id", "header"}) {
		t.Errorf("Privacy = %q, %v", p, err)
	}
	if r, err := m.Require(); err != nil || !slices.Equal(r, []string{"100rel", "timer"}) {
		t.Errorf("Require over two lines = %q, %v", r, err)
	}
	if r, err := m.ProxyRequire(); err != nil || !slices.Equal(r, []string{"foo"}) {
		t.Errorf("ProxyRequire = %q, %v", r, err)
	}
	if r, err := m.Unsupported(); err != nil || !slices.Equal(r, []string{"bar"}) {
		t.Errorf("Unsupported = %q, %v", r, err)
	}
	if n, err := m.RSeq(); err != nil || n != 5 {
		t.Errorf("RSeq = %d, %v", n, err)
	}
	if r, err := m.RAck(); err != nil || r != (RAck{5, 7, "INVITE"}) {
		t.Errorf("RAck = %+v, %v", r, err)
	}
	if n, err := m.MinSE(); err != nil || n != 90 {
		t.Errorf("MinSE = %d, %v", n, err)
	}
	if r, err := m.Replaces(); err != nil || r.FromTag() != "b" {
		t.Errorf("Replaces = %+v, %v", r, err)
	}
	if d, err := m.Diversions(); err != nil || len(d) != 1 || d[0].Reason() != "user-busy" {
		t.Errorf("Diversions = %+v, %v", d, err)
	}
	if h, err := m.HistoryInfo(); err != nil || len(h) != 2 || h[1].Index() != "1.1" {
		t.Errorf("HistoryInfo = %+v, %v", h, err)
	}
	if p, err := m.Path(); err != nil || len(p) != 1 || p[0].URI.Host != "pcscf.example.com" {
		t.Errorf("Path = %+v, %v", p, err)
	}
	if p, err := m.ServiceRoute(); err != nil || len(p) != 1 || p[0].URI.User != "orig" {
		t.Errorf("ServiceRoute = %+v, %v", p, err)
	}
	if p, err := m.PPreferredIdentity(); err != nil || len(p) != 1 {
		t.Errorf("PPreferredIdentity = %+v, %v", p, err)
	}
	if id, err := m.Identity(); err != nil || len(id) != 1 || id[0].Alg() != "ES256" {
		t.Errorf("Identity = %+v, %v", id, err)
	}
	if a, err := m.Authorization(); err != nil || len(a) != 2 || a[0].Username() != "bob" || a[1].Scheme != "NoOneKnowsThisScheme" {
		t.Errorf("Authorization = %+v, %v", a, err)
	}
	if a, err := m.ProxyAuthorization(); err != nil || len(a) != 1 || a[0].Realm() != "p" {
		t.Errorf("ProxyAuthorization = %+v, %v", a, err)
	}
	if a, err := m.WWWAuthenticate(); err != nil || a != nil {
		t.Errorf("WWWAuthenticate = %+v, %v", a, err)
	}
	if a, err := m.ProxyAuthenticate(); err != nil || a != nil {
		t.Errorf("ProxyAuthenticate = %+v, %v", a, err)
	}
	if s, err := m.Server(); err != nil || s != "Test/1.0" {
		t.Errorf("Server = %q, %v", s, err)
	}
	if e, err := m.Expires(); err != nil || e != 60 {
		t.Errorf("Expires = %d, %v", e, err)
	}
	if c, err := m.Contacts(); err != nil || len(c) != 1 || !c[0].Star {
		t.Errorf("Contacts = %+v, %v", c, err)
	}
}

func TestTypedAccessorsErrors(t *testing.T) {
	m := mustParse(t, "INVITE sip:user@company.com SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKkdjuw, bad via\r\n"+
		"To: sip:user@example.com\r\n"+
		"To: sip:other@example.net\r\n"+
		"From: \"unterminated <sip:a@b>\r\n"+
		"CSeq: 36893488147419103232 INVITE\r\n"+
		"Contact: <sip:a@b>, <sip:c@d\r\n"+
		"Content-Length: 0\r\n\r\n")
	// Two To lines (multi01): the accessor reads the first; Validate
	// rejects the message.
	if to, err := m.To(); err != nil || to.URI.User != "user" {
		t.Errorf("first of two To lines = %+v, %v", to, err)
	}
	if _, err := m.From(); !errors.Is(err, ErrUnbalanced) {
		t.Errorf("From quotbal = %v", err)
	}
	if _, err := m.CSeq(); !errors.Is(err, ErrOverflow) {
		t.Errorf("CSeq overflow = %v", err)
	}
	if _, err := m.Via(); !errors.Is(err, ErrBadValue) {
		t.Errorf("Via with a bad element = %v", err)
	}
	if v, err := m.TopVia(); err != nil || v.Host != "192.0.2.25" {
		t.Errorf("TopVia parses only the first element: %+v, %v", v, err)
	}
	if _, err := m.Contacts(); !errors.Is(err, ErrUnbalanced) {
		t.Errorf("Contacts unbalanced = %v", err)
	}
	for name, f := range map[string]func() error{
		"CallID":      func() error { _, err := m.CallID(); return err },
		"MaxForwards": func() error { _, err := m.MaxForwards(); return err },
		"ContentType": func() error { _, err := m.ContentType(); return err },
		"Event":       func() error { _, err := m.Event(); return err },
		"ReferTo":     func() error { _, err := m.ReferTo(); return err },
	} {
		if err := f(); !errors.Is(err, ErrMissingHeader) {
			t.Errorf("%s on a message without it = %v", name, err)
		}
	}
	empty := mustParse(t, "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n")
	if _, err := empty.TopVia(); !errors.Is(err, ErrMissingHeader) {
		t.Errorf("TopVia without Via = %v", err)
	}
	if v, err := empty.Via(); err != nil || v != nil {
		t.Errorf("Via without Via = %v, %v", v, err)
	}
}

// TestTypedRFC4475 reads torture messages of the shared corpus through the
// typed accessors and checks the values RFC 4475 names.
// TestTypedAllocs pins the cost of the single-valued accessors: a parse of
// a view of the message, no allocation.
func TestTypedAllocs(t *testing.T) {
	m := mustParse(t, siptest.TypicalInvite)
	for name, f := range map[string]func(){
		"TopVia": func() { _, _ = m.TopVia() },
		"From":   func() { _, _ = m.From() },
		"To":     func() { _, _ = m.To() },
		"CallID": func() { _, _ = m.CallID() },
		"CSeq":   func() { _, _ = m.CSeq() },
		"MaxFwd": func() { _, _ = m.MaxForwards() },
		"CType":  func() { _, _ = m.ContentType() },
	} {
		if n := testing.AllocsPerRun(50, f); n != 0 {
			t.Errorf("%s allocates %v times", name, n)
		}
	}
}

func TestTypedRFC4475(t *testing.T) {
	dir := filepath.Join(testenv.SharedDir(t), "rfc4475")
	load := func(name string) *Message {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name+".sip"))
		if err != nil {
			t.Fatal(err)
		}
		m, err := Parse(b)
		if err != nil {
			t.Fatalf("%s: Parse: %v", name, err)
		}
		return m
	}
	// §3.1.1.1 wsinv: folding, LWS everywhere, compact forms.
	m := load("wsinv")
	if to, err := m.To(); err != nil || to.Tag() != "1918181833n" || to.URI.User != "vivekg" {
		t.Errorf("wsinv To = %+v, %v", to, err)
	}
	if f, err := m.From(); err != nil || f.DisplayName() != `J Rosenberg \"` || f.Tag() != "98asjd8" {
		t.Errorf("wsinv From = %q %+v, %v", f.DisplayName(), f, err)
	}
	if mf, err := m.MaxForwards(); err != nil || mf != 68 {
		t.Errorf("wsinv Max-Forwards = %d, %v", mf, err)
	}
	if cs, err := m.CSeq(); err != nil || cs != (CSeq{9, "INVITE"}) {
		t.Errorf("wsinv CSeq = %+v, %v", cs, err)
	}
	vias, err := m.Via()
	if err != nil || len(vias) != 3 || vias[1].Branch() != "z9hG4bK9ikj8" || vias[2].Host != "192.168.255.111" || vias[2].Branch() != "z9hG4bK30239" {
		t.Errorf("wsinv Via = %+v, %v", vias, err)
	}
	if c, err := m.Contacts(); err != nil || len(c) != 1 || c[0].DisplayName() != `Quoted string ""` || !c[0].Params.Has("secondparam") {
		t.Errorf("wsinv Contact = %+v, %v", c, err)
	} else if q, _ := c[0].Q(); q != 330 {
		t.Errorf("wsinv q = %d", q)
	}
	if r, err := m.Routes(); err != nil || len(r) != 1 || !r[0].URI.Params.Has("unknown-no-value") {
		t.Errorf("wsinv Route = %+v, %v", r, err)
	}
	// §3.1.1.3 esc01.
	m = load("esc01")
	ru, err := m.ParsedRequestURI()
	if err != nil || ru.UserUnescaped() != "sips:user@example.com" || ru.Host != "example.net" {
		t.Errorf("esc01 R-URI = %+v, %v", ru, err)
	}
	if to, err := m.To(); err != nil || !to.URI.Equal(mustURI(t, "sip:user@example.com")) {
		t.Errorf("esc01 To = %+v, %v", to, err)
	}
	// §3.1.1.4 escnull: two distinct contacts.
	m = load("escnull")
	c, err := m.Contacts()
	if err != nil || len(c) != 2 || c[0].URI.UserUnescaped() != "\x00" || c[1].URI.UserUnescaped() != "\x00\x00" || c[0].URI.Equal(c[1].URI) {
		t.Errorf("escnull contacts = %+v, %v", c, err)
	}
	// §3.1.1.9 semiuri.
	m = load("semiuri")
	if ru, err := m.ParsedRequestURI(); err != nil || ru.UserUnescaped() != "user;par=u@example.net" || ru.Host != "example.com" || ru.Params.Len() != 0 {
		t.Errorf("semiuri R-URI = %+v, %v", ru, err)
	}
	// §3.1.1.10 transports.
	m = load("transports")
	if v, err := m.Via(); err != nil || len(v) != 5 || v[3].Transport != "UNKNOWN" {
		t.Errorf("transports Via = %+v, %v", v, err)
	}
	// §3.1.2.6 quotbal, §3.1.2.13 regbadct, §3.1.2.7 ltgtruri, §3.1.2.8 lwsruri.
	if _, err := load("quotbal").To(); !errors.Is(err, ErrUnbalanced) {
		t.Errorf("quotbal To = %v", err)
	}
	if _, err := load("regbadct").Contacts(); !errors.Is(err, ErrBadValue) {
		t.Errorf("regbadct Contact = %v", err)
	}
	if _, err := load("scalar02").CSeq(); !errors.Is(err, ErrOverflow) {
		t.Errorf("scalar02 CSeq = %v", err)
	}
	// §3.3.12 cparam01 / §3.3.13 cparam02: header param vs URI param.
	if c, err := load("cparam01").Contacts(); err != nil || !c[0].Params.Has("unknownparam") || c[0].URI.Params.Has("unknownparam") {
		t.Errorf("cparam01 = %+v, %v", c, err)
	}
	if c, err := load("cparam02").Contacts(); err != nil || c[0].Params.Has("unknownparam") || !c[0].URI.Params.Has("unknownparam") {
		t.Errorf("cparam02 = %+v, %v", c, err)
	}
	// §3.3.14 regescrt: the escaped Route stays in the contact URI.
	if c, err := load("regescrt").Contacts(); err != nil {
		t.Errorf("regescrt = %v", err)
	} else if r, ok := c[0].URI.Headers.Get("Route"); !ok || r != "%3Csip:sip.example.com%3E" {
		t.Errorf("regescrt Route = %q %v", r, ok)
	}
	// §3.3.7 regaut01.
	if a, err := load("regaut01").Authorization(); err != nil || len(a) != 1 || a[0].Scheme != "NoOneKnowsThisScheme" {
		t.Errorf("regaut01 = %+v, %v", a, err)
	}
	// §3.3.4 unksm2: unknown schemes in To/From/Contact parse as opaque.
	m = load("unksm2")
	if to, err := m.To(); err != nil || to.URI.Scheme != "isbn" || to.URI.Opaque != "2983792873" {
		t.Errorf("unksm2 To = %+v, %v", to, err)
	}
	// §3.1.1.6 lwsdisp.
	if f, err := load("lwsdisp").From(); err != nil || f.DisplayName() != "caller" || f.Tag() != "323" {
		t.Errorf("lwsdisp From = %+v, %v", f, err)
	}
}

// TestTypedRFC4475Valid reads every header of every RFC 4475 §3.1.1
// "valid" message through the typed accessors: none may fail.
func TestTypedRFC4475Valid(t *testing.T) {
	dir := filepath.Join(testenv.SharedDir(t), "rfc4475")
	for _, name := range []string{"wsinv", "intmeth", "esc01", "escnull", "esc02", "lwsdisp", "longreq", "dblreq", "semiuri", "transports", "mpart01", "unreason", "noreason"} {
		b, err := os.ReadFile(filepath.Join(dir, name+".sip"))
		if err != nil {
			t.Fatal(err)
		}
		m, err := Parse(b)
		if err != nil {
			t.Errorf("%s: Parse: %v", name, err)
			continue
		}
		checks := map[string]func() error{
			"Via":          func() error { _, err := m.Via(); return err },
			"From":         func() error { _, err := m.From(); return err },
			"To":           func() error { _, err := m.To(); return err },
			"Call-ID":      func() error { _, err := m.CallID(); return err },
			"CSeq":         func() error { _, err := m.CSeq(); return err },
			"Contact":      func() error { _, err := m.Contacts(); return err },
			"Route":        func() error { _, err := m.Routes(); return err },
			"Record-Route": func() error { _, err := m.RecordRoutes(); return err },
			"Require":      func() error { _, err := m.Require(); return err },
			"Supported":    func() error { _, err := m.Supported(); return err },
		}
		if m.IsRequest() {
			checks["Request-URI"] = func() error { _, err := m.ParsedRequestURI(); return err }
		}
		for hdr, f := range map[string]func() error{
			"Max-Forwards":   func() error { _, err := m.MaxForwards(); return err },
			"Content-Type":   func() error { _, err := m.ContentType(); return err },
			"Content-Length": func() error { _, err := m.ContentLength(); return err },
			"Expires":        func() error { _, err := m.Expires(); return err },
		} {
			if _, ok := m.GetHeader(hdr); ok {
				checks[hdr] = f
			}
		}
		for hdr, f := range checks {
			if err := f(); err != nil {
				t.Errorf("%s: %s: %v", name, hdr, err)
			}
		}
	}
}

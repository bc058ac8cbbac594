package sip

import (
	"errors"
	"testing"
)

// badRows checks that every input fails with the wanted sentinel.
func badRows[T any](t *testing.T, name string, parse func(string) (T, error), rows map[string]error) {
	t.Helper()
	for in, want := range rows {
		if v, err := parse(in); !errors.Is(err, want) {
			t.Errorf("%s(%q) = %+v, %v; want %v", name, in, v, err, want)
		}
	}
}

func TestParseRAck(t *testing.T) {
	for in, want := range map[string]RAck{
		"776656 1 INVITE":           {776656, 1, "INVITE"},
		"  1   4294967295  INVITE ": {1, 4294967295, "INVITE"},
	} {
		got, err := ParseRAck(in)
		if err != nil || got != want {
			t.Errorf("ParseRAck(%q) = %+v, %v", in, got, err)
		}
		roundTrip(t, in, got, ParseRAck)
	}
	badRows(t, "ParseRAck", ParseRAck, map[string]error{
		"":                    ErrBadValue,
		"1 INVITE":            ErrBadValue,
		"0 1 INVITE":          ErrBadValue,
		"1 1 INVITE extra":    ErrBadValue,
		"1 4294967296 INVITE": ErrOverflow,
		"2147483648 1 INVITE": ErrOverflow,
		"1 1 IN\"VITE":        ErrBadValue,
		"x 1 INVITE":          ErrBadValue,
	})
}

func TestParseSessionExpires(t *testing.T) {
	for _, c := range []struct {
		in        string
		delta     uint32
		refresher string
	}{
		{"4000;refresher=uac", 4000, "uac"},
		{"1800 ; refresher = UAS", 1800, "uas"},
		{"90", 90, ""},
		{"3600;x=y", 3600, ""},
	} {
		se, err := ParseSessionExpires(c.in)
		if err != nil || se.Delta != c.delta || se.Refresher() != c.refresher {
			t.Errorf("ParseSessionExpires(%q) = %+v (%q), %v", c.in, se, se.Refresher(), err)
			continue
		}
		roundTrip(t, c.in, se, ParseSessionExpires)
	}
	badRows(t, "ParseSessionExpires", ParseSessionExpires, map[string]error{
		"":                    ErrBadValue,
		"abc":                 ErrBadValue,
		"4000;refresher=both": ErrBadValue,
		"4000;refresher":      ErrBadValue,
		"99999999999":         ErrOverflow,
		"4000 refresher=uac":  ErrBadValue,
	})
	d, p, err := ParseMinSE("90;x")
	if err != nil || d != 90 || !p.Has("x") {
		t.Errorf("ParseMinSE = %d %q %v", d, p, err)
	}
	if _, _, err := ParseMinSE("-5"); !errors.Is(err, ErrBadValue) {
		t.Errorf("ParseMinSE(-5) = %v", err)
	}
}

func TestParseReplaces(t *testing.T) {
	r, err := ParseReplaces("425928@bobster.example.org;to-tag=7743;from-tag=6472")
	if err != nil || r.CallID != "425928@bobster.example.org" || r.ToTag() != "7743" || r.FromTag() != "6472" || r.EarlyOnly() {
		t.Fatalf("ParseReplaces = %+v, %v", r, err)
	}
	roundTrip(t, "replaces", r, ParseReplaces)
	r, err = ParseReplaces("12345600@atlanta.example.com ; from-tag = 1234567 ; to-tag=12345678;early-only")
	if err != nil || r.ToTag() != "12345678" || r.FromTag() != "1234567" || !r.EarlyOnly() {
		t.Fatalf("ParseReplaces(early-only) = %+v, %v", r, err)
	}
	badRows(t, "ParseReplaces", ParseReplaces, map[string]error{
		"":                                       ErrBadValue,
		"abc;to-tag=1":                           ErrBadValue,
		"abc;from-tag=1":                         ErrBadValue,
		"abc;to-tag=1;from-tag=2;to-tag=3":       ErrBadValue,
		"a b;to-tag=1;from-tag=2":                ErrBadValue,
		"abc;to-tag=1;from-tag=2;early-only=yes": ErrBadValue,
	})
	// RFC 3891 §7 / RFC 3515: Replaces embedded (escaped) in a Refer-To URI.
	n, err := ParseNameAddr("<sip:bob@biloxi.example.com?Replaces=12345%40192.168.118.3%3Bto-tag%3D12345%3Bfrom-tag%3D5FFE-3994>")
	if err != nil {
		t.Fatal(err)
	}
	r, ok, err := ReplacesFromURI(n.URI)
	if err != nil || !ok || r.CallID != "12345@192.168.118.3" || r.ToTag() != "12345" || r.FromTag() != "5FFE-3994" {
		t.Errorf("ReplacesFromURI = %+v %v %v", r, ok, err)
	}
	if _, ok, err := ReplacesFromURI(URI{Scheme: "sip", Host: "h"}); ok || err != nil {
		t.Errorf("ReplacesFromURI(none) = %v %v", ok, err)
	}
	u, _ := ParseURI("sip:b@h?Replaces=abc")
	if _, ok, err := ReplacesFromURI(u); !ok || !errors.Is(err, ErrBadValue) {
		t.Errorf("ReplacesFromURI(bad) = %v %v", ok, err)
	}
}

func TestParseEvent(t *testing.T) {
	for _, c := range []struct{ in, typ, pkg, id string }{
		{"refer", "refer", "refer", ""},
		{"refer;id=93809824", "refer", "refer", "93809824"},
		{"presence.winfo", "presence.winfo", "presence", ""},
		{`dialog ; id = 1 ; call-id="x@y"`, "dialog", "dialog", "1"},
	} {
		e, err := ParseEvent(c.in)
		if err != nil || e.Type != c.typ || e.Package() != c.pkg || e.ID() != c.id {
			t.Errorf("ParseEvent(%q) = %+v, %v", c.in, e, err)
			continue
		}
		roundTrip(t, c.in, e, ParseEvent)
	}
	badRows(t, "ParseEvent", ParseEvent, map[string]error{
		"":               ErrBadValue,
		".refer":         ErrBadValue,
		"refer.":         ErrBadValue,
		"a..b":           ErrBadValue,
		"refer;id=\"x\"": ErrBadValue,
		"refer dialog":   ErrBadValue,
	})
}

func TestParseSubscriptionState(t *testing.T) {
	for _, c := range []struct {
		in, state, reason string
		exp, retry        uint32
		hasExp, hasRetry  bool
	}{
		{"active;expires=3600", "active", "", 3600, 0, true, false},
		{"pending", "pending", "", 0, 0, false, false},
		{"terminated;reason=noresource", "terminated", "noresource", 0, 0, false, false},
		{"terminated;reason=probation;retry-after=30", "terminated", "probation", 0, 30, false, true},
	} {
		ss, err := ParseSubscriptionState(c.in)
		exp, hasExp := ss.Expires()
		retry, hasRetry := ss.RetryAfter()
		if err != nil || ss.State != c.state || ss.Reason() != c.reason || exp != c.exp || hasExp != c.hasExp || retry != c.retry || hasRetry != c.hasRetry {
			t.Errorf("ParseSubscriptionState(%q) = %+v, %v", c.in, ss, err)
			continue
		}
		roundTrip(t, c.in, ss, ParseSubscriptionState)
	}
	badRows(t, "ParseSubscriptionState", ParseSubscriptionState, map[string]error{
		"":                           ErrBadValue,
		";expires=1":                 ErrBadValue,
		"active;expires=soon":        ErrBadValue,
		"active;expires=99999999999": ErrOverflow,
		"active;retry-after=-1":      ErrBadValue,
	})
}

func TestParseReason(t *testing.T) {
	for _, c := range []struct {
		in, proto, text string
		cause           int
		hasCause        bool
	}{
		{`SIP ;cause=200 ;text="Call completed elsewhere"`, "SIP", "Call completed elsewhere", 200, true},
		{"Q.850;cause=16;text=\"Terminated\"", "Q.850", "Terminated", 16, true},
		{"preemption;cause=1;text=\"UA Preemption\"", "preemption", "UA Preemption", 1, true},
		{"SIP", "SIP", "", 0, false},
		{`SIP;text="say \"hi\""`, "SIP", `say "hi"`, 0, false},
	} {
		r, err := ParseReason(c.in)
		cause, has := r.Cause()
		if err != nil || r.Protocol != c.proto || r.Text() != c.text || cause != c.cause || has != c.hasCause {
			t.Errorf("ParseReason(%q) = %+v, %v", c.in, r, err)
			continue
		}
		roundTrip(t, c.in, r, ParseReason)
	}
	badRows(t, "ParseReason", ParseReason, map[string]error{
		"":                      ErrBadValue,
		"SIP;cause=abc":         ErrBadValue,
		"SIP;text=unquoted":     ErrBadValue,
		"SIP;text=\"open":       ErrUnbalanced,
		"SIP;cause=99999999999": ErrOverflow,
	})
}

func TestParseAuth(t *testing.T) {
	a, err := ParseAuth(`Digest username="bob", realm="biloxi.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="sip:bob@biloxi.com", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"`)
	if err != nil {
		t.Fatal(err)
	}
	if !a.IsDigest() || a.Username() != "bob" || a.Realm() != "biloxi.com" || a.Nonce() != "dcd98b7102dd2f0e8b11d0f600bfb0c093" {
		t.Errorf("digest credentials = %+v", a)
	}
	if v, ok := a.Param("QOP"); !ok || v != "auth" {
		t.Errorf("qop = %q %v", v, ok)
	}
	if v, _ := a.Param("uri"); v != "sip:bob@biloxi.com" {
		t.Errorf("uri = %q", v)
	}
	roundTrip(t, "digest", a, ParseAuth)

	// RFC 7616 challenge with folded LWS and a quoted qop list.
	c, err := ParseAuth("Digest realm=\"http-auth@example.org\" ,\r\n qop=\"auth, auth-int\", algorithm=SHA-256,  nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", stale=FALSE")
	if err != nil {
		t.Fatal(err)
	}
	if c.Algorithm() != "SHA-256" || c.Realm() != "http-auth@example.org" {
		t.Errorf("challenge = %+v", c)
	}
	if q, _ := c.Param("qop"); q != "auth, auth-int" {
		t.Errorf("qop = %q", q)
	}
	if s := c.String(); s != `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", stale=FALSE` {
		t.Errorf("canonical = %s", s)
	}
	// RFC 4475 §3.3.7 regaut01: unknown scheme kept.
	u, err := ParseAuth("NoOneKnowsThisScheme opaque-data=here")
	if err != nil || u.Scheme != "NoOneKnowsThisScheme" || u.IsDigest() {
		t.Fatalf("regaut01 = %+v, %v", u, err)
	}
	if v, _ := u.Param("opaque-data"); v != "here" || u.String() != "NoOneKnowsThisScheme opaque-data=here" {
		t.Errorf("regaut01 param = %q, %s", v, u)
	}
	b, err := ParseAuth("Bearer mF_9.B5f-4.1JqM")
	if err != nil || b.Token68 != "mF_9.B5f-4.1JqM" || b.String() != "Bearer mF_9.B5f-4.1JqM" {
		t.Errorf("token68 = %+v, %v", b, err)
	}
	var built Auth
	built.Scheme = "Digest"
	built.SetParam("username", "alice", true)
	built.SetParam("algorithm", "MD5", false)
	built.SetParam("username", `al"ice`, true)
	if s := built.String(); s != `Digest username="al\"ice", algorithm=MD5` {
		t.Errorf("built = %s", s)
	}
	badRows(t, "ParseAuth", ParseAuth, map[string]error{
		"":                                       ErrBadValue,
		"Digest realm=\"x\",":                    ErrBadValue,
		"Digest realm=\"x\" nonce=1":             ErrBadValue,
		"Digest realm=\"x":                       ErrUnbalanced,
		"Digest =x":                              ErrBadValue,
		"Digest realm=,nonce=1":                  ErrBadValue,
		"Digest realm=x,,nonce=y":                ErrBadValue,
		"\"Digest\" realm=x":                     ErrBadValue,
		"Digest realm=\"a\", Digest realm=\"b\"": ErrBadValue,
	})
}

func TestParseContentType(t *testing.T) {
	for _, c := range []struct{ in, typ, sub, charset, canon string }{
		{"application/sdp", "application", "sdp", "", "application/sdp"},
		{"text/html; charset=ISO-8859-4", "text", "html", "ISO-8859-4", "text/html;charset=ISO-8859-4"},
		{`multipart/mixed;boundary="unique-boundary-1"`, "multipart", "mixed", "", `multipart/mixed;boundary="unique-boundary-1"`},
		{"Application / SDP", "Application", "SDP", "", "Application/SDP"},
	} {
		ct, err := ParseContentType(c.in)
		cs, _ := ct.Param("charset")
		if err != nil || ct.Type != c.typ || ct.Subtype != c.sub || cs != c.charset || ct.String() != c.canon {
			t.Errorf("ParseContentType(%q) = %+v %q, %v", c.in, ct, ct.String(), err)
			continue
		}
		roundTrip(t, c.in, ct, ParseContentType)
	}
	ct, _ := ParseContentType("Application/SDP")
	if !ct.Is("application", "sdp") || ct.Is("application", "isup") {
		t.Error("Is")
	}
	if b, _ := ParseContentType(`multipart/mixed;boundary="b1"`); func() string { v, _ := b.Param("boundary"); return v }() != "b1" {
		t.Error("boundary not unquoted")
	}
	badRows(t, "ParseContentType", ParseContentType, map[string]error{
		"":             ErrBadValue,
		"application":  ErrBadValue,
		"application/": ErrBadValue,
		"/sdp":         ErrBadValue,
		"a/b c":        ErrBadValue,
		"a/b;charset=": ErrBadValue,
		"a/b;x=\"open": ErrUnbalanced,
	})
}

func TestParseIdentity(t *testing.T) {
	const digest = "eyJhbGciOiJFUzI1NiIsInR5cCI6InBhc3Nwb3J0IiwicHB0Ijoic2hha2VuIiwieDV1IjoiaHR0cHM6Ly9jZXJ0LmV4YW1wbGUub3JnL3Bhc3Nwb3J0LmNlciJ9.eyJhdHRlc3QiOiJBIn0.nN8C8A-vDEKCZgXmBwjzjrdR7N1vqoONzrXTL9Z8tBnVfVvjJ2vyLvmJQlxROz3k7l9T2AqMv8DF9QFVfK5Mrw"
	id, err := ParseIdentity(digest + ";info=<https://cert.example.org/passport.cer;v=1>;alg=ES256;ppt=\"shaken\"")
	if err != nil {
		t.Fatal(err)
	}
	if id.Digest != digest || id.Info() != "https://cert.example.org/passport.cer;v=1" || id.Alg() != "ES256" || id.PPT() != "shaken" {
		t.Errorf("identity = %+v info %q", id, id.Info())
	}
	roundTrip(t, "identity", id, ParseIdentity)
	a, _ := ParseAuth("Digest realm=\"x\", nonce=\"y\"")
	roundTrip(t, "auth", a, ParseAuth)
	if id2, err := ParseIdentity(digest + " ; info = <https://x.example/c.cer>"); err != nil || id2.Info() != "https://x.example/c.cer" {
		t.Errorf("LWS identity = %+v %v", id2, err)
	}
	badRows(t, "ParseIdentity", ParseIdentity, map[string]error{
		"":                     ErrBadValue,
		";info=<https://x>":    ErrBadValue,
		"abc;info=https://x":   ErrBadValue,
		"abc;info=<https://x":  ErrUnbalanced,
		"abc;info=<not a uri>": ErrBadURI,
		"a b":                  ErrBadValue,
	})
}

func TestParseText(t *testing.T) {
	if v, err := ParseText("  Softphone Beta1.5 (comment; x)  "); err != nil || v != "Softphone Beta1.5 (comment; x)" {
		t.Errorf("ParseText = %q, %v", v, err)
	}
	if v, err := ParseText("Ünïcödé/1.0"); err != nil || v != "Ünïcödé/1.0" {
		t.Errorf("ParseText(utf8) = %q, %v", v, err)
	}
	for _, s := range []string{"a\x00b", "a\x1bb", "\xff\xfe"} {
		if _, err := ParseText(s); !errors.Is(err, ErrBadValue) {
			t.Errorf("ParseText(%q) = %v", s, err)
		}
	}
}

func TestParseHistoryInfoAndDiversion(t *testing.T) {
	h, err := ParseHistoryInfo("<sip:bob@example.com?Reason=SIP%3Bcause%3D302>;index=1.1.2")
	if err != nil || h.Index() != "1.1.2" || h.URI.Host != "example.com" {
		t.Errorf("ParseHistoryInfo = %+v, %v", h, err)
	}
	roundTrip(t, "history-info", h, ParseHistoryInfo)
	badRows(t, "ParseHistoryInfo", ParseHistoryInfo, map[string]error{
		"<sip:a@b>":            ErrBadValue,
		"sip:a@b;index=1":      ErrBadValue,
		"<sip:a@b>;index=1..2": ErrBadValue,
		"<sip:a@b>;index=a":    ErrBadValue,
	})
	d, err := ParseDiversion(`"Alice" <tel:+15551234567>;reason=user-busy;counter=2;privacy=off`)
	if err != nil || d.Reason() != "user-busy" || d.Counter() != 2 || d.URI.User != "+15551234567" {
		t.Errorf("ParseDiversion = %+v, %v", d, err)
	}
	roundTrip(t, "diversion", d, ParseDiversion)
	if d, _ := ParseDiversion("<sip:a@b>;reason=\"unconditional\""); d.Counter() != 1 || d.Reason() != "unconditional" {
		t.Errorf("defaults: %+v", d)
	}
	badRows(t, "ParseDiversion", ParseDiversion, map[string]error{
		"<sip:a@b>;counter=100": ErrBadValue,
		"<sip:a@b>;counter=x":   ErrBadValue,
		"<sip:a@b>;limit=":      ErrBadValue,
		"sip:a@b;counter=1":     ErrBadValue,
	})
}

func TestParseRoute(t *testing.T) {
	r, err := ParseRoute("<sip:p1.example.com;lr;ftag=x>;extra=1")
	if err != nil || !r.URI.LR() || !r.Params.Has("extra") {
		t.Errorf("ParseRoute = %+v, %v", r, err)
	}
	roundTrip(t, "route", r, ParseRoute)
	if r, err := ParseRoute(`"proxy" <sip:p1.example.com;lr>`); err != nil || r.DisplayName() != "proxy" {
		t.Errorf("ParseRoute(display) = %+v, %v", r, err)
	}
	badRows(t, "ParseRoute", ParseRoute, map[string]error{
		"sip:p1.example.com;lr": ErrBadValue, // ;lr would become a header param
		"<sip:p1.example.com":   ErrUnbalanced,
		"":                      ErrBadValue,
	})
}

package policy

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func loadFile(t testing.TB, name string) *Policy {
	t.Helper()
	p, err := Load([]string{name}, testInterfaces)
	if err != nil {
		t.Fatalf("%s", diagText(err))
	}
	return p
}

func loadText(t testing.TB, src string) *Policy {
	t.Helper()
	p, err := LoadSources([]Source{{Name: "test.hcl", Data: []byte(src)}}, testInterfaces)
	if err != nil {
		t.Fatalf("%s", diagText(err))
	}
	return p
}

func headers(kv ...string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		for i := 0; i+1 < len(kv); i += 2 {
			if strings.EqualFold(kv[i], name) {
				return kv[i+1], true
			}
		}
		return "", false
	}
}

func trunkNames(ts []*Trunk) []string {
	out := []string{}
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return out
}

func TestRouteFull(t *testing.T) {
	p := loadFile(t, "testdata/valid/full.hcl")
	cases := []struct {
		name       string
		req        RouteRequest
		route      string
		trunks     []string
		ruri, from string
		reject     int
		headers    []HeaderOp
	}{
		{name: "exact beats prefix", req: RouteRequest{RURIUser: "112"},
			route: "emergency", trunks: []string{"carrier_a"}, ruri: "112"},
		{name: "longest prefix wins", req: RouteRequest{RURIUser: "+4930123456"},
			route: "berlin", trunks: []string{"carrier_a"}, ruri: "+4930123456"},
		{name: "shorter prefix", req: RouteRequest{RURIUser: "+4940123456"},
			route: "germany", trunks: []string{"carrier_b", "carrier_a"}, ruri: "+4940123456",
			headers: []HeaderOp{{HeaderSet, "X-Static", "ABC"}}},
		{name: "header condition fails: falls to no route", req: RouteRequest{RURIUser: "+4940123456", Header: headers("X-Test", "1")},
			reject: 480},
		{name: "reject prefix", req: RouteRequest{RURIUser: "+499001234"},
			route: "premium", reject: 403, ruri: "+499001234"},
		{name: "national rewrite from pbx", req: RouteRequest{SourceTrunk: "pbx", RURIUser: "030123456", FromUser: "0401111", Header: headers("User-Agent", "x")},
			route: "national", trunks: []string{"carrier_a", "carrier_b"}, ruri: "+4930123456", from: "+49401111",
			headers: []HeaderOp{{HeaderSet, "X-Original-Called", "030123456"}, {HeaderAdd, "X-Route", "national/+4930123456"}, {HeaderRemove, "User-Agent", ""}}},
		{name: "national needs pbx source", req: RouteRequest{SourceTrunk: "carrier_a", RURIUser: "030123456"},
			reject: 480, ruri: "030123456"},
		{name: "0900 rejected before regex route in longest-prefix", req: RouteRequest{SourceTrunk: "pbx", RURIUser: "0900123"},
			route: "premium", reject: 403, ruri: "0900123"},
		{name: "no route", req: RouteRequest{RURIUser: "+1555"}, reject: 480, ruri: "+1555"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := p.Route(c.req)
			if d.RouteName() != c.route {
				t.Errorf("route %q, want %q", d.RouteName(), c.route)
			}
			if d.RejectCode != c.reject {
				t.Errorf("reject %d, want %d", d.RejectCode, c.reject)
			}
			if c.reject == 0 && !reflect.DeepEqual(trunkNames(d.Trunks), c.trunks) {
				t.Errorf("trunks %v, want %v", trunkNames(d.Trunks), c.trunks)
			}
			if c.ruri != "" && d.RURIUser != c.ruri {
				t.Errorf("ruri user %q, want %q", d.RURIUser, c.ruri)
			}
			if c.from != "" && d.FromUser != c.from {
				t.Errorf("from user %q, want %q", d.FromUser, c.from)
			}
			if !reflect.DeepEqual(d.Headers, c.headers) {
				t.Errorf("headers %+v, want %+v", d.Headers, c.headers)
			}
			if d.Err != nil {
				t.Errorf("err %v", d.Err)
			}
		})
	}
	if d := p.Route(RouteRequest{SourceTrunk: "pbx", RURIUser: "030123456", FromUser: "0401111"}); d.FailoverTimeout.String() != "5s" || !reflect.DeepEqual(d.FailoverOn, []int{408, 503}) {
		t.Errorf("failover %v %v", d.FailoverOn, d.FailoverTimeout)
	}
	if d := p.Route(RouteRequest{RURIUser: "+1"}); d.RejectReason != "Temporarily Unavailable" {
		t.Errorf("no-route reason %q", d.RejectReason)
	}
}

const orderSrc = `
trunk "a" {
  interface = "outside"
  destination {
    host = "192.0.2.1"
  }
}
trunk "b" {
  interface = "outside"
  destination {
    host = "192.0.2.2"
  }
}
trunk "c" {
  interface = "outside"
  destination {
    host = "192.0.2.3"
  }
}
route "short" {
  match {
    ruri_user {
      prefix = "49"
    }
  }
  trunks = ["a"]
}
route "long" {
  match {
    ruri_user {
      prefix = "4930"
    }
  }
  trunks = ["b"]
}
route "catchall" {
  trunks = ["c"]
}
`

// TestRouteSelection: the same routes give the first route in file order
// with first_match and the longest prefix with longest_prefix.
func TestRouteSelection(t *testing.T) {
	first := loadText(t, orderSrc)
	longest := loadText(t, "defaults {\n  route_selection = \"longest_prefix\"\n}\n"+orderSrc)
	cases := []struct {
		user, first, longest string
	}{
		{"4930111", "short", "long"},
		{"4940111", "short", "short"},
		{"4930", "short", "long"},
		{"493", "short", "short"},
		{"4", "catchall", "catchall"},
		{"", "catchall", "catchall"},
		{"alice", "catchall", "catchall"},
	}
	for _, c := range cases {
		if got := first.Route(RouteRequest{RURIUser: c.user}); got.RouteName() != c.first {
			t.Errorf("first_match %q: %q, want %q", c.user, got.RouteName(), c.first)
		}
		if got := longest.Route(RouteRequest{RURIUser: c.user}); got.RouteName() != c.longest {
			t.Errorf("longest_prefix %q: %q, want %q", c.user, got.RouteName(), c.longest)
		}
	}
	// In first_match a catch-all placed first wins over every prefix.
	p := loadText(t, strings.Replace(orderSrc, `route "short"`, "route \"first\" {\n  trunks = [\"c\"]\n}\nroute \"short\"", 1))
	if got := p.Route(RouteRequest{RURIUser: "4930"}); got.RouteName() != "first" {
		t.Errorf("catch-all first: %q", got.RouteName())
	}
}

// TestRouteMatchers covers from/to user, header and non-dial characters.
func TestRouteMatchers(t *testing.T) {
	p := loadText(t, `
trunk "a" {
  interface = "outside"
  destination {
    host = "192.0.2.1"
  }
}
route "alice" {
  match {
    ruri_user {
      prefix = "ali"
    }
    to_user {
      exact = ["alice", "al"]
    }
  }
  trunks = ["a"]
}
route "hdr" {
  match {
    header "X-Tenant" {
      regex = "^t[0-9]+$"
    }
    from_user {
      prefix = ["+1", "+44"]
    }
  }
  trunks = ["a"]
}
route "present" {
  match {
    header "X-Flag" {
      present = true
    }
  }
  reject {
    code   = 486
    reason = "Flagged"
  }
}
`)
	cases := []struct {
		req  RouteRequest
		want string
	}{
		{RouteRequest{RURIUser: "alice", ToUser: "alice"}, "alice"},
		{RouteRequest{RURIUser: "alice", ToUser: "bob"}, ""},
		{RouteRequest{FromUser: "+4412", Header: headers("x-tenant", "t42")}, "hdr"},
		{RouteRequest{FromUser: "+4912", Header: headers("x-tenant", "t42")}, ""},
		{RouteRequest{FromUser: "+4412", Header: headers("x-tenant", "q42")}, ""},
		{RouteRequest{Header: headers("X-Flag", "")}, "present"},
	}
	for i, c := range cases {
		d := p.Route(c.req)
		if d.RouteName() != c.want {
			t.Errorf("case %d: route %q, want %q", i, d.RouteName(), c.want)
		}
	}
	if d := p.Route(RouteRequest{Header: headers("X-Flag", "")}); d.RejectCode != 486 || d.RejectReason != "Flagged" {
		t.Errorf("reject %d %q", d.RejectCode, d.RejectReason)
	}
}

func TestRewrite(t *testing.T) {
	cases := []struct {
		rw   Rewrite
		in   string
		want string
	}{
		{Rewrite{Strip: 2}, "0049301", "49301"},
		{Rewrite{Strip: 2, Prefix: "+"}, "0049301", "+49301"},
		{Rewrite{Strip: 9}, "123", ""},
		{Rewrite{Prefix: "+49"}, "301", "+49301"},
	}
	for _, c := range cases {
		if got := c.rw.apply(c.in); got != c.want {
			t.Errorf("%+v on %q: %q, want %q", c.rw, c.in, got, c.want)
		}
	}
	p := loadText(t, `
trunk "a" {
  interface = "outside"
  destination {
    host = "192.0.2.1"
  }
}
route "e164" {
  rewrite "ruri_user" {
    regex   = "^00([1-9][0-9]+)$"
    replace = "+$1"
  }
  rewrite "to_user" {
    regex   = "^0([1-9][0-9]+)$"
    replace = "+49$1"
  }
  trunks = ["a"]
}`)
	d := p.Route(RouteRequest{RURIUser: "0044207", ToUser: "030111"})
	if d.RURIUser != "+44207" || d.ToUser != "+4930111" {
		t.Errorf("rewrite: %q %q", d.RURIUser, d.ToUser)
	}
	d = p.Route(RouteRequest{RURIUser: "+44207", ToUser: "alice"})
	if d.RURIUser != "+44207" || d.ToUser != "alice" {
		t.Errorf("non-matching rewrite changed: %q %q", d.RURIUser, d.ToUser)
	}
}

func TestHeaderRuleRuntimeError(t *testing.T) {
	p := loadText(t, `
trunk "a" {
  interface = "outside"
  destination {
    host = "192.0.2.1"
  }
}
route "r" {
  header "X-Tenant" {
    set = regex("^t([0-9]+)$", header("X-Tenant-Raw"))[0]
  }
  header "X-Ok" {
    add = "${req.source_trunk}:${has_header("X-Tenant-Raw")}"
  }
  trunks = ["a"]
}`)
	d := p.Route(RouteRequest{SourceTrunk: "a", Header: headers("X-Tenant-Raw", "t77")})
	want := []HeaderOp{{HeaderSet, "X-Tenant", "77"}, {HeaderAdd, "X-Ok", "a:true"}}
	if !reflect.DeepEqual(d.Headers, want) || d.Err != nil {
		t.Errorf("headers %+v err %v", d.Headers, d.Err)
	}
	d = p.Route(RouteRequest{SourceTrunk: "a"})
	if len(d.Headers) != 1 || d.Headers[0].Name != "X-Ok" || d.Headers[0].Value != "a:false" {
		t.Errorf("headers %+v", d.Headers)
	}
	if d.Err == nil || !strings.Contains(d.Err.Error(), "X-Tenant") {
		t.Errorf("err %v, want the failing X-Tenant rule", d.Err)
	}
}

func TestMatchTrunk(t *testing.T) {
	p := loadText(t, `
trunk "wide" {
  interface = "outside"
  match {
    sources = ["192.0.2.0/24"]
  }
}
trunk "narrow" {
  interface = "outside"
  match {
    sources = ["192.0.2.16/28"]
  }
}
trunk "port" {
  interface = "outside"
  match {
    sources = ["192.0.2.0/24"]
    port    = 5080
  }
}
trunk "tls" {
  interface = "outside"
  match {
    sources   = ["192.0.2.0/24"]
    transport = "tls"
  }
}
trunk "v6" {
  interface = "inside"
  match {
    sources = ["2001:db8::/32", "192.0.2.0/24"]
  }
}`)
	cases := []struct {
		src, transport, iface, want string
	}{
		{"192.0.2.1:5060", "udp", "outside", "wide"},
		{"192.0.2.17:5060", "udp", "outside", "narrow"},
		{"192.0.2.17:5080", "udp", "outside", "narrow"},
		{"192.0.2.1:5080", "udp", "outside", "port"},
		{"192.0.2.1:5061", "TLS", "outside", "tls"},
		{"[::ffff:192.0.2.1]:5060", "udp", "outside", "wide"},
		{"198.51.100.1:5060", "udp", "outside", ""},
		{"[2001:db8::1]:5060", "udp", "inside", "v6"},
		{"192.0.2.1:5060", "udp", "inside", "v6"},
		{"192.0.2.1:5060", "udp", "nowhere", ""},
	}
	for _, c := range cases {
		tr, ok := p.MatchTrunk(netip.MustParseAddrPort(c.src), c.transport, c.iface)
		got := ""
		if ok {
			got = tr.Name
		}
		if got != c.want {
			t.Errorf("%s %s %s: %q, want %q", c.src, c.transport, c.iface, got, c.want)
		}
	}
}

func TestACL(t *testing.T) {
	p := loadFile(t, "testdata/valid/full.hcl")
	cases := []struct {
		iface, addr string
		want        bool
	}{
		{"outside", "203.0.113.5", true},
		{"outside", "203.0.113.200", false},
		{"outside", "198.51.100.9", true},
		{"outside", "192.0.2.1", false},
		{"outside", "2001:db8:b::1", true},
		{"outside", "2001:db8:c::1", false},
		{"outside", "::ffff:203.0.113.5", true},
		{"inside", "10.20.1.1", true},
		{"inside", "10.20.99.1", false},
		{"loopback", "8.8.8.8", true}, // no ACL on the interface
	}
	for _, c := range cases {
		if got := p.ACLAllows(c.iface, netip.MustParseAddr(c.addr)); got != c.want {
			t.Errorf("%s %s: %v, want %v", c.iface, c.addr, got, c.want)
		}
	}
}

func TestTrunkAccessors(t *testing.T) {
	p := loadFile(t, "testdata/valid/full.hcl")
	a, _ := p.Trunk("carrier_a")
	if !a.PassesHeader("x-account-ID") || a.PassesHeader("X-Other") {
		t.Error("PassesHeader")
	}
	if !a.AllowsCodec("pcma") || a.AllowsCodec("G729") {
		t.Error("AllowsCodec")
	}
	b, _ := p.Trunk("carrier_b")
	if !b.AllowsCodec("G729") {
		t.Error("empty codec list must allow all")
	}
	if b.Identity.Assert != PAIFixed || b.Identity.Privacy != PrivacyForce || b.Identity.Trusted {
		t.Errorf("identity %+v", b.Identity)
	}
	if a.Limits != (Limits{Calls: 500, CallsOut: 100, CPSIn: 20, CPSOut: 10}) {
		t.Errorf("limits %+v", a.Limits)
	}
}

func TestDefaultPolicyDemo(t *testing.T) {
	p, err := Load(nil, LoadOptions{Interfaces: []string{"loopback"}})
	if err != nil {
		t.Fatal(diagText(err))
	}
	uac, ok := p.MatchTrunk(netip.MustParseAddrPort("127.0.0.1:5061"), "udp", "loopback")
	if !ok || uac.Name != "local_uac" {
		t.Fatalf("uac %v", uac)
	}
	uas, ok := p.MatchTrunk(netip.MustParseAddrPort("127.0.0.1:5080"), "udp", "loopback")
	if !ok || uas.Name != "local_uas" {
		t.Fatalf("uas %v", uas)
	}
	d := p.Route(RouteRequest{SourceTrunk: "local_uac", RURIUser: "service"})
	if d.Rejected() || len(d.Trunks) != 1 || d.Trunks[0].Destinations[0] != (Destination{"127.0.0.1", 5080, "udp"}) {
		t.Fatalf("decision %+v", d)
	}
}

func TestRouteDoesNotAllocate(t *testing.T) {
	p := loadFile(t, "testdata/valid/full.hcl")
	req := RouteRequest{SourceTrunk: "carrier_b", RURIUser: "+4930123456", Header: headers()}
	var d Decision
	n := testing.AllocsPerRun(200, func() { d = p.Route(req) })
	if n != 0 || d.RouteName() != "berlin" {
		t.Errorf("%v allocations per Route (route %q)", n, d.RouteName())
	}
	src := netip.MustParseAddrPort("203.0.113.9:5060")
	n = testing.AllocsPerRun(200, func() {
		if _, ok := p.MatchTrunk(src, "udp", "outside"); !ok {
			t.Fatal("no trunk")
		}
		_ = p.ACLAllows("outside", src.Addr())
	})
	if n != 0 {
		t.Errorf("%v allocations per MatchTrunk+ACLAllows", n)
	}
}

// TestHeaderRulesConcurrent evaluates header expressions from several
// goroutines at once on one policy (run with -race): the shared evaluation
// context must only be read.
func TestHeaderRulesConcurrent(t *testing.T) {
	p := loadFile(t, "testdata/valid/full.hcl")
	done := make(chan string, 4)
	for g := 0; g < 4; g++ {
		go func(g int) {
			for i := 0; i < 200; i++ {
				user := "0301234" + string(rune('0'+g))
				d := p.Route(RouteRequest{SourceTrunk: "pbx", RURIUser: user, FromUser: "0401"})
				if len(d.Headers) != 3 || d.Headers[0].Value != user || d.Headers[1].Value != "national/+49"+user[1:] {
					done <- "wrong headers: " + d.Headers[0].Value
					return
				}
			}
			done <- ""
		}(g)
	}
	for g := 0; g < 4; g++ {
		if msg := <-done; msg != "" {
			t.Error(msg)
		}
	}
}

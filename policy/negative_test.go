package policy

import (
	"errors"
	"strings"
	"testing"
)

// base is a valid prelude the negative cases add to; it is 12 lines long.
const base = `trunk "a" {
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
`

// TestNegative checks that every validation reports the right problem at
// the right file, line and column.
func TestNegative(t *testing.T) {
	cases := []struct {
		name      string
		src       string
		summary   string
		line, col int
	}{
		{"unknown trunk in route", base + `route "r" {
  trunks = ["a", "c"]
}`, "Unknown trunk", 14, 18},
		{"unknown from_trunk", base + `route "r" {
  match {
    from_trunk = ["x"]
  }
  trunks = ["a"]
}`, "Unknown trunk", 15, 19},
		{"duplicate trunk", base + `trunk "a" {
  interface = "outside"
}`, "Duplicate trunk", 13, 7},
		{"duplicate route", base + `route "r" {
  trunks = ["a"]
}
route "r" {
  trunks = ["b"]
}`, "Duplicate route", 16, 7},
		{"bad cidr", `trunk "t" {
  interface = "outside"
  match {
    sources = ["10.0.0.0/8", "10.0.0.0/40"]
  }
}`, "Invalid CIDR", 4, 30},
		{"host bits", `trunk "t" {
  interface = "outside"
  match {
    sources = ["10.0.0.1/8"]
  }
}`, "Invalid CIDR", 4, 16},
		{"bad address", `trunk "t" {
  interface = "outside"
  match {
    sources = "nope"
  }
}`, "Invalid address", 4, 15},
		{"regex does not compile", base + `route "r" {
  match {
    from_user {
      regex = "[0-9"
    }
  }
  trunks = ["a"]
}`, "Invalid regular expression", 16, 15},
		{"rewrite regex does not compile", base + `route "r" {
  rewrite "ruri_user" {
    regex   = "(("
    replace = "$1"
  }
  trunks = ["a"]
}`, "Invalid regular expression", 15, 15},
		{"acl same prefix allowed and denied", `acl "outside" {
  allow = ["192.0.2.0/24"]
  deny  = ["198.51.100.0/24", "192.0.2.0/24"]
  default = "allow"
}`, "Overlapping ACL entries", 3, 31},
		{"acl nested same action", `acl "outside" {
  allow = ["192.0.2.0/24", "192.0.2.64/26"]
}`, "Overlapping ACL entries", 2, 28},
		{"acl entry equals default", `acl "outside" {
  deny    = ["192.0.2.0/24"]
  default = "deny"
}`, "ACL entry has no effect", 2, 14},
		{"acl duplicate", `acl "outside" {
  allow = ["192.0.2.0/24"]
}
acl "outside" {
  allow = ["198.51.100.0/24"]
}`, "Duplicate ACL", 4, 5},
		{"acl unknown interface", `acl "dmz" {
  allow = ["192.0.2.0/24"]
}`, "Unknown interface", 1, 5},
		{"trunk unknown interface", `trunk "t" {
  interface = "outsid"
}`, "Unknown interface", 2, 15},
		{"trunk without interface", `trunk "t" {
}`, "Missing interface", 1, 7},
		{"ambiguous trunk match", `trunk "t1" {
  interface = "outside"
  match {
    sources = ["192.0.2.0/24"]
  }
}
trunk "t2" {
  interface = "outside"
  match {
    sources = ["192.0.2.0/24"]
  }
}`, "Ambiguous trunk match", 7, 1},
		{"bad transport", `trunk "t" {
  interface = "outside"
  destination {
    host      = "192.0.2.1"
    transport = "sctp"
  }
}`, "Invalid value", 5, 17},
		{"port out of range", `trunk "t" {
  interface = "outside"
  destination {
    host = "192.0.2.1"
    port = 70000
  }
}`, "Number out of range", 5, 12},
		{"host with port", `trunk "t" {
  interface = "outside"
  destination {
    host = "192.0.2.1:5060"
  }
}`, "Invalid host", 4, 12},
		{"route without action", base + `route "r" {
}`, "Route does nothing", 13, 7},
		{"route with both", base + `route "r" {
  trunks = ["a"]
  reject {
    code = 403
  }
}`, "Route both routes and rejects", 15, 3},
		{"reject code", base + `route "r" {
  reject {
    code = 200
  }
}`, "Number out of range", 15, 12},
		{"failover code", base + `route "r" {
  trunks = ["a"]
  failover {
    on = [503, 99]
  }
}`, "Number out of range", 16, 16},
		{"failover timeout", base + `route "r" {
  trunks = ["a"]
  failover {
    timeout = "soon"
  }
}`, "Invalid duration", 16, 15},
		{"route to inbound-only trunk", `trunk "in" {
  interface = "outside"
  match {
    sources = ["192.0.2.0/24"]
  }
}
route "r" {
  trunks = ["in"]
}`, "Trunk has no destination", 8, 13},
		{"user match ambiguous", base + `route "r" {
  match {
    ruri_user {
      prefix = "1"
      exact  = "1"
    }
  }
  trunks = ["a"]
}`, "Ambiguous match", 15, 5},
		{"empty prefix", base + `route "r" {
  match {
    ruri_user {
      prefix = ["49", ""]
    }
  }
  trunks = ["a"]
}`, "Empty prefix", 16, 23},
		{"managed header", `trunk "t" {
  interface = "outside"
  headers {
    pass = ["X-Ok", "Call-ID"]
  }
}`, "Header managed by the B2BUA", 4, 21},
		{"bad header name", base + `route "r" {
  header "X Bad" {
    set = "1"
  }
  trunks = ["a"]
}`, "Invalid header name", 14, 10},
		{"header rule with two ops", base + `route "r" {
  header "X-A" {
    set = "1"
    add = "2"
  }
  trunks = ["a"]
}`, "Ambiguous header rule", 14, 3},
		{"header expr unknown var", base + `route "r" {
  header "X-A" {
    set = req.nope
  }
  trunks = ["a"]
}`, "Unsupported attribute", 15, 14},
		{"header expr file function", base + `route "r" {
  header "X-A" {
    set = file("/etc/passwd")
  }
  trunks = ["a"]
}`, "Call to unknown function", 15, 11},
		{"variable cycle", `variables {
  a = var.b
  b = var.a
}`, "Unresolvable variable", 2, 7},
		{"unknown variable", `trunk "t" {
  interface = var.nope
}`, "Unsupported attribute", 2, 18},
		{"access trunk without registrar", `trunk "t" {
  kind      = "access"
  interface = "inside"
}`, "Missing registrar", 1, 7},
		{"crlf on peer", `trunk "t" {
  interface = "outside"
  destination {
    host = "192.0.2.1"
  }
  keepalive {
    method = "crlf"
  }
}`, "CRLF keepalive on a peer trunk", 7, 14},
		{"privacy ignore untrusted", `trunk "t" {
  interface = "outside"
  identity {
    privacy = "ignore"
  }
}`, "Privacy ignored toward an untrusted trunk", 4, 15},
		{"bad assert", `trunk "t" {
  interface = "outside"
  identity {
    assert = "alice"
  }
}`, "Invalid asserted identity", 4, 14},
		{"latching mode", `trunk "t" {
  interface = "outside"
  media {
    latching = "sometimes"
  }
}`, "Invalid value", 4, 16},
		{"ua expires above registrar", `trunk "t" {
  kind      = "access"
  interface = "inside"
  registrar {
    host              = "192.0.2.5"
    ua_expires        = 3600
    registrar_expires = 600
  }
}`, "UA expiry above registrar expiry", 6, 25},
		{"duplicate codec", `trunk "t" {
  interface = "outside"
  codecs    = ["PCMA", "pcma"]
}`, "Duplicate codec", 3, 24},
		{"unknown rewrite field", base + `route "r" {
  rewrite "contact" {
    strip = 1
  }
  trunks = ["a"]
}`, "Unknown rewrite field", 14, 11},
		{"two defaults", `defaults {
}
defaults {
}`, "Duplicate defaults block", 3, 1},
		{"route selection word", `defaults {
  route_selection = "random"
}`, "Invalid value", 2, 21},
		{"unknown block", `trunk "t" {
  interface = "outside"
  destinations {
  }
}`, "Unsupported block type", 3, 3},
		{"two destinations of one trunk are fine, two match blocks are not", `trunk "t" {
  interface = "outside"
  match {
    sources = ["192.0.2.0/24"]
  }
  match {
    sources = ["192.0.3.0/24"]
  }
}`, "Duplicate match block", 6, 3},
		{"syntax error", `trunk "t" {
  interface = "outside"
  destination {
    host = 
  }
}`, "Invalid expression", 4, 12},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadSources([]Source{{Name: "neg.hcl", Data: []byte(c.src)}}, testInterfaces)
			if err == nil {
				t.Fatal("accepted")
			}
			var de *DiagError
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not a *DiagError: %v", err, err)
			}
			for _, d := range de.Diags {
				if d.Summary != c.summary || d.Subject == nil {
					continue
				}
				s := d.Subject.Start
				if d.Subject.Filename != "neg.hcl" || s.Line != c.line || s.Column != c.col {
					t.Fatalf("%q at %s:%d:%d, want neg.hcl:%d:%d\n%s", c.summary, d.Subject.Filename, s.Line, s.Column, c.line, c.col, de.Text())
				}
				if !strings.Contains(de.Text(), "neg.hcl:") {
					t.Fatalf("text lacks the file position:\n%s", de.Text())
				}
				return
			}
			t.Fatalf("no %q diagnostic; got:\n%s", c.summary, de.Text())
		})
	}
}

func TestTransportNotServed(t *testing.T) {
	src := `trunk "t" {
  interface = "outside"
  match {
    sources   = ["192.0.2.0/24"]
    transport = "tcp"
  }
  destination {
    host      = "192.0.2.1"
    transport = "tls"
  }
}`
	opts := LoadOptions{Interfaces: []string{"outside"}, Transports: map[string][]string{"outside": {"udp"}}}
	_, err := LoadSources([]Source{{Name: "t.hcl", Data: []byte(src)}}, opts)
	var de *DiagError
	if !errors.As(err, &de) || len(de.Diags) != 2 {
		t.Fatalf("want two diagnostics, got %v", err)
	}
	for i, want := range []int{5, 9} {
		d := de.Diags[i]
		if d.Summary != "Transport not served" || d.Subject.Start.Line != want || d.Subject.Start.Column != 17 {
			t.Errorf("diagnostic %d: %s at %d:%d, want line %d col 17", i, d.Summary, d.Subject.Start.Line, d.Subject.Start.Column, want)
		}
	}
	opts.Transports["outside"] = []string{"udp", "tcp", "tls"}
	if _, err := LoadSources([]Source{{Name: "t.hcl", Data: []byte(src)}}, opts); err != nil {
		t.Fatal(diagText(err))
	}
}

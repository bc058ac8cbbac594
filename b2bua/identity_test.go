package b2bua

import (
	"slices"
	"strings"
	"testing"

	"github.com/sbc-project/sbc/policy"
	"github.com/sbc-project/sbc/sip"
)

func TestIdentityHeaders(t *testing.T) {
	trusted := &policy.Trunk{Name: "core", Identity: policy.Identity{Trusted: true}}
	untrusted := &policy.Trunk{Name: "peer", Identity: policy.Identity{Trusted: false}}
	fixed := &policy.Trunk{Name: "fixed", Identity: policy.Identity{Assert: policy.PAIFixed, AssertURI: "sip:+4930999@sbc.example"}}
	none := &policy.Trunk{Name: "none", Identity: policy.Identity{Trusted: true, Assert: policy.PAINone}}
	force := &policy.Trunk{Name: "force", Identity: policy.Identity{Privacy: policy.PrivacyForce}}
	ignore := &policy.Trunk{Name: "ignore", Identity: policy.Identity{Privacy: policy.PrivacyIgnore}}
	const pai = "P-Asserted-Identity: <sip:+4930111@pbx.example>\n"
	tests := []struct {
		name        string
		headers     string
		src, dst    *policy.Trunk
		wantPAI     []string
		wantPrivacy string
	}{
		{"trusted source, trusted destination: forwarded", pai, trusted, trusted, []string{"<sip:+4930111@pbx.example>"}, ""},
		{"untrusted source: dropped (RFC 3325 §5)", pai, untrusted, trusted, nil, ""},
		{"no source trunk: nothing believed", pai, nil, trusted, nil, ""},
		{"trusted, two identities (sip and tel) kept", pai + "P-Asserted-Identity: <tel:+4930111>\n", trusted, trusted,
			[]string{"<sip:+4930111@pbx.example>", "<tel:+4930111>"}, ""},
		{"Privacy: id toward an untrusted trunk: withheld (RFC 3325 §7)", pai + "Privacy: id\n", trusted, untrusted, nil, "id"},
		{"Privacy: id toward a trusted trunk: forwarded with Privacy", pai + "Privacy: id\n", trusted, trusted,
			[]string{"<sip:+4930111@pbx.example>"}, "id"},
		{"Privacy: none toward untrusted: forwarded", pai + "Privacy: none\n", trusted, untrusted,
			[]string{"<sip:+4930111@pbx.example>"}, "none"},
		{"privacy force toward an untrusted trunk: withheld without Privacy", pai, trusted, force, nil, ""},
		{"privacy ignore: forwarded despite Privacy: id", pai + "Privacy: id\n", trusted, ignore,
			[]string{"<sip:+4930111@pbx.example>"}, "id"},
		{"assert none: no PAI", pai, trusted, none, nil, ""},
		{"assert fixed: our identity replaces any", pai, trusted, fixed, []string{"<sip:+4930999@sbc.example>"}, ""},
		{"assert fixed from an untrusted source", "", untrusted, fixed, []string{"<sip:+4930999@sbc.example>"}, ""},
		{"malformed PAI from a trusted source is dropped", "P-Asserted-Identity: <sip:broken\n", trusted, trusted, nil, ""},
		{"P-Preferred-Identity is never forwarded", "P-Preferred-Identity: <sip:me@x>\n", trusted, trusted, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := mustParse(t, "INVITE sip:4989@sbc SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\nFrom: <sip:a@x>;tag=1\n"+
				"To: <sip:b@y>\nCall-ID: c\nCSeq: 1 INVITE\nMax-Forwards: 70\n"+tc.headers+"Content-Length: 0\n\n")
			gotPAI, gotPrivacy := identityHeaders(req, tc.src, tc.dst)
			if !slices.Equal(gotPAI, tc.wantPAI) || gotPrivacy != tc.wantPrivacy {
				t.Errorf("got PAI %q Privacy %q, want %q %q", gotPAI, gotPrivacy, tc.wantPAI, tc.wantPrivacy)
			}
		})
	}
}

func TestCodecsFor(t *testing.T) {
	any := &policy.Trunk{}
	g711 := &policy.Trunk{Codecs: []string{"PCMA", "PCMU", "telephone-event"}}
	wide := &policy.Trunk{Codecs: []string{"G722", "pcmu"}}
	if got := codecsFor(any, any); got != nil {
		t.Errorf("no lists: %v, want nil (keep all)", got)
	}
	if got := codecsFor(any, g711); !slices.Equal(got, g711.Codecs) {
		t.Errorf("one list: %v", got)
	}
	if got := codecsFor(g711, wide); !slices.Equal(got, []string{"PCMU"}) {
		t.Errorf("intersection: %v, want [PCMU]", got)
	}
	if got := codecsFor(&policy.Trunk{Codecs: []string{"G729"}}, wide); got == nil || len(got) != 0 {
		t.Errorf("disjoint lists: %v, want an empty non-nil list (keep none)", got)
	}
}

func TestDigestCredentials(t *testing.T) {
	// RFC 2617 §3.5 example, adapted to SIP's method and URI.
	ch := mustAuth(t, `Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"`)
	got, err := digestCredentials(ch, "Mufasa", "Circle Of Life", "", "GET", "/dir/index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`username="Mufasa"`, `realm="testrealm@host.com"`, `uri="/dir/index.html"`, `qop=auth`, `nc=00000001`, `opaque="5ccc069c403ebaf9f0171e9517f40e41"`} {
		if !contains(got, want) {
			t.Errorf("credentials %q lack %s", got, want)
		}
	}
	// Without qop (RFC 2069 compatibility) the response is deterministic:
	// MD5(HA1:nonce:HA2) for the RFC 2617 inputs.
	ch = mustAuth(t, `Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093"`)
	got, err = digestCredentials(ch, "Mufasa", "Circle Of Life", "", "GET", "/dir/index.html")
	if err != nil {
		t.Fatal(err)
	}
	if !contains(got, `response="670fd8c2df070c60b045671b8b24ff02"`) {
		t.Errorf("RFC 2069 response wrong: %s", got)
	}
	if _, err := digestCredentials(ch, "u", "p", "other.realm", "INVITE", "sip:x"); err == nil {
		t.Error("credentials sent to a realm they were not configured for")
	}
	if _, err := digestCredentials(mustAuth(t, `Basic realm="x"`), "u", "p", "", "INVITE", "sip:x"); err == nil {
		t.Error("Basic accepted")
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func mustAuth(t *testing.T, v string) sip.Auth {
	t.Helper()
	a, err := sip.ParseAuth(v)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

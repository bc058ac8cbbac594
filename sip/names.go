package sip

// canonicalNames lists the header names the SBC knows, in their canonical
// spelling (RFC 3261 §20 and the extensions it speaks). Header names are
// case-insensitive (RFC 3261 §7.3.1); CanonicalName maps any spelling and
// every compact form to these.
var canonicalNames = [...]string{
	"Accept", "Accept-Contact", "Accept-Encoding", "Accept-Language", "Accept-Resource-Priority",
	"Alert-Info", "Allow", "Allow-Events", "Answer-Mode", "Authentication-Info", "Authorization",
	"Call-ID", "Call-Info", "Contact", "Content-Disposition", "Content-Encoding",
	"Content-Language", "Content-Length", "Content-Type", "CSeq", "Date", "Diversion",
	"Error-Info", "Event", "Expires", "Feature-Caps", "Flow-Timer", "From", "Geolocation",
	"Geolocation-Routing", "History-Info", "Identity", "Identity-Info", "In-Reply-To",
	"Join", "Max-Breadth", "Max-Forwards", "MIME-Version", "Min-Expires", "Min-SE",
	"Organization", "P-Access-Network-Info", "P-Asserted-Identity", "P-Asserted-Service",
	"P-Associated-URI", "P-Called-Party-ID", "P-Charging-Function-Addresses",
	"P-Charging-Vector", "P-Early-Media", "P-Preferred-Identity", "P-Preferred-Service",
	"P-Visited-Network-ID", "Path", "Priority", "Priv-Answer-Mode", "Privacy",
	"Proxy-Authenticate", "Proxy-Authorization", "Proxy-Require", "RAck", "Reason",
	"Record-Route", "Refer-Sub", "Refer-To", "Referred-By", "Reject-Contact", "Replaces",
	"Reply-To", "Request-Disposition", "Require", "Resource-Priority", "Retry-After",
	"Route", "RSeq", "Security-Client", "Security-Server", "Security-Verify", "Server",
	"Service-Route", "Session-Expires", "Session-ID", "SIP-ETag", "SIP-If-Match", "Subject",
	"Subscription-State", "Supported", "Target-Dialog", "Timestamp", "To", "Unsupported",
	"User-Agent", "User-to-User", "Via", "Warning", "WWW-Authenticate",
}

// compactForms maps the compact form letters (RFC 3261 §7.3.3 and the
// extension RFCs that define them) to canonical names.
var compactForms = [...]struct {
	letter byte
	name   string
}{
	{'a', "Accept-Contact"},      // RFC 3841
	{'b', "Referred-By"},         // RFC 3892
	{'c', "Content-Type"},        // RFC 3261
	{'d', "Request-Disposition"}, // RFC 3841
	{'e', "Content-Encoding"},    // RFC 3261
	{'f', "From"},                // RFC 3261
	{'i', "Call-ID"},             // RFC 3261
	{'j', "Reject-Contact"},      // RFC 3841
	{'k', "Supported"},           // RFC 3261
	{'l', "Content-Length"},      // RFC 3261
	{'m', "Contact"},             // RFC 3261
	{'o', "Event"},               // RFC 6665
	{'r', "Refer-To"},            // RFC 3515
	{'s', "Subject"},             // RFC 3261
	{'t', "To"},                  // RFC 3261
	{'u', "Allow-Events"},        // RFC 6665
	{'v', "Via"},                 // RFC 3261
	{'x', "Session-Expires"},     // RFC 4028
	{'y', "Identity"},            // RFC 8224
}

const maxKnownNameLen = 32

var (
	// nameBuckets holds the known names and compact forms by length and
	// lower-cased first letter: lookupName compares a few candidates with
	// equalFold instead of hashing (it runs once per received header line).
	nameBuckets [maxKnownNameLen + 1][26][]string
	// compactOf maps a canonical name to its compact letter.
	compactOf = make(map[string]string, len(compactForms))
	// compactName maps a lower-case compact letter to its canonical name.
	compactName [26]string
)

func init() {
	for _, n := range canonicalNames {
		c := n[0] | 0x20
		if len(n) > maxKnownNameLen || c < 'a' || c > 'z' {
			panic("sip: header name table: bad name " + n)
		}
		nameBuckets[len(n)][c-'a'] = append(nameBuckets[len(n)][c-'a'], n)
	}
	for _, c := range compactForms {
		compactName[c.letter-'a'] = c.name
		compactOf[c.name] = string(c.letter)
	}
}

// CanonicalName returns the canonical spelling of a header name: compact
// forms are expanded ("v" → "Via", RFC 3261 §7.3.3) and known names are
// matched case-insensitively ("VIA" → "Via", §7.3.1). Unknown names are
// returned as given. It does not allocate.
func CanonicalName(name string) string {
	if c, ok := lookupName(name); ok {
		return c
	}
	return name
}

// lookupName reports the canonical name for a known header name or compact form.
func lookupName(name string) (string, bool) {
	if len(name) == 0 || len(name) > maxKnownNameLen {
		return "", false
	}
	c := name[0] | 0x20
	if c < 'a' || c > 'z' {
		return "", false
	}
	if len(name) == 1 {
		n := compactName[c-'a']
		return n, n != ""
	}
	for _, n := range nameBuckets[len(name)][c-'a'] {
		if n == name || equalFold(n, name) {
			return n, true
		}
	}
	return "", false
}

// CompactForm returns the compact form letter of a header name (any
// spelling, or a compact form itself), or "" if the header has none.
func CompactForm(name string) string {
	return compactOf[CanonicalName(name)]
}

// headerIs reports whether the stored header name h (canonical for known
// names) denotes the header whose canonical name is c; known reports whether
// c is a known canonical name (then exact comparison suffices).
func headerIs(h, c string, known bool) bool {
	if known {
		return h == c
	}
	return equalFold(h, c)
}

// equalFold compares ASCII strings case-insensitively.
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

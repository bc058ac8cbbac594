package b2bua

import (
	"strings"

	"github.com/sbc-project/sbc/policy"
	"github.com/sbc-project/sbc/sip"
)

// identityHeaders decides the P-Asserted-Identity and Privacy headers of a
// request the SBC sends toward dst for a request received from src, per
// RFC 3325 and RFC 3323:
//
//   - A PAI is believed only from a trusted trunk (RFC 3325 §5: an element
//     of the Trust Domain removes a PAI received from outside it); from an
//     untrusted one it is dropped. P-Preferred-Identity is never forwarded
//     (RFC 3325 §9.2: it is addressed to the first element of the domain).
//   - Toward dst, Identity.Assert says what is sent: the believed PAI
//     (forward), none, or the trunk's fixed identity (fixed), which replaces
//     any other.
//   - Privacy (RFC 3323 §4.2, RFC 3325 §7): with "Privacy: id" (or a trunk
//     whose privacy mode is "force") no PAI is sent to an untrusted trunk;
//     "ignore" never withholds it. The Privacy header itself is forwarded so
//     the next element of the domain can apply it at its own edge.
//
// src may be nil (a request from no known trunk): nothing is believed.
func identityHeaders(req *sip.Message, src, dst *policy.Trunk) (pai []string, privacy string) {
	var privTokens []string
	for line := range req.HeaderLines("Privacy") {
		privTokens, _ = sip.ParsePrivacy(privTokens, line)
		if privacy == "" {
			privacy = line
		} else {
			privacy += "; " + line
		}
	}
	if src != nil && src.Identity.Trusted {
		for line := range req.HeaderLines("P-Asserted-Identity") {
			elems, err := sip.SplitList(nil, line)
			if err != nil {
				continue
			}
			for _, e := range elems {
				if _, err := sip.ParseNameAddr(e); err == nil {
					pai = append(pai, e)
				}
			}
		}
	}
	if dst == nil {
		return nil, privacy
	}
	switch dst.Identity.Assert {
	case policy.PAINone:
		pai = nil
	case policy.PAIFixed:
		pai = []string{angle(dst.Identity.AssertURI)}
	}
	withhold := false
	switch dst.Identity.Privacy {
	case policy.PrivacyForce:
		withhold = !dst.Identity.Trusted
	case policy.PrivacyHonor:
		withhold = !dst.Identity.Trusted && hasTag(privTokens, "id")
	}
	if withhold {
		pai = nil
	}
	return pai, privacy
}

func angle(uri string) string {
	if strings.Contains(uri, "<") {
		return uri
	}
	return "<" + uri + ">"
}

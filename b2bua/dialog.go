package b2bua

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sbc-project/sbc/sip"
)

// dialog is one leg's dialog state (RFC 3261 §12): the SBC is the UAS on the
// A leg and the UAC on the B leg, and each leg's state is built only from
// what that leg's peer sent, so nothing crosses between legs by accident.
type dialog struct {
	callID    string
	localTag  string
	remoteTag string

	// localURI and remoteURI are the From/To name-addrs (without tag) as
	// this leg knows them: on the A leg what the caller sent, on the B leg
	// what the SBC built.
	localURI  string
	remoteURI string

	localSeq      uint32 // last CSeq the SBC sent on this leg
	remoteSeq     uint32 // last CSeq received from the peer (0: none yet)
	haveRemoteSeq bool

	// remoteTarget is the peer's Contact URI (§12.1.1, §12.1.2), refreshed
	// by target-refresh requests and their 2xx (§12.2).
	remoteTarget string
	// routeSet is the Route set in the order to send it (§12.1.1: the
	// Record-Route of the request for the UAS; §12.1.2: reversed for the
	// UAC).
	routeSet []string
}

// uasDialog builds the A-leg dialog from the INVITE (or other
// dialog-creating request) the SBC answers, RFC 3261 §12.1.1.
func uasDialog(req *sip.Message, localTag string) (*dialog, error) {
	from, err := req.From()
	if err != nil {
		return nil, err
	}
	to, err := req.To()
	if err != nil {
		return nil, err
	}
	cseq, err := req.CSeq()
	if err != nil {
		return nil, err
	}
	callID, _ := req.GetHeader("Call-ID")
	d := &dialog{
		callID:        callID,
		localTag:      localTag,
		remoteTag:     from.Tag(),
		localURI:      withoutTag(to),
		remoteURI:     withoutTag(from),
		remoteSeq:     cseq.Seq,
		haveRemoteSeq: true,
	}
	if err := d.refreshTarget(req); err != nil {
		return nil, err
	}
	d.routeSet, err = routeValues(req, "Record-Route", false)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// uacDialog starts the B-leg dialog state from the request the SBC built.
// The remote tag, target and route set come with the first response that
// creates the (early) dialog: see confirm.
func uacDialog(callID, localTag, localURI, remoteURI string, seq uint32) *dialog {
	return &dialog{
		callID:    callID,
		localTag:  localTag,
		localURI:  localURI,
		remoteURI: remoteURI,
		localSeq:  seq,
	}
}

// fromResponse sets the remote tag, remote target and route set from a
// dialog-creating response (18x with a To tag, or 2xx), RFC 3261 §12.1.2:
// the route set is the Record-Route in reverse order. For an early dialog
// the 2xx recomputes them (§13.2.2.4).
func (d *dialog) fromResponse(resp *sip.Message) error {
	to, err := resp.To()
	if err != nil {
		return err
	}
	d.remoteTag = to.Tag()
	if err := d.refreshTarget(resp); err != nil {
		return err
	}
	d.routeSet, err = routeValues(resp, "Record-Route", true)
	return err
}

// refreshTarget takes the remote target from the message's Contact when it
// has one (RFC 3261 §12.2.1.2 and §12.2.2: target refresh).
func (d *dialog) refreshTarget(m *sip.Message) error {
	if m.HeaderCount("Contact") == 0 {
		return nil
	}
	cts, err := m.Contacts()
	if err != nil || len(cts) == 0 {
		return fmt.Errorf("b2bua: Contact: %w", err)
	}
	c := cts[0]
	if c.Star {
		return fmt.Errorf("b2bua: Contact: '*' is not a target")
	}
	d.remoteTarget = c.URI.String()
	return nil
}

// checkRemoteSeq applies RFC 3261 §12.2.2: a request whose CSeq is lower
// than the last one received in the dialog is out of order (answered 500);
// ACK and CANCEL carry the INVITE's CSeq and are not checked here.
func (d *dialog) checkRemoteSeq(req *sip.Message) (ok bool) {
	if req.Method == "ACK" || req.Method == "CANCEL" {
		return true
	}
	c, err := req.CSeq()
	if err != nil {
		return false
	}
	if d.haveRemoteSeq && c.Seq <= d.remoteSeq {
		return false
	}
	d.remoteSeq, d.haveRemoteSeq = c.Seq, true
	return true
}

// request builds a request within the dialog, RFC 3261 §12.2.1.1: the
// Request-URI is the remote target, the Route set follows, From carries the
// local tag and To the remote tag. ACK and CANCEL take seq from the INVITE
// (pass it); other methods take the next local CSeq (pass 0). Via, Contact
// and Max-Forwards are the caller's (they depend on the interface).
func (d *dialog) request(method string, seq uint32) *sip.Message {
	ruri := d.remoteTarget
	routes := d.routeSet
	// A strict router as first route (no ;lr) gets the Request-URI and the
	// remote target goes last (§12.2.1.1, §16.12.1.1). Rare, but real.
	if len(routes) > 0 && !isLooseRoute(routes[0]) {
		first := routes[0]
		if u, err := routeURI(first); err == nil {
			ruri = u.String()
			routes = append(append([]string(nil), routes[1:]...), "<"+d.remoteTarget+">")
		}
	}
	if seq == 0 {
		d.localSeq++
		seq = d.localSeq
	}
	m := sip.NewRequest(method, ruri)
	for _, r := range routes {
		m.AddHeader("Route", r)
	}
	m.AddHeader("From", tagged(d.localURI, d.localTag))
	m.AddHeader("To", tagged(d.remoteURI, d.remoteTag))
	m.AddHeader("Call-ID", d.callID)
	m.AddHeader("CSeq", strconv.FormatUint(uint64(seq), 10)+" "+method)
	return m
}

func isLooseRoute(v string) bool {
	u, err := routeURI(v)
	return err == nil && u.Params.Has("lr")
}

// routeURI is the URI of a Route or Record-Route entry. RFC 3261 §20.30
// requires the name-addr form; an entry written without <> is read whole as
// the URI, so its ;lr stays a URI parameter and loose routing keeps working
// with equipment that omits the brackets.
func routeURI(v string) (sip.URI, error) {
	if na, err := sip.ParseRoute(v); err == nil {
		return na.URI, nil
	}
	return sip.ParseURI(strings.TrimSpace(v))
}

func tagged(nameAddr, tag string) string {
	if tag == "" {
		return nameAddr
	}
	return nameAddr + ";tag=" + tag
}

// withoutTag renders a name-addr with its header parameters except tag.
func withoutTag(na sip.NameAddr) string {
	na.Params.Del("tag")
	return na.String()
}

// routeValues returns every element of every line of the named header, in
// order or reversed.
func routeValues(m *sip.Message, name string, reverse bool) ([]string, error) {
	var out []string
	for line := range m.HeaderLines(name) {
		elems, err := sip.SplitList(nil, line)
		if err != nil {
			return nil, fmt.Errorf("b2bua: %s: %w", name, err)
		}
		out = append(out, elems...)
	}
	if reverse {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}

// firstRoute is the first entry of a Route header value.
func firstRoute(v string) string {
	elems, err := sip.SplitList(nil, v)
	if err != nil || len(elems) == 0 {
		return v
	}
	return elems[0]
}

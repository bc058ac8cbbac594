package sdp

import "strings"

// Codec is what a payload type of an RTP stream stands for: from its
// a=rtpmap, or from the static assignments of RFC 3551 §6 when there is none.
type Codec struct {
	PT        int
	Name      string // encoding name as written ("PCMU", "opus", "telephone-event"); "" when unknown
	ClockRate int    // 0 when unknown
	Channels  int    // 1 unless the rtpmap says otherwise (audio); 0 when unknown
	Fmtp      string // the format parameters of its a=fmtp (RFC 8866 §6.15), "" when none
}

// staticCodecs are the static RTP payload types of RFC 3551 §6, Tables 4 and 5.
var staticCodecs = [35]Codec{
	0:  {0, "PCMU", 8000, 1, ""},
	3:  {3, "GSM", 8000, 1, ""},
	4:  {4, "G723", 8000, 1, ""},
	5:  {5, "DVI4", 8000, 1, ""},
	6:  {6, "DVI4", 16000, 1, ""},
	7:  {7, "LPC", 8000, 1, ""},
	8:  {8, "PCMA", 8000, 1, ""},
	9:  {9, "G722", 8000, 1, ""},
	10: {10, "L16", 44100, 2, ""},
	11: {11, "L16", 44100, 1, ""},
	12: {12, "QCELP", 8000, 1, ""},
	13: {13, "CN", 8000, 1, ""},
	14: {14, "MPA", 90000, 0, ""},
	15: {15, "G728", 8000, 1, ""},
	16: {16, "DVI4", 11025, 1, ""},
	17: {17, "DVI4", 22050, 1, ""},
	18: {18, "G729", 8000, 1, ""},
	25: {25, "CelB", 90000, 0, ""},
	26: {26, "JPEG", 90000, 0, ""},
	28: {28, "nv", 90000, 0, ""},
	31: {31, "H261", 90000, 0, ""},
	32: {32, "MPV", 90000, 0, ""},
	33: {33, "MP2T", 90000, 0, ""},
	34: {34, "H263", 90000, 0, ""},
}

// StaticCodec returns the RFC 3551 static assignment of payload type pt.
func StaticCodec(pt int) (Codec, bool) {
	if pt >= 0 && pt < len(staticCodecs) && staticCodecs[pt].Name != "" {
		return staticCodecs[pt], true
	}
	return Codec{}, false
}

// Codec resolves payload type format f of the media description: its
// a=rtpmap if present (RFC 8866 §6.6), else the static table (RFC 3551 §6).
// ok is false for a non-RTP stream, a format that is not a number, or a
// dynamic payload type without rtpmap.
func (m *Media) Codec(f string) (Codec, bool) {
	if !IsRTP(m.Proto) {
		return Codec{}, false
	}
	var t codecTable
	t.fill(m)
	return t.lookup(f)
}

// codecTable maps the 128 RTP payload types of one media description to
// codecs, built in one pass over its lines (the B2BUA's per-SDP cost stays
// linear in the number of lines).
type codecTable [128]Codec

// fill loads the a=rtpmap lines of m; the first rtpmap of a payload type
// wins.
func (t *codecTable) fill(m *Media) {
	for _, l := range m.Lines {
		if !l.isAttr("rtpmap") {
			continue
		}
		r, err := ParseRTPMap(l.attrValue())
		if err != nil || t[r.PT].Name != "" {
			continue
		}
		c := Codec{PT: r.PT, Name: r.Name, ClockRate: r.ClockRate, Channels: 1}
		if r.Params != "" {
			if n, ok := parseDecimal(r.Params, 255); ok {
				c.Channels = n
			}
		}
		t[r.PT] = c
	}
	for _, l := range m.Lines {
		if !l.isAttr("fmtp") {
			continue
		}
		f, params := nextField(l.attrValue())
		if pt, ok := parseDecimal(f, 127); ok && t[pt].Fmtp == "" {
			if t[pt].Name == "" {
				if c, ok := StaticCodec(pt); ok {
					t[pt] = c
				}
			}
			t[pt].Fmtp = trimSpace(params)
		}
	}
}

// lookup resolves format f: rtpmap, else the static table.
func (t *codecTable) lookup(f string) (Codec, bool) {
	pt, ok := parseDecimal(f, 127)
	if !ok {
		return Codec{}, false
	}
	if t[pt].Name != "" {
		return t[pt], true
	}
	c, ok := StaticCodec(pt)
	c.Fmtp = t[pt].Fmtp
	return c, ok
}

// fmtOf returns the format a per-format attribute (rtpmap, fmtp, rtcp-fb)
// applies to: the first token of its value ("*" for rtcp-fb wildcards).
func fmtOf(l Line) string {
	f, _ := nextField(l.attrValue())
	return f
}

// perFormatAttrs are the attributes whose first value token is a format
// (RFC 8866 §6.6 rtpmap, §6.15 fmtp; RFC 4585 §4.2 rtcp-fb).
var perFormatAttrs = [...]string{"rtpmap", "fmtp", "rtcp-fb"}

func isPerFormat(l Line) bool {
	for _, n := range perFormatAttrs {
		if l.isAttr(n) {
			return true
		}
	}
	return false
}

// allowed reports whether name is in the allow-list (ASCII case-insensitive;
// RFC 4855 §3: encoding names are case-insensitive).
func allowed(list []string, name string) bool {
	for _, a := range list {
		if strings.EqualFold(a, name) {
			return true
		}
	}
	return false
}

// filterCodecs keeps the formats of m whose encoding name is in allow and
// removes the rtpmap, fmtp and rtcp-fb lines of the others. A retransmission
// format (RFC 4588 "rtx") is kept only while the format its a=fmtp apt= names
// is kept. It reports how many formats remain. Non-RTP streams are left alone.
func (m *Media) filterCodecs(allow []string) int {
	if !IsRTP(m.Proto) {
		return len(m.Formats)
	}
	var tbl codecTable
	tbl.fill(m)
	// Pass 1: by encoding name.
	var removed [16]string
	drop := removed[:0]
	for _, f := range m.Formats {
		if c, ok := tbl.lookup(f); !ok || !allowed(allow, c.Name) {
			drop = append(drop, f)
		}
	}
	// Pass 2: rtx whose apt= target was dropped (RFC 4588 §8.6).
	for _, f := range m.Formats {
		if contains(drop, f) {
			continue
		}
		if c, _ := tbl.lookup(f); strings.EqualFold(c.Name, "rtx") {
			if apt, ok := m.fmtpParam(f, "apt"); !ok || !m.hasFormat(apt) || contains(drop, apt) {
				drop = append(drop, f)
			}
		}
	}
	if len(drop) == 0 {
		return len(m.Formats)
	}
	n := 0
	for _, f := range m.Formats {
		if !contains(drop, f) {
			m.Formats[n] = f
			n++
		}
	}
	if n == 0 {
		// RFC 8866 §5.14 wants at least one format even on a rejected
		// stream: the caller sets port 0 and the list stays as offered.
		return 0
	}
	clear(m.Formats[n:])
	m.Formats = m.Formats[:n]
	w := 0
	for _, l := range m.Lines {
		if isPerFormat(l) && contains(drop, fmtOf(l)) {
			continue
		}
		m.Lines[w] = l
		w++
	}
	clear(m.Lines[w:])
	m.Lines = m.Lines[:w]
	return n
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (m *Media) hasFormat(f string) bool { return contains(m.Formats, f) }

// fmtpParam returns parameter key of the a=fmtp line of format f
// ("a=fmtp:97 apt=96" gives "96" for key "apt").
func (m *Media) fmtpParam(f, key string) (string, bool) {
	for _, l := range m.Lines {
		if !l.isAttr("fmtp") || fmtOf(l) != f {
			continue
		}
		_, params := nextField(l.attrValue())
		for p := range strings.SplitSeq(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, key) {
				return strings.TrimSpace(v), true
			}
		}
	}
	return "", false
}

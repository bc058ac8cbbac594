package capture

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sbc-project/sbc/internal/testenv"
)

func sipRequest(method, callID, body string) []byte {
	return []byte(fmt.Sprintf("%s sip:bob@example.net SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-%s\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:alice@example.com>;tag=a1\r\n"+
		"To: <sip:bob@example.net>\r\n"+
		"Call-ID: %s\r\n"+
		"CSeq: 1 %s\r\n"+
		"Content-Length: %d\r\n\r\n%s", method, callID, callID, method, len(body), body))
}

func sipResponse(code int, reason, method, callID string) []byte {
	return []byte(fmt.Sprintf("SIP/2.0 %d %s\r\n"+
		"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-%s\r\n"+
		"From: <sip:alice@example.com>;tag=a1\r\n"+
		"To: <sip:bob@example.net>;tag=b2\r\n"+
		"Call-ID: %s\r\n"+
		"CSeq: 1 %s\r\n"+
		"Content-Length: 0\r\n\r\n", code, reason, callID, callID, method))
}

// testPackets are the messages the tshark test expects back, in order; the
// large TCP message needs two segments.
type wantMsg struct {
	method, code, callID string
	pkt                  Packet
}

func testMessages() []wantMsg {
	t0 := time.Date(2026, 11, 25, 9, 30, 0, 123456000, time.UTC)
	a4 := netip.MustParseAddrPort("192.0.2.10:5060")
	b4 := netip.MustParseAddrPort("198.51.100.20:5060")
	a6 := netip.MustParseAddrPort("[2001:db8::10]:5060")
	b6 := netip.MustParseAddrPort("[2001:db8::20]:5062")
	mapped := netip.MustParseAddrPort("[::ffff:192.0.2.30]:5070")
	sdp := "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"
	big := strings.Repeat("a=x-padding:"+strings.Repeat("z", 100)+"\r\n", 700) // ~79 KB: two TCP segments
	var out []wantMsg
	add := func(method, code, callID string, tr Transport, src, dst netip.AddrPort, payload []byte) {
		out = append(out, wantMsg{method, code, callID, Packet{
			Time: t0.Add(time.Duration(len(out)) * 10 * time.Millisecond), Transport: tr,
			Src: src, Dst: dst, CallID: callID, Payload: payload}})
	}
	add("INVITE", "", "udp4@x", UDP, a4, b4, sipRequest("INVITE", "udp4@x", sdp))
	add("", "100", "udp4@x", UDP, b4, a4, sipResponse(100, "Trying", "INVITE", "udp4@x"))
	add("", "200", "udp4@x", UDP, b4, a4, sipResponse(200, "OK", "INVITE", "udp4@x"))
	add("OPTIONS", "", "udp6@x", UDP, a6, b6, sipRequest("OPTIONS", "udp6@x", ""))
	add("", "200", "udp6@x", UDP, b6, a6, sipResponse(200, "OK", "OPTIONS", "udp6@x"))
	add("INVITE", "", "tcp4@x", TCP, a4, b4, sipRequest("INVITE", "tcp4@x", sdp))
	add("", "180", "tcp4@x", TCP, b4, a4, sipResponse(180, "Ringing", "INVITE", "tcp4@x"))
	add("BYE", "", "tcp4@x", TCP, a4, b4, sipRequest("BYE", "tcp4@x", ""))
	add("REGISTER", "", "tls6@x", TLS, b6, a6, sipRequest("REGISTER", "tls6@x", ""))
	add("MESSAGE", "", "big@x", TCP, a4, b4, sipRequest("MESSAGE", "big@x", big))
	add("NOTIFY", "", "mapped@x", UDP, mapped, a4, sipRequest("NOTIFY", "mapped@x", ""))
	return out
}

func TestPcapTshark(t *testing.T) {
	tshark := testenv.LookPath(t, "tshark")
	for _, link := range []LinkType{LinkEthernet, LinkRaw} {
		t.Run(fmt.Sprint("link", link), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sip.pcap")
			w, err := OpenPcap(path, PcapOptions{LinkType: link})
			if err != nil {
				t.Fatal(err)
			}
			msgs := testMessages()
			for i := range msgs {
				if err := w.WritePacket(&msgs[i].pkt); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			// Every network and transport checksum verified by tshark itself.
			cmd := exec.Command(tshark, "-r", path, "-n",
				"-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
				"-o", "tcp.desegment_tcp_streams:TRUE",
				"-Y", "sip", "-T", "fields", "-E", "separator=|",
				"-e", "sip.Method", "-e", "sip.Status-Code", "-e", "sip.Call-ID",
				"-e", "ip.checksum.status", "-e", "udp.checksum.status", "-e", "tcp.checksum.status",
				"-e", "frame.time_epoch", "-e", "_ws.expert.message")
			cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no user preferences
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("tshark: %v\n%s", err, stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) != len(msgs) {
				t.Fatalf("tshark decoded %d SIP messages, want %d:\n%s", len(lines), len(msgs), out)
			}
			for i, l := range lines {
				f := strings.Split(l, "|")
				m := msgs[i]
				if f[0] != m.method || f[1] != m.code || f[2] != m.callID {
					t.Errorf("message %d: tshark saw method=%q code=%q call-id=%q, want %q %q %q",
						i, f[0], f[1], f[2], m.method, m.code, m.callID)
				}
				// Checksum status 1 is PROTO_CHECKSUM_E_GOOD (0 bad,
				// 2 unverified); the field is empty where the header is
				// absent (no IPv4 header checksum in IPv6).
				v4 := m.pkt.Src.Addr().Unmap().Is4()
				for j, proto := range []string{"ip", "udp", "tcp"} {
					present := (proto == "ip" && v4) || (proto == "udp" && !m.pkt.Transport.stream()) ||
						(proto == "tcp" && m.pkt.Transport.stream())
					if present != (f[3+j] != "") {
						t.Errorf("message %d: %s checksum status %q, header present: %v", i, proto, f[3+j], present)
					}
					for _, st := range strings.Split(f[3+j], ",") {
						if st != "" && st != "1" {
							t.Errorf("message %d: %s checksum status %q", i, proto, st)
						}
					}
				}
				want := fmt.Sprintf("%d.%06d", m.pkt.Time.Unix(), m.pkt.Time.Nanosecond()/1000)
				if !strings.HasPrefix(f[6], want) {
					t.Errorf("message %d: time %s, want %s", i, f[6], want)
				}
				if strings.Contains(strings.ToLower(f[7]), "checksum") || strings.Contains(f[7], "retransmission") ||
					strings.Contains(f[7], "previous segment") {
					t.Errorf("message %d: tshark expert info %q", i, f[7])
				}
			}
		})
	}
}

// readPcap parses a classic pcap file independently of the writer and returns
// its link type and records.
func readPcap(t *testing.T, path string) (LinkType, [][]byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 {
		t.Fatalf("%s: bad pcap header", path)
	}
	link := LinkType(binary.LittleEndian.Uint32(b[20:]))
	var recs [][]byte
	for off := 24; off < len(b); {
		if off+16 > len(b) {
			t.Fatalf("%s: truncated record header at %d", path, off)
		}
		incl := int(binary.LittleEndian.Uint32(b[off+8:]))
		orig := int(binary.LittleEndian.Uint32(b[off+12:]))
		if incl != orig || off+16+incl > len(b) {
			t.Fatalf("%s: record at %d: incl %d orig %d", path, off, incl, orig)
		}
		recs = append(recs, b[off+16:off+16+incl])
		off += 16 + incl
	}
	return link, recs
}

// verifyIPv4 checks the header fields and checksums of a raw IPv4/UDP frame
// with an independent computation.
func TestPcapHeadersIndependent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raw.pcap")
	w, err := OpenPcap(path, PcapOptions{LinkType: LinkRaw})
	if err != nil {
		t.Fatal(err)
	}
	msgs := testMessages()
	for i := range msgs {
		if err := w.WritePacket(&msgs[i].pkt); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	link, recs := readPcap(t, path)
	if link != LinkRaw {
		t.Fatalf("link %d", link)
	}
	if len(recs) != len(msgs)+1 { // the big message takes two segments
		t.Fatalf("%d records, want %d", len(recs), len(msgs)+1)
	}
	var bigPayload []byte
	for i, r := range recs {
		var payload []byte
		switch r[0] >> 4 {
		case 4:
			if int(binary.BigEndian.Uint16(r[2:])) != len(r) {
				t.Errorf("record %d: IPv4 total length %d, frame %d", i, binary.BigEndian.Uint16(r[2:]), len(r))
			}
			if onesSum(r[:20]) != 0xffff {
				t.Errorf("record %d: IPv4 header checksum wrong", i)
			}
			pseudo := append(append([]byte{}, r[12:20]...), 0, r[9], byte((len(r)-20)>>8), byte(len(r)-20))
			if onesSum(append(pseudo, r[20:]...)) != 0xffff {
				t.Errorf("record %d: IPv4 L4 checksum wrong", i)
			}
			payload = l4Payload(r[9], r[20:])
		case 6:
			if int(binary.BigEndian.Uint16(r[4:]))+40 != len(r) {
				t.Errorf("record %d: IPv6 payload length wrong", i)
			}
			n := len(r) - 40
			pseudo := append(append([]byte{}, r[8:40]...), 0, 0, byte(n>>8), byte(n), 0, 0, 0, r[6])
			if onesSum(append(pseudo, r[40:]...)) != 0xffff {
				t.Errorf("record %d: IPv6 L4 checksum wrong", i)
			}
			payload = l4Payload(r[6], r[40:])
		default:
			t.Fatalf("record %d: IP version %d", i, r[0]>>4)
		}
		if i == 9 || i == 10 {
			bigPayload = append(bigPayload, payload...)
		}
	}
	if string(bigPayload) != string(msgs[9].pkt.Payload) {
		t.Errorf("segmented message does not reassemble: %d bytes, want %d", len(bigPayload), len(msgs[9].pkt.Payload))
	}
	// TCP sequence numbers continue per flow: INVITE then BYE on a4->b4.
	seq := func(r []byte) uint32 { return binary.BigEndian.Uint32(r[24:]) }
	if got, want := seq(recs[7]), seq(recs[5])+uint32(len(msgs[5].pkt.Payload)); got != want {
		t.Errorf("BYE seq %d, want %d", got, want)
	}
	// The 180's ack acknowledges everything the INVITE sent.
	if got, want := binary.BigEndian.Uint32(recs[6][28:]), seq(recs[5])+uint32(len(msgs[5].pkt.Payload)); got != want {
		t.Errorf("180 ack %d, want %d", got, want)
	}
}

func l4Payload(proto byte, b []byte) []byte {
	if proto == 17 {
		return b[8:]
	}
	return b[int(b[12]>>4)*4:]
}

func onesSum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

func TestPcapRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sip.pcap")
	if err := os.WriteFile(path, []byte("previous run"), 0o600); err != nil {
		t.Fatal(err)
	}
	const maxBytes = 4096
	w, err := OpenPcap(path, PcapOptions{MaxBytes: maxBytes, MaxFiles: 3})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "sip.1.pcap")); string(b) != "previous run" {
		t.Fatalf("existing file not rotated away: %q", b)
	}
	msg := testMessages()[0].pkt
	const n = 60
	for range n {
		if err := w.WritePacket(&msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.WritePacket(&msg); err != ErrClosed {
		t.Errorf("write after close: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"sip.1.pcap", "sip.2.pcap", "sip.3.pcap", "sip.pcap"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("files %v, want %v", names, want)
	}
	frame := ethHeaderLen + ipv4HeaderLen + udpHeaderLen + len(msg.Payload)
	perFile := (maxBytes - pcapHeaderLen) / (pcapRecordLen + frame)
	total := 0
	for _, name := range want {
		st, _ := os.Stat(filepath.Join(dir, name))
		if st.Size() > maxBytes {
			t.Errorf("%s: %d bytes, over the %d bound", name, st.Size(), maxBytes)
		}
		link, recs := readPcap(t, filepath.Join(dir, name))
		if link != LinkEthernet {
			t.Errorf("%s: link %d", name, link)
		}
		if name != "sip.pcap" && len(recs) != perFile {
			t.Errorf("%s: %d records, want %d per full file", name, len(recs), perFile)
		}
		total += len(recs)
	}
	rot := w.Rotations()
	if written := n; rot != (written-1)/perFile {
		t.Errorf("%d rotations, want %d", rot, (written-1)/perFile)
	}
	if total != n-(rot-3)*perFile {
		t.Errorf("%d records kept over 4 files, want %d", total, n-(rot-3)*perFile)
	}
}

func TestPcapRejects(t *testing.T) {
	w, err := OpenPcap(filepath.Join(t.TempDir(), "x.pcap"), PcapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	big := Packet{Src: netip.MustParseAddrPort("192.0.2.1:5060"), Dst: netip.MustParseAddrPort("192.0.2.2:5060"),
		Payload: make([]byte, 65508)}
	if err := w.WritePacket(&big); err != ErrTooLarge {
		t.Errorf("oversized UDP: %v", err)
	}
	big.Payload = big.Payload[:65507]
	if err := w.WritePacket(&big); err != nil {
		t.Errorf("largest UDP datagram: %v", err)
	}
	noAddr := Packet{Dst: big.Dst, Payload: []byte("x")}
	if err := w.WritePacket(&noAddr); err != ErrAddressFamily {
		t.Errorf("missing source: %v", err)
	}
	if _, err := OpenPcap(filepath.Join(t.TempDir(), "y.pcap"), PcapOptions{LinkType: 113}); err == nil {
		t.Error("unsupported link type accepted")
	}
}

func TestChecksumSum(t *testing.T) {
	b := make([]byte, 300)
	x := uint32(12345)
	for i := range b {
		x = x*1103515245 + 12345
		b[i] = byte(x >> 16)
	}
	for _, fill := range []byte{0x00, 0xff} {
		ones := append([]byte(nil), b...)
		for i := range ones[:150] {
			ones[i] = fill
		}
		for n := 0; n <= len(ones); n++ {
			for _, init := range []uint32{0, 0xffff, 0x1fffe} {
				want := onesSum(append([]byte{byte(init >> 8), byte(init)}, ones[:n]...))
				if init > 0xffff {
					want = onesSum(append([]byte{0xff, 0xff, 0xff, 0xff}, ones[:n]...))
				}
				if got := ^fold(sum(init, ones[:n])); got != want && !(got == 0xffff && want == 0) && !(got == 0 && want == 0xffff) {
					t.Fatalf("fill %#x n %d init %#x: sum %#x, want %#x", fill, n, init, got, want)
				}
			}
		}
	}
}

func TestPcapKeepsCapturingAfterFailures(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sip.pcap")
	// sip.1.pcap is a non-empty directory: the shift at rotation fails.
	if err := os.MkdirAll(filepath.Join(dir, "sip.1.pcap", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := OpenPcap(path, PcapOptions{MaxBytes: 2048, MaxFiles: 1})
	if err != nil {
		t.Fatal(err)
	}
	msg := testMessages()[0].pkt
	var failed, ok int
	for range 10 {
		if err := w.WritePacket(&msg); err != nil {
			failed++
		} else {
			ok++
		}
	}
	if failed == 0 || w.Rotations() == 0 {
		t.Fatalf("no rotation failure seen (%d rotations)", w.Rotations())
	}
	w.Flush()
	if _, recs := readPcap(t, path); len(recs) == 0 {
		t.Fatal("no records after a failed rotation: capture stopped")
	}
	// The directory disappears: writes fail fast (no open per packet) and
	// capture resumes once it is back.
	os.RemoveAll(dir)
	w.rotate()
	if err := w.WritePacket(&msg); err == nil {
		t.Fatal("write without a directory succeeded")
	}
	if err := w.WritePacket(&msg); err != ErrNoFile {
		t.Fatalf("second write: %v, want ErrNoFile", err)
	}
	os.MkdirAll(dir, 0o755)
	w.retryAt = time.Time{} // skip the one-second wait
	if err := w.WritePacket(&msg); err != nil {
		t.Fatalf("write after the directory came back: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, recs := readPcap(t, path); len(recs) != 1 {
		t.Fatalf("%d records in the recreated file", len(recs))
	}
}

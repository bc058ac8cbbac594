package sipptest

import (
	"bytes"
	"encoding/binary"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/rtp"
)

var update = flag.Bool("update", false, "rewrite golden files (scripts/sipp/pcap/pcmu-1s.pcap)")

// TestPcmuPcapGolden keeps the committed capture played by uac-media.xml
// equal to what WriteRTPPcap makes of PcmuPcap (go test -update rewrites it).
func TestPcmuPcapGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteRTPPcap(&buf, PcmuPcap); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(ScenarioDir(t), "pcap", "pcmu-1s.pcap")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestPcmuPcapGolden -update)", err)
	}
	if !bytes.Equal(got, buf.Bytes()) {
		t.Fatalf("%s differs from WriteRTPPcap(PcmuPcap); run go test -run TestPcmuPcapGolden -update", path)
	}
}

// TestWriteRTPPcap decodes a written capture and checks every layer.
func TestWriteRTPPcap(t *testing.T) {
	spec := RTPPcap{Packets: 5, SSRC: 0x01020304, Start: time.Unix(1700000000, 0),
		Src: netip.MustParseAddrPort("10.0.0.1:4000"), Dst: netip.MustParseAddrPort("10.0.0.2:5000")}
	var buf bytes.Buffer
	if err := WriteRTPPcap(&buf, spec); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if binary.LittleEndian.Uint32(b) != pcapMagic || binary.LittleEndian.Uint32(b[20:]) != linkEthernet {
		t.Fatalf("bad global header % x", b[:24])
	}
	b = b[24:]
	for i := range spec.Packets {
		if len(b) < 16 {
			t.Fatalf("record %d: truncated", i)
		}
		sec, usec := binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:])
		incl := int(binary.LittleEndian.Uint32(b[8:]))
		if want := spec.Start.Add(time.Duration(i) * 20 * time.Millisecond); int64(sec) != want.Unix() || int(usec) != want.Nanosecond()/1000 {
			t.Errorf("record %d: time %d.%06d, want %v", i, sec, usec, want)
		}
		frame := b[16 : 16+incl]
		b = b[16+incl:]
		ip := frame[ethHeaderLen:]
		if ip[0] != 0x45 || ip[9] != 17 {
			t.Fatalf("record %d: not IPv4/UDP", i)
		}
		if checksum(0, ip[:ipv4Len]) != 0 {
			t.Errorf("record %d: bad IPv4 header checksum", i)
		}
		udp := ip[ipv4Len:]
		var pseudo [12]byte
		copy(pseudo[:], ip[12:20])
		pseudo[9] = 17
		binary.BigEndian.PutUint16(pseudo[10:], uint16(len(udp)))
		if checksum(sumWords(0, pseudo[:]), udp) != 0 {
			t.Errorf("record %d: bad UDP checksum", i)
		}
		if sp, dp := binary.BigEndian.Uint16(udp), binary.BigEndian.Uint16(udp[2:]); sp != 4000 || dp != 5000 {
			t.Errorf("record %d: ports %d -> %d", i, sp, dp)
		}
		var p rtp.Packet
		if err := p.Unmarshal(udp[udpLen:]); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if p.SSRC != spec.SSRC || p.SequenceNumber != uint16(i+1) || p.Timestamp != uint32(160*i) ||
			p.PayloadType != 0 || p.Marker != (i == 0) || len(p.Payload) != 160 {
			t.Errorf("record %d: rtp %+v payload %d", i, p.Header, len(p.Payload))
		}
	}
	if len(b) != 0 {
		t.Errorf("%d trailing bytes", len(b))
	}
}

func TestWriteRTPPcapRejects(t *testing.T) {
	for name, spec := range map[string]RTPPcap{
		"no packets": {},
		"not pcmu":   {Packets: 1, PayloadType: 8},
		"ipv6":       {Packets: 1, Src: netip.MustParseAddrPort("[::1]:4000")},
	} {
		if err := WriteRTPPcap(&bytes.Buffer{}, spec); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestULaw checks the encoder against G.711 reference points.
func TestULaw(t *testing.T) {
	for _, c := range []struct {
		in   int16
		want byte
	}{{0, 0xff}, {-1, 0x7f}, {32767, 0x80}, {-32768, 0x00}, {1000, 0xce}, {-1000, 0x4e}} {
		if got := linearToULaw(c.in); got != c.want {
			t.Errorf("linearToULaw(%d) = %#x, want %#x", c.in, got, c.want)
		}
	}
}

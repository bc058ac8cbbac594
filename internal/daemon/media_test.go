package daemon

import (
	"testing"

	"github.com/sbc-project/sbc/b2bua"
	"github.com/sbc-project/sbc/policy"
)

// TestMediaTotalsPerInterface: an ended call's media counts on both
// interfaces: what the caller sent arrived on the A side and left by the B
// side, and the other way round.
func TestMediaTotalsPerInterface(t *testing.T) {
	pol, err := policy.LoadSources([]policy.Source{{Name: "p.hcl", Data: []byte(`
trunk "pbx" {
  interface = "inside"
  match { sources = ["10.0.0.1"] }
}
trunk "carrier" {
  interface = "outside"
  match { sources = ["192.0.2.1"] }
  destination { host = "192.0.2.1" }
}
route "r" {
  trunks = ["carrier"]
}
`)}}, policy.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var mt mediaTotals
	mt.add(pol, &b2bua.CDR{FromTrunk: "pbx", ToTrunk: "carrier",
		Media: b2bua.MediaCDR{APackets: 100, ABytes: 17200, ALost: 2, BPackets: 90, BBytes: 15480, BLost: 1}})
	in, out := mt.m["inside"], mt.m["outside"]
	if in == nil || out == nil {
		t.Fatalf("totals %v", mt.m)
	}
	if *in != (ifaceTotals{pktIn: 100, bytesIn: 17200, lost: 2, pktOut: 90, bytesOut: 15480}) {
		t.Errorf("inside %+v", *in)
	}
	if *out != (ifaceTotals{pktIn: 90, bytesIn: 15480, lost: 1, pktOut: 100, bytesOut: 17200}) {
		t.Errorf("outside %+v", *out)
	}
}

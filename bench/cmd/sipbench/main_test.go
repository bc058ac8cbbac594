package main

import (
	"reflect"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-short"})
	if err != nil {
		t.Fatal(err)
	}
	if o.step != 5*time.Second || o.concurrent != 5000 || o.stopAfterFail != 1 || o.timeout >= 5*time.Minute ||
		!reflect.DeepEqual(o.rates, []float64{500, 1000, 2000, 3000, 4000, 5000, 6000}) {
		t.Errorf("short defaults: %+v", o)
	}
	o, err = parseFlags([]string{"-rates", "20, 40", "-step", "2s", "-systems", "sbc", "-concurrent", "0"})
	if err != nil {
		t.Fatal(err)
	}
	if o.step != 2*time.Second || o.concurrent != 0 || o.stopAfterFail != 2 ||
		!reflect.DeepEqual(o.rates, []float64{20, 40}) || !reflect.DeepEqual(o.systems, []string{"sbc"}) {
		t.Errorf("explicit flags: %+v", o)
	}
	for _, bad := range [][]string{{"-rates", "100,x"}, {"-rates", "-5"}, {"-systems", "opensips"}, {"extra"}} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

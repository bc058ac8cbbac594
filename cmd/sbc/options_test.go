package main

import (
	"log/slog"
	"testing"
	"time"

	"github.com/sbc-project/sbc/config"
)

// TestOptionsFromConfig: the settings added to the configuration reach the
// daemon as the packages below read them ("0s" reuse delay is "no rest",
// which the relay spells as a negative delay; unset is its default).
func TestOptionsFromConfig(t *testing.T) {
	for _, tc := range []struct {
		media     string
		idle      int
		reuse     time.Duration
		overload  time.Duration
		tryingSet string
		trying    time.Duration
	}{
		{"", 0, config.DefaultReuseDelay, config.DefaultOverloadQueueDelay, "", config.DefaultTryingDelay},
		{"idle_sockets = -1\n  reuse_delay = \"0s\"", -1, -1, config.DefaultOverloadQueueDelay, "", config.DefaultTryingDelay},
		{"reuse_delay = \"5s\"", 0, 5 * time.Second, 0, "overload_queue_delay = \"0s\"\n  trying_delay = \"0s\"", 0},
	} {
		text := "interface \"inside\" {\n  listen {\n    transport = \"udp\"\n    address = \"127.0.0.1:5060\"\n  }\n" +
			"  media {\n    address = \"127.0.0.1\"\n    ports = \"20000-20099\"\n  }\n}\n" +
			"media {\n  " + tc.media + "\n}\nsip {\n  " + tc.tryingSet + "\n}\n"
		cfg, err := config.LoadBytes("t.hcl", []byte(text))
		if err != nil {
			t.Fatalf("%q: %v", tc.media, err)
		}
		o, err := options(cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if o.MediaIdleSockets != tc.idle || o.MediaReuseDelay != tc.reuse || o.OverloadQueueDelay != tc.overload || o.TryingDelay != tc.trying {
			t.Errorf("%q / %q: idle %d reuse %v overload %v trying %v; want %d %v %v %v", tc.media, tc.tryingSet,
				o.MediaIdleSockets, o.MediaReuseDelay, o.OverloadQueueDelay, o.TryingDelay, tc.idle, tc.reuse, tc.overload, tc.trying)
		}
	}
}

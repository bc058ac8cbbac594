package harness

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sbc-project/sbc/internal/testenv"
)

func kamCfg(v KamailioVariant, dir string) KamailioConfig {
	return KamailioConfig{Variant: v, Listen: netip.MustParseAddrPort("127.0.9.3:5060"),
		Callee: netip.MustParseAddrPort("127.0.9.20:5090"), Children: 1, DB: filepath.Join(dir, "topos.sqlite"),
		Redis: netip.MustParseAddrPort("127.0.9.4:6379")}
}

func TestKamailioRender(t *testing.T) {
	dir := t.TempDir()
	for _, v := range Variants {
		b, err := kamCfg(v, dir).Render()
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		text := string(b)
		for _, want := range []string{"children=1", "listen=udp:127.0.9.3:5060", `loadmodule "tm.so"`, `loadmodule "rr.so"`,
			"record_route();", "loose_route()", `$du = "sip:127.0.9.20:5090";`} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: config lacks %q", v, want)
			}
		}
		has := func(s string) bool { return strings.Contains(text, s) }
		topos := v == KamailioTopos || v == KamailioToposRedis
		if has(`"topoh.so"`) != (v == KamailioTopoh) || has(`"topos.so"`) != topos ||
			has(`"topos_redis.so"`) != (v == KamailioToposRedis) {
			t.Errorf("%s: wrong topology modules:\n%s", v, text)
		}
		if v == KamailioTopos && !has(`"sqlite://`+filepath.Join(dir, "topos.sqlite")+`"`) {
			t.Errorf("topos: no db_url for the SQLite file")
		}
		if v == KamailioToposRedis && !has(`"name=tps;addr=127.0.9.4;port=6379"`) {
			t.Errorf("topos-redis: no ndb_redis server")
		}
	}
	if _, err := (KamailioConfig{Variant: "dialog", Listen: netip.MustParseAddrPort("127.0.0.1:1"),
		Callee: netip.MustParseAddrPort("127.0.0.1:2")}).Render(); !errors.Is(err, ErrConfig) {
		t.Errorf("unknown variant: err = %v", err)
	}
	if _, err := (KamailioConfig{Variant: KamailioTopos, Listen: netip.MustParseAddrPort("127.0.0.1:1"),
		Callee: netip.MustParseAddrPort("127.0.0.1:2"), DB: "rel.sqlite"}).Render(); !errors.Is(err, ErrConfig) {
		t.Errorf("relative db: err = %v", err)
	}
	if _, err := (KamailioConfig{Variant: KamailioPlain}).Render(); !errors.Is(err, ErrConfig) {
		t.Errorf("no addresses: err = %v", err)
	}
}

// TestKamailioConfigChecks renders every variant and has Kamailio itself
// check it (kamailio -c), the topos one against a real SQLite schema.
func TestKamailioConfigChecks(t *testing.T) {
	bin := testenv.LookPath(t, "kamailio")
	for _, m := range []string{"topoh.so", "topos.so", "db_sqlite.so", "ndb_redis.so", "topos_redis.so"} {
		if _, err := os.Stat(filepath.Join("/usr/lib/x86_64-linux-gnu/kamailio/modules", m)); err != nil {
			testenv.Missing(t, "Kamailio module "+m+" (kamailio-extra-modules, kamailio-sqlite-modules, kamailio-redis-modules)")
		}
	}
	testenv.LookPath(t, "sqlite3")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	if err := CreateToposDB(ctx, filepath.Join(dir, "topos.sqlite")); err != nil {
		t.Fatal(err)
	}
	for _, v := range Variants {
		b, err := kamCfg(v, dir).Render()
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, string(v)+".cfg")
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := CheckKamailioConfig(ctx, bin, file); err != nil {
			t.Errorf("%s: %v", v, err)
		}
	}
	// The check must be able to fail: a config with a syntax error.
	bad := filepath.Join(dir, "bad.cfg")
	if err := os.WriteFile(bad, []byte("#!KAMAILIO\nno_such_global=yes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckKamailioConfig(ctx, bin, bad); !errors.Is(err, ErrConfig) {
		t.Errorf("bad config passed the check: %v", err)
	}
}

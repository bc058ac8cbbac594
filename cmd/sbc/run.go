package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// errRunNotWired is returned until the daemon's wiring (transports,
// transactions, B2BUA, media relay, admin API) is added by the integrator.
var errRunNotWired = errors.New("sbc: run: the daemon is not wired yet in this build; use `sbc check` or `sbc route`")

// runMain is the `run` subcommand (and `sbc` with no arguments). It parses
// the run flags and loads the configuration and policy, then hands over to
// runDaemon.
func runMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sbc run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := addConfigFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, pol, code := loadAll(cf, stderr)
	if code != 0 {
		return code
	}
	if err := runDaemon(cfg, pol, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/sbc-project/sbc/policy"
)

// checkMain validates the configuration and the policy; it prints the
// diagnostics and exits 1 on error, or prints a short summary and exits 0.
func checkMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sbc check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := addConfigFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sbc check: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cfg, pol, code := loadAll(cf, stderr)
	if code != 0 {
		return code
	}
	listeners := 0
	for _, i := range cfg.Interfaces {
		listeners += len(i.Listeners)
	}
	fmt.Fprintf(stdout, "config %s: OK: %d interface(s) (%s), %d listener(s)\n",
		cfg.Source, len(cfg.Interfaces), strings.Join(cfg.InterfaceNames(), ", "), listeners)
	files := policy.DefaultName
	if len(pol.Files()) > 0 {
		files = strings.Join(pol.Files(), ", ")
	}
	peers, access := 0, 0
	for _, t := range pol.Trunks() {
		if t.Kind == policy.KindAccess {
			access++
		} else {
			peers++
		}
	}
	rules := 0
	for _, name := range pol.ACLs() {
		a, _ := pol.ACL(name)
		rules += len(a.Entries)
	}
	fmt.Fprintf(stdout, "policy %s: OK: %d trunk(s) (%d peer, %d access), %d route(s) (%s), %d ACL rule(s) on %d interface(s)\n",
		files, len(pol.Trunks()), peers, access, len(pol.Routes()), pol.RouteSelection(), rules, len(pol.ACLs()))
	return 0
}

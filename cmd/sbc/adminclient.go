package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/sbc-project/sbc/admin"
	"github.com/sbc-project/sbc/config"
)

// adminCmd talks to a running SBC's admin API (address from -admin, or the
// configuration's admin listener).
func adminCmd(cmd string, args []string) int {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	var configs listFlag
	fs.Var(&configs, "config", "configuration file naming the admin listener (default: the embedded configuration)")
	addr := fs.String("admin", "", "admin API address, e.g. 127.0.0.1:9060 (overrides the configuration)")
	token := fs.String("token", os.Getenv("SBC_ADMIN_TOKEN"), "bearer token (default $SBC_ADMIN_TOKEN, else the configuration's)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load(configs...)
	if err != nil {
		printErr(os.Stderr, err)
		return 1
	}
	if *addr == "" {
		*addr = cfg.Admin.Listen
	}
	if *token == "" {
		*token = cfg.Admin.Token
	}
	if *addr == "" {
		fmt.Fprintln(os.Stderr, "sbc: no admin address (the configuration has none; use -admin)")
		return 2
	}
	c, err := admin.NewClient("http://"+*addr, *token, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sbc:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	switch cmd {
	case "calls":
		calls, err := c.Calls(ctx)
		if err != nil {
			return fail(err)
		}
		if err := admin.WriteCalls(os.Stdout, calls); err != nil {
			return fail(err)
		}
	case "hangup":
		if fs.NArg() != 1 {
			fmt.Fprintln(os.Stderr, "usage: sbc hangup [flags] CALL-ID")
			return 2
		}
		if err := c.Hangup(ctx, fs.Arg(0)); err != nil {
			return fail(err)
		}
		fmt.Println("hung up", fs.Arg(0))
	case "reload":
		res, err := c.Reload(ctx)
		var re *admin.ReloadError
		if errors.As(err, &re) {
			fmt.Fprintln(os.Stderr, "policy reload failed; the previous policy stays in force:")
			fmt.Fprint(os.Stderr, re.Diagnostics)
			return 1
		}
		if err != nil {
			return fail(err)
		}
		fmt.Println("policy reloaded:", res.Summary)
	case "drain":
		res, err := c.Drain(ctx)
		if err != nil {
			return fail(err)
		}
		fmt.Printf("draining: %+v\n", res)
	case "health":
		h, err := c.Health(ctx)
		if err != nil {
			return fail(err)
		}
		fmt.Printf("%s: version %s, up %.0fs, %d active calls, policy %s\n", h.Status, h.Version, h.UptimeSeconds, h.ActiveCalls, h.PolicyHash)
	}
	return 0
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "sbc:", err)
	return 1
}

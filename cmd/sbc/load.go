package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/sbc-project/sbc/config"
	"github.com/sbc-project/sbc/internal/hclutil"
	"github.com/sbc-project/sbc/policy"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// configFlags are the flags every subcommand that loads the configuration
// shares; they override the files (config.Overrides).
type configFlags struct {
	config    string
	policies  listFlag
	logLevel  string
	logFormat string
	admin     string
	metrics   string
}

func addConfigFlags(fs *flag.FlagSet) *configFlags {
	c := &configFlags{}
	fs.StringVar(&c.config, "config", "", "configuration file (default: the embedded loopback demo)")
	fs.Var(&c.policies, "policy", "policy file, repeatable (default: the config's policy block, else the embedded demo)")
	fs.StringVar(&c.logLevel, "log-level", "", "log level: debug, info, warn, error")
	fs.StringVar(&c.logFormat, "log-format", "", "log format: text or json")
	fs.StringVar(&c.admin, "admin", "", "admin API listen address:port")
	fs.StringVar(&c.metrics, "metrics", "", "metrics listen address:port")
	return c
}

// loadAll loads the configuration and then the policy against its
// interfaces, printing diagnostics with source snippets on failure. The
// exit code is 0 on success and 1 on invalid input.
func loadAll(cf *configFlags, stderr io.Writer) (*config.Config, *policy.Policy, int) {
	cfg, err := config.Load(cf.config, config.Overrides{
		PolicyFiles:   cf.policies,
		LogLevel:      cf.logLevel,
		LogFormat:     cf.logFormat,
		AdminListen:   cf.admin,
		MetricsListen: cf.metrics,
	})
	if err != nil {
		printErr(stderr, err)
		return nil, nil, 1
	}
	pol, err := policy.Load(cfg.PolicyFiles, policy.LoadOptions{Interfaces: cfg.InterfaceNames(), Transports: cfg.InterfaceTransports()})
	if err != nil {
		printErr(stderr, err)
		return cfg, nil, 1
	}
	return cfg, pol, 0
}

func printErr(w io.Writer, err error) {
	var de *hclutil.DiagError
	if errors.As(err, &de) {
		_ = de.WriteText(w, 100, false)
		fmt.Fprintf(w, "%d error(s)\n", len(de.Diags.Errs()))
		return
	}
	fmt.Fprintln(w, err)
}

package main

// THE INTEGRATOR REPLACES THIS FILE. runDaemon is the one place where the
// daemon is wired: transports, transactions, B2BUA, media relay, the
// policy.Store with Watch (SIGHUP and file changes), admin and metrics
// listeners, and graceful shutdown. Everything before it (flags, config
// and policy loading with diagnostics) is done by runMain.

import (
	"io"

	"github.com/sbc-project/sbc/config"
	"github.com/sbc-project/sbc/policy"
)

func runDaemon(cfg *config.Config, pol *policy.Policy, stdout, stderr io.Writer) error {
	_, _, _, _ = cfg, pol, stdout, stderr
	return errRunNotWired
}

package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func versionMain(_ []string, stdout, _ io.Writer) int {
	rev := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				rev = " " + s.Value
			}
		}
		fmt.Fprintf(stdout, "sbc %s%s (%s)\n", version, rev, bi.GoVersion)
		return 0
	}
	fmt.Fprintf(stdout, "sbc %s\n", version)
	return 0
}

// Command sbc is the Session Border Controller daemon and its operator
// tools: `sbc` (or `sbc run`) runs it, `sbc check` validates configuration
// and policy, `sbc route` shows what the policy would do with a call, and
// `sbc calls`, `sbc hangup`, `sbc reload`, `sbc drain` talk to a running
// daemon's admin API.
package main

import (
	"fmt"
	"os"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	os.Exit(dispatch(os.Args[1:]))
}

func dispatch(args []string) int {
	cmd := "run"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return runCmd(args)
	case "check":
		return checkCmd(args)
	case "route":
		return routeCmd(args)
	case "calls", "hangup", "reload", "drain", "health":
		return adminCmd(cmd, args)
	case "version":
		fmt.Println("sbc", version)
		return 0
	case "help", "-h", "--help":
		usage()
		return 0
	}
	fmt.Fprintf(os.Stderr, "sbc: unknown command %q\n", cmd)
	usage()
	return 2
}

func usage() {
	fmt.Fprint(os.Stderr, `usage: sbc [command] [flags]

commands:
  run      run the SBC (the default; with no flags on the embedded loopback configuration)
  check    validate configuration and policy files
  route    show what the policy would do with a call
  calls    list the calls of a running SBC
  hangup   end a call of a running SBC: sbc hangup ID
  reload   reload a running SBC's policy
  drain    stop taking calls and exit when the last one ends
  health   show a running SBC's health
  version  print the version

Run 'sbc COMMAND -h' for a command's flags.
`)
}

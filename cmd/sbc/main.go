// Command sbc is the Session Border Controller daemon and its operator
// subcommands. `sbc` with no arguments (or `sbc run`) runs the daemon.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

// command is one subcommand: it parses its own flags from args and returns
// the process exit code.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"run", "run the SBC (the default when no subcommand is given)", runMain},
		{"check", "validate the configuration and policy, print a summary", checkMain},
		{"route", "show what the policy would do with a call", routeMain},
		{"version", "print the version", versionMain},
	}
}

// dispatch picks the subcommand: none, or a first argument that is a flag,
// means run.
func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || len(args[0]) > 0 && args[0][0] == '-' && args[0] != "-h" && args[0] != "-help" && args[0] != "--help" {
		return runMain(args, stdout, stderr)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	code := 2
	if h := args[0]; h == "help" || h == "-h" || h == "-help" || h == "--help" {
		code = 0
	} else {
		fmt.Fprintf(stderr, "sbc: unknown command %q\n", args[0])
	}
	w := stderr
	if code == 0 {
		w = stdout
	}
	fmt.Fprintln(w, "usage: sbc [command] [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nsbc COMMAND -h shows the flags of a command.")
	return code
}

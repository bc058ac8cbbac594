// Package deploy holds the SBC's systemd unit (sbc.service) and the tests of
// it and of scripts/install.sh, the installer that builds the binary and
// installs it, the unit, an example configuration and the dedicated system
// user. It has no Go API.
package deploy

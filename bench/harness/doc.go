// Package harness is the SBC's side-by-side SIP load bench (issue 9): it
// starts the real sbc daemon, Kamailio (plain record-routing proxy, topoh,
// topos) and SIPp on loopback, each by its own PID, drives call-rate ramps
// and a concurrent-calls hold through them with the scenarios of
// scripts/sipp (uac-load / uas-load: INVITE/200/ACK, hold, BYE/200, in-dialog
// requests routed by the route set of RFC 3261 12.1.2 and 12.2.1.1), samples
// the system's CPU and memory from /proc, and writes a Markdown report with
// PNG plots. The pass criterion of a step is zero failed calls and a p99
// set-up time (SIPp's response time INVITE -> 200) under a bound.
package harness

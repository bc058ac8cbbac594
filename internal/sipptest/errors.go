package sipptest

import "errors"

// ErrConfig reports a Config that cannot start a bounded SIPp run.
var ErrConfig = errors.New("sipptest: invalid config")

// ErrNotReady reports that SIPp did not bind its SIP socket in time.
var ErrNotReady = errors.New("sipptest: sipp did not bind its socket")

// ErrExited reports that SIPp exited before it was ready.
var ErrExited = errors.New("sipptest: sipp exited early")

// ErrNoStats reports that SIPp left no statistics file (it failed before
// its first dump).
var ErrNoStats = errors.New("sipptest: no statistics file")

// ErrStatFormat reports a statistics or RTT file that does not parse.
var ErrStatFormat = errors.New("sipptest: malformed statistics file")

// ErrPcap reports a capture that cannot be written as asked.
var ErrPcap = errors.New("sipptest: pcap")

// ErrNoPort reports that no free port (or media port range) was found.
var ErrNoPort = errors.New("sipptest: no free port")

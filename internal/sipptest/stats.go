package sipptest

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Counters are the call counters of one SIPp statistics row, either the
// periodic (P) values since the previous row or the cumulative (C) ones.
type Counters struct {
	IncomingCalls   int64
	OutgoingCalls   int64
	SuccessfulCalls int64
	FailedCalls     int64
	// Failures holds the non-zero Failed* counters by reason, e.g.
	// "MaxUDPRetrans", "UnexpectedMessage", "TimeoutOnRecv".
	Failures        map[string]int64
	Retransmissions int64
	OutOfCallMsgs   int64
	DeadCallMsgs    int64
	AutoAnswered    int64
	Warnings        int64
	FatalErrors     int64
	WatchdogMajor   int64
	WatchdogMinor   int64
	// ResponseTimes are the mean response times; index 0 is counter 1
	// (rtd="true"), index 1 counter 2, and so on.
	ResponseTimes       []time.Duration
	ResponseTimeStdDevs []time.Duration
	CallLength          time.Duration
	CallLengthStdDev    time.Duration
	CallRate            float64
	Elapsed             time.Duration
}

// StatRow is one row of SIPp's -trace_stat file.
type StatRow struct {
	Periodic   Counters
	Cumulative Counters
	// TotalCallsCreated and CurrentCalls have no periodic form.
	TotalCallsCreated int64
	CurrentCalls      int64
	TargetRate        float64
	// Raw maps every column name to its value, for counters not above.
	Raw map[string]string
}

// ParseStatCSV parses a SIPp statistics file (-trace_stat, ';'-separated,
// one header line, then one row per -fd period and one at exit).
func ParseStatCSV(r io.Reader) ([]StatRow, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20) // rows are ~1 KiB; grow as needed
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrStatFormat, err)
		}
		return nil, fmt.Errorf("%w: empty", ErrStatFormat)
	}
	header := strings.Split(strings.TrimRight(sc.Text(), ";\r"), ";")
	if len(header) < 10 || header[0] != "StartTime" {
		return nil, fmt.Errorf("%w: header %.60q", ErrStatFormat, sc.Text())
	}
	var rows []StatRow
	line := 1
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if text == "" {
			continue
		}
		fields := strings.Split(strings.TrimSuffix(text, ";"), ";")
		if len(fields) != len(header) {
			return nil, fmt.Errorf("%w: line %d has %d fields, header %d", ErrStatFormat, line, len(fields), len(header))
		}
		row, err := parseRow(header, fields)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrStatFormat, line, err)
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStatFormat, err)
	}
	return rows, nil
}

func parseRow(header, fields []string) (StatRow, error) {
	row := StatRow{Raw: make(map[string]string, len(header))}
	for i, name := range header {
		row.Raw[name] = fields[i]
	}
	for i, name := range header {
		v := fields[i]
		base, kind := name, byte(0)
		if strings.HasSuffix(name, "(P)") || strings.HasSuffix(name, "(C)") {
			base, kind = name[:len(name)-3], name[len(name)-2]
		}
		var c *Counters
		switch kind {
		case 'P':
			c = &row.Periodic
		case 'C':
			c = &row.Cumulative
		default:
			var err error
			switch name {
			case "TotalCallCreated":
				row.TotalCallsCreated, err = strconv.ParseInt(v, 10, 64)
			case "CurrentCall":
				row.CurrentCalls, err = strconv.ParseInt(v, 10, 64)
			case "TargetRate":
				row.TargetRate, err = strconv.ParseFloat(v, 64)
			}
			if err != nil {
				return row, fmt.Errorf("%s=%q: %v", name, v, err)
			}
			continue
		}
		if err := c.set(base, v); err != nil {
			return row, fmt.Errorf("%s=%q: %v", name, v, err)
		}
	}
	return row, nil
}

func (c *Counters) set(name, v string) error {
	var err error
	switch {
	case name == "ElapsedTime":
		c.Elapsed, err = parseSIPpDuration(v)
	case name == "CallRate":
		c.CallRate, err = strconv.ParseFloat(v, 64)
	case name == "CallLength":
		c.CallLength, err = parseSIPpDuration(v)
	case name == "CallLengthStDev":
		c.CallLengthStdDev, err = parseSIPpDuration(v)
	case strings.HasPrefix(name, "ResponseTime"):
		rest := strings.TrimPrefix(name, "ResponseTime")
		std := strings.HasSuffix(rest, "StDev")
		n, perr := strconv.Atoi(strings.TrimSuffix(rest, "StDev"))
		if perr != nil || n < 1 || n > 64 {
			return nil // a column SIPp may add; kept in Raw
		}
		d, derr := parseSIPpDuration(v)
		if derr != nil {
			return derr
		}
		list := &c.ResponseTimes
		if std {
			list = &c.ResponseTimeStdDevs
		}
		for len(*list) < n {
			*list = append(*list, 0)
		}
		(*list)[n-1] = d
	default:
		p := c.counter(name)
		if p == nil && strings.HasPrefix(name, "Failed") {
			var n int64
			if n, err = strconv.ParseInt(v, 10, 64); err == nil && n != 0 {
				if c.Failures == nil {
					c.Failures = map[string]int64{}
				}
				c.Failures[strings.TrimPrefix(name, "Failed")] = n
			}
			return err
		}
		if p != nil {
			*p, err = strconv.ParseInt(v, 10, 64)
		}
	}
	return err
}

func (c *Counters) counter(name string) *int64 {
	switch name {
	case "IncomingCall":
		return &c.IncomingCalls
	case "OutgoingCall":
		return &c.OutgoingCalls
	case "SuccessfulCall":
		return &c.SuccessfulCalls
	case "FailedCall":
		return &c.FailedCalls
	case "Retransmissions":
		return &c.Retransmissions
	case "OutOfCallMsgs":
		return &c.OutOfCallMsgs
	case "DeadCallMsgs":
		return &c.DeadCallMsgs
	case "AutoAnswered":
		return &c.AutoAnswered
	case "Warnings":
		return &c.Warnings
	case "FatalErrors":
		return &c.FatalErrors
	case "WatchdogMajor":
		return &c.WatchdogMajor
	case "WatchdogMinor":
		return &c.WatchdogMinor
	}
	return nil
}

// parseSIPpDuration parses SIPp's "HH:MM:SS" and "HH:MM:SS:uuuuuu".
func parseSIPpDuration(s string) (time.Duration, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 && len(parts) != 4 {
		return 0, fmt.Errorf("duration %q", s)
	}
	var n [4]int64
	for i, p := range parts {
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("duration %q", s)
		}
		n[i] = v
	}
	return time.Duration(n[0])*time.Hour + time.Duration(n[1])*time.Minute +
		time.Duration(n[2])*time.Second + time.Duration(n[3])*time.Microsecond, nil
}

// RTTSample is one response time of -trace_rtt.
type RTTSample struct {
	// At is when it was measured, from the start of the run.
	At time.Duration
	// Value is the response time.
	Value time.Duration
	// RTD is the response-time counter (1 for rtd="true", n for rtd="n").
	RTD int
}

// ParseRTT parses a SIPp -trace_rtt file: "Date_ms;response_time_ms;rtd_no".
func ParseRTT(r io.Reader) ([]RTTSample, error) {
	sc := bufio.NewScanner(r)
	var out []RTTSample
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || (line == 1 && strings.HasPrefix(text, "Date_ms")) {
			continue
		}
		f := strings.Split(strings.TrimSuffix(text, ";"), ";")
		if len(f) != 3 {
			return nil, fmt.Errorf("%w: rtt line %d: %q", ErrStatFormat, line, text)
		}
		at, err1 := strconv.ParseFloat(f[0], 64)
		val, err2 := strconv.ParseFloat(f[1], 64)
		rtd, err3 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil || err3 != nil || val < 0 || math.IsNaN(val) {
			return nil, fmt.Errorf("%w: rtt line %d: %q", ErrStatFormat, line, text)
		}
		out = append(out, RTTSample{
			At:    time.Duration(at * float64(time.Millisecond)),
			Value: time.Duration(val * float64(time.Millisecond)),
			RTD:   rtd,
		})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStatFormat, err)
	}
	return out, nil
}

// Percentile returns the p-th percentile (0 < p <= 100) of sorted values by
// the nearest-rank method, or 0 for no values.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 || p <= 0 {
		return 0
	}
	if p >= 100 {
		return sorted[len(sorted)-1]
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

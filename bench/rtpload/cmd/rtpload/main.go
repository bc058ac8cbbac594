// Command rtpload drives RTP load through a media relay and measures it.
//
//	rtpload relay -ng 127.0.0.1:2224 -addr 127.0.0.1 -ports 20000-29999 [-workers 1] [-engine epoll]
//	    runs the SBC's mediarelay behind a minimal NG control server
//	rtpload run -ng 127.0.0.1:2224 -pid PID -calls 1000 -duration 15s [-name sbc]
//	    sets calls up over NG, sends 172-byte packets at 50 pps per direction,
//	    and prints one result line (and a JSON line with -json)
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sbc-project/sbc/bench/rtpload"
	"github.com/sbc-project/sbc/mediarelay"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: rtpload relay|run [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "relay":
		err = relay(os.Args[2:])
	case "run":
		err = run(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rtpload:", err)
		os.Exit(1)
	}
}

func relay(args []string) error {
	fs := flag.NewFlagSet("relay", flag.ExitOnError)
	ng := fs.String("ng", "127.0.0.1:2224", "NG control address")
	addr := fs.String("addr", "127.0.0.1", "media address")
	ports := fs.String("ports", "20000-29999", "media port range")
	workers := fs.Int("workers", 1, "epoll workers")
	engine := fs.String("engine", "epoll", "epoll or goroutine")
	socketSend := fs.Bool("socket-send", false, "send by each leg's socket instead of raw batched sending")
	coalesce := fs.Duration("coalesce", 0, "epoll worker coalescing sleep under load (0: default, negative: off)")
	fs.Parse(args)
	lo, hi, ok := strings.Cut(*ports, "-")
	pmin, err1 := strconv.Atoi(lo)
	pmax, err2 := strconv.Atoi(hi)
	if !ok || err1 != nil || err2 != nil {
		return fmt.Errorf("bad -ports %q", *ports)
	}
	e := mediarelay.EngineEpoll
	if *engine == "goroutine" {
		e = mediarelay.EngineGoroutine
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	r, err := mediarelay.New(mediarelay.Config{
		Engine: e, Workers: *workers, Logger: log, Coalesce: *coalesce, SocketSend: *socketSend,
		Interfaces: []mediarelay.InterfaceConfig{{Name: "lo", Addr: netip.MustParseAddr(*addr), PortMin: uint16(pmin), PortMax: uint16(pmax)}},
	})
	if err != nil {
		return err
	}
	srv, err := rtpload.NewNGServer(r, "lo", netip.MustParseAddrPort(*ng))
	if err != nil {
		r.Close()
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-sig; srv.Close() }()
	err = srv.Serve()
	r.Close()
	return err
}

func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	ng := fs.String("ng", "127.0.0.1:2224", "relay NG control address")
	local := fs.String("local", "127.0.0.1", "generator address")
	pid := fs.Int("pid", 0, "relay process ID for CPU measurement")
	calls := fs.Int("calls", 1000, "concurrent calls (2 streams each)")
	dur := fs.Duration("duration", 15*time.Second, "sending time")
	pps := fs.Int("pps", 50, "packets per second per stream")
	name := fs.String("name", "relay", "label of the result")
	asJSON := fs.Bool("json", false, "also print the result as JSON")
	poll := fs.Duration("recv-poll", time.Millisecond, "generator receivers poll every this often instead of blocking (0: block)")
	fs.Parse(args)
	res, err := rtpload.Run(rtpload.Config{
		NG: netip.MustParseAddrPort(*ng), Local: netip.MustParseAddr(*local), Calls: *calls, PPS: *pps,
		Size: 172, Duration: *dur, RecvPoll: *poll, RelayPID: *pid, CallIDTag: fmt.Sprintf("%s-%d-%d", *name, *calls, time.Now().UnixNano()),
	})
	if err != nil {
		return err
	}
	fmt.Printf("%-10s %s\n", *name, res)
	if *asJSON {
		b, _ := json.Marshal(struct {
			Name string
			rtpload.Result
		}{*name, res})
		fmt.Println(string(b))
	}
	return nil
}

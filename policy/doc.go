// Package policy is the operator's policy of the SBC, written in HCL and
// reloadable while calls run: trunks (peer carriers and PBXs, and access
// trunks of NATed user agents), routes (match, number rewriting, header
// rules, failover, rejection), ACLs per interface and default limits. It
// decides what the B2BUA does with traffic; it owns no sockets and keeps no
// runtime counters. It applies RFC 3261 (header names §7.3, §25.1; reason
// phrases §21), RFC 3263 §4.2 (default ports), RFC 3325 and RFC 3323 (trust
// domain, P-Asserted-Identity and Privacy), RFC 3966 / E.164 (number
// normalisation) and RFC 5626 §3.5.1 (CRLF keepalives).
//
// # Files
//
// A policy is one or more HCL files with these top-level blocks:
//
//	variables { name = expr ... }            // var.name anywhere below
//	defaults  { route_selection = "first_match" | "longest_prefix"
//	            no_route_code = 404  no_route_reason = "Not Found"
//	            limits { calls calls_in calls_out cps_in cps_out } }
//	trunk "name" {
//	  kind      = "peer" | "access"          // default peer
//	  interface = "outside"
//	  match       { sources = ["192.0.2.0/24", "198.51.100.7"]  transport = "udp"  port = 5060 }
//	  destination { host = "192.0.2.10"  port = 5060  transport = "udp" }  // repeat: alternates
//	  credentials { username = "..."  password = var.secret  realm = "..." }
//	  limits      { calls = 100  cps_in = 10 ... }   // unset ones come from defaults
//	  codecs    = ["PCMA", "PCMU", "telephone-event"]
//	  media       { latching = "learn" | "strict" | "once" }
//	  identity    { trusted = true  assert = "forward" | "none" | "sip:..."  privacy = "honor" | "force" | "ignore" }
//	  headers     { pass = ["X-Account-Id"] }     // allowlist toward the other leg
//	  keepalive   { method = "options" | "crlf"  interval = "30s" }
//	  registrar   { host port transport  ua_expires = 60  registrar_expires = 3600 }  // access only
//	}
//	route "name" {
//	  match {
//	    from_trunk = ["carrier_a"]
//	    ruri_user { prefix = ["+4930", "+4940"] }   // or exact = ..., or regex = "..."
//	    from_user { regex = "^\\+49" }
//	    header "X-Foo" { exact = "bar" }              // or prefix, regex, present = true|false
//	  }
//	  rewrite "ruri_user" { strip = 1  prefix = "+49" }      // or regex = "..."  replace = "$1"
//	  header "X-Called" { set = "${out.ruri_user}" }         // or add = ..., remove = true
//	  trunks   = ["carrier_a", "carrier_b"]
//	  failover { on = [408, 500, 503]  timeout = "8s" }
//	  reject   { code = 403  reason = "Forbidden" }         // instead of trunks
//	}
//	acl "outside" { allow = [...]  deny = [...]  default = "deny" }
//
// Expressions may use var.*, and the functions upper, lower, strlen, substr,
// trimprefix, trimsuffix, trimspace, replace, regex, regexall,
// regex_replace, format, join, split, concat, length, coalesce, contains,
// distinct and flatten; nothing reads files or the environment. Header rule
// values are evaluated per call and may also use req.ruri_user,
// req.from_user, req.to_user, req.source_trunk (as received),
// out.ruri_user, out.from_user, out.to_user, out.route (after rewriting)
// and header("Name") / has_header("Name").
//
// Every semantic error is an hcl.Diagnostic with the file, line and column
// (see DiagError.WriteText).
//
// # API for the B2BUA
//
//	store := policy.NewStore(policy.LoadOptions{Interfaces: names}, log)
//	store.Load(cfg.PolicyFiles)                   // nil: embedded default
//	go store.Watch(ctx, sighup, time.Second, nil) // SIGHUP and file changes
//
//	p := store.Current()                          // once per call; keep it
//	if !p.ACLAllows(iface, src.Addr()) { drop }
//	trunk, ok := p.MatchTrunk(src, "udp", iface)  // *Trunk: identity, headers, codecs, limits ...
//	d := p.Route(policy.RouteRequest{SourceTrunk: trunk.Name, RURIUser: ..., FromUser: ...,
//	        ToUser: ..., Header: func(name string) (string, bool) {...}})
//	if d.Rejected() { respond d.RejectCode, d.RejectReason }
//	for _, t := range d.Trunks { try t.Destinations with d.RURIUser ...; advance on d.FailoverOn / d.FailoverTimeout }
//	apply d.Headers (add / set / remove, values already computed)
//
// Limits are numbers only: counting calls and rates is the B2BUA's runtime
// state. Route, MatchTrunk and ACLAllows do not allocate (Route allocates
// only for rewrites and header rules).
package policy

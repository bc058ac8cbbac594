// Package admin serves the SBC's operator interface on the admin listener
// (127.0.0.1:9060 by default; a non-loopback address requires a token):
//
//	GET    /metrics                  Prometheus exposition (the metrics package's registry)
//	GET    /api/calls[?trunk=name]   calls in progress with legs, trunks, age and media stats
//	GET    /api/calls/{id}           one call (404 if unknown)
//	DELETE /api/calls/{id}           hang a call up (202; also POST /api/calls/{id}/hangup)
//	GET    /api/registrations        the registration cache
//	POST   /api/reload               reload policy: 200, or 422 with diagnostics (old policy stays)
//	POST   /api/drain                graceful shutdown (202)
//	GET    /api/health               200 "ok", 503 "draining"
//
// Answers are JSON; errors are {"error": "..."}; other methods on these paths
// get 405 with Allow (RFC 9110 §15.5.6). With a token configured, every
// endpoint requires "Authorization: Bearer <token>" and answers 401 with a
// WWW-Authenticate challenge otherwise (RFC 6750 §2.1, §3). Data comes
// through small interfaces (Calls, Registrations, Reloader, Drainer,
// HealthChecker) the daemon implements; admin imports no other SBC package.
// Client is the API's client for the sbc calls / hangup / reload / drain
// subcommands.
package admin

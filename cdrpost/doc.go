// Package cdrpost delivers call detail records to an operator's HTTP endpoint:
// one POST per CDR (RFC 9110 §9.3.3) from a bounded queue, a fixed set of
// workers, retries with exponential backoff and jitter on server errors
// (5xx), 408, 429 (honouring Retry-After, RFC 9110 §10.2.3), timeouts and
// connection errors, never on other 4xx answers; Close drains the queue so
// that no CDR is lost on a clean shutdown. It uses the standard library only.
package cdrpost

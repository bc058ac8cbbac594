package cdrpost

import "errors"

var (
	// ErrRejected is wrapped in the error given to OnGiveUp for a CDR the
	// endpoint refused with a non-retryable status (4xx other than 408 and
	// 429, or an unexpected 3xx).
	ErrRejected = errors.New("cdrpost: rejected by endpoint")
	// ErrAttempts is wrapped for a CDR that failed MaxAttempts times.
	ErrAttempts = errors.New("cdrpost: attempts exhausted")
	// ErrAborted is wrapped for a CDR still queued or being retried when
	// Close's context ended.
	ErrAborted = errors.New("cdrpost: aborted at shutdown")
	// ErrBadURL is returned by New for a URL that is not absolute http(s).
	ErrBadURL = errors.New("cdrpost: URL must be absolute http or https")
)

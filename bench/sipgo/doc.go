// Package sipgo measures the SBC's SIP parser and serializer side by side with
// github.com/emiago/sipgo's on the same bytes. sipgo is a test oracle and
// baseline only: it is required by the bench module, never by the SBC.
package sipgo

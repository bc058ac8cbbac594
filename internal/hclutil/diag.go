package hclutil

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// DiagError is the error of a policy or configuration that failed to load:
// its diagnostics and the parsed files they point into, so they can be
// printed with the offending source lines.
type DiagError struct {
	// Sentinel is the package's ErrInvalid, which Unwrap returns.
	Sentinel error
	Diags    hcl.Diagnostics
	Files    map[string]*hcl.File
}

// Error renders one line per diagnostic: file:line,col: summary; detail.
func (e *DiagError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d error(s)", e.Sentinel, len(e.Diags.Errs()))
	for _, d := range e.Diags {
		b.WriteString("\n")
		b.WriteString(d.Error())
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrInvalid) hold for the package's sentinel.
func (e *DiagError) Unwrap() error { return e.Sentinel }

// WriteText prints each diagnostic as a compiler-style "file:line:column:"
// line followed by its source snippet and detail
// (hcl.NewDiagnosticTextWriter), wrapped at width columns (0: no wrapping).
func (e *DiagError) WriteText(w io.Writer, width uint, color bool) error {
	return WriteDiagnostics(w, e.Diags, e.Files, width, color)
}

// WriteDiagnostics is DiagError.WriteText for any diagnostics; package
// config prints its own with it too.
func WriteDiagnostics(w io.Writer, diags hcl.Diagnostics, files map[string]*hcl.File, width uint, color bool) error {
	tw := hcl.NewDiagnosticTextWriter(w, files, width, color)
	for _, d := range diags {
		sev := "error"
		if d.Severity == hcl.DiagWarning {
			sev = "warning"
		}
		if d.Subject != nil {
			s := d.Subject.Start
			if _, err := fmt.Fprintf(w, "%s:%d:%d: %s: %s\n", d.Subject.Filename, s.Line, s.Column, sev, d.Summary); err != nil {
				return err
			}
		} else if _, err := fmt.Fprintf(w, "%s: %s\n", sev, d.Summary); err != nil {
			return err
		}
		if err := tw.WriteDiagnostic(d); err != nil {
			return err
		}
	}
	return nil
}

// Text is WriteText into a string, without color.
func (e *DiagError) Text() string {
	var b bytes.Buffer
	_ = e.WriteText(&b, 0, false)
	return b.String()
}

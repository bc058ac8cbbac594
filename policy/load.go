package policy

import (
	_ "embed"
	"io"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/sbc-project/sbc/internal/hclutil"
)

//go:embed default.hcl
var defaultPolicy []byte

// DefaultName is the file name diagnostics give the embedded default policy.
const DefaultName = "<default policy>"

// DefaultSource returns the embedded default policy: calls from loopback
// routed to a peer at 127.0.0.1:5080 over UDP (the README's demo, where
// `sipp -sn uas -i 127.0.0.1 -p 5080` answers).
func DefaultSource() Source { return Source{Name: DefaultName, Data: defaultPolicy} }

// Source is one policy file's name and contents.
type Source struct {
	Name string
	Data []byte
}

// LoadOptions are the facts a policy is validated against that live outside
// it.
type LoadOptions struct {
	// Interfaces lists the interface names of the daemon's configuration.
	// When non-nil, a trunk or ACL naming any other interface is an error.
	Interfaces []string
	// Transports, when non-nil, maps each interface to the transports it
	// listens on ("udp", "tcp", "tls"); a trunk that matches or sends on
	// a transport its interface does not serve is an error.
	Transports map[string][]string
}

// DiagError is the error of a policy that failed to load: its diagnostics
// and the parsed files they point into (see hclutil.DiagError).
type DiagError = hclutil.DiagError

// WriteDiagnostics prints diagnostics compiler-style with source snippets.
func WriteDiagnostics(w io.Writer, diags hcl.Diagnostics, files map[string]*hcl.File, width uint, color bool) error {
	return hclutil.WriteDiagnostics(w, diags, files, width, color)
}

// Load reads, parses and validates policy files and builds the runtime
// policy. With no files it loads the embedded default. On failure the error
// is a *DiagError.
func Load(files []string, opts LoadOptions) (*Policy, error) {
	if len(files) == 0 {
		return LoadSources([]Source{DefaultSource()}, opts)
	}
	srcs := make([]Source, 0, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, &DiagError{Sentinel: ErrInvalid, Diags: hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Cannot read policy file",
				Detail:   err.Error(),
			}}}
		}
		srcs = append(srcs, Source{Name: f, Data: b})
	}
	return LoadSources(srcs, opts)
}

// LoadSources is Load on policy text already in memory.
func LoadSources(srcs []Source, opts LoadOptions) (*Policy, error) {
	parser := hclparse.NewParser()
	var diags hcl.Diagnostics
	var raws []rawFile
	for _, s := range srcs {
		f, d := parser.ParseHCL(s.Data, s.Name)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		var raw rawFile
		d = hclutil.Decode(f.Body, &raw)
		diags = append(diags, d...)
		raws = append(raws, raw)
	}
	if diags.HasErrors() {
		return nil, &DiagError{Sentinel: ErrInvalid, Diags: diags, Files: parser.Files()}
	}
	b := &builder{opts: opts, srcs: map[string][]byte{}}
	for _, s := range srcs {
		b.srcs[s.Name] = s.Data
	}
	if len(srcs) > 0 {
		pos := hcl.Pos{Line: 1, Column: 1}
		b.fileStart = hcl.Range{Filename: srcs[0].Name, Start: pos, End: pos}
	}
	p := b.build(raws)
	diags = append(diags, b.diags...)
	if diags.HasErrors() {
		return nil, &DiagError{Sentinel: ErrInvalid, Diags: diags, Files: parser.Files()}
	}
	p.files = make([]string, len(srcs))
	for i, s := range srcs {
		p.files[i] = s.Name
	}
	return p, nil
}

package policy

import (
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// RouteRequest is what the B2BUA knows of a new call when it asks for a
// route. It deliberately carries strings and a getter rather than a SIP
// message, so that policy does not depend on package sip.
type RouteRequest struct {
	// SourceTrunk is the name of the trunk the request came from
	// (MatchTrunk), or "" when it matched none.
	SourceTrunk string
	// RURIUser, FromUser and ToUser are the user parts of the Request-URI,
	// From and To URIs (RFC 3261 §19.1.1), unescaped.
	RURIUser string
	FromUser string
	ToUser   string
	// Header returns the value of the first header field of that name
	// (case-insensitive, compact forms expanded); nil means no headers.
	Header func(name string) (string, bool)
}

func (r *RouteRequest) header(name string) (string, bool) {
	if r.Header == nil {
		return "", false
	}
	return r.Header(name)
}

// Decision is what the policy would do with a request: either route it to
// Trunks in order, or reject it with RejectCode and RejectReason.
type Decision struct {
	// Route is the route that matched, nil when none did.
	Route *Route
	// Trunks are the destination trunks in failover order. Do not modify.
	Trunks []*Trunk
	// FailoverOn are the final response codes that advance to the next
	// trunk; FailoverTimeout bounds the wait for a final answer (0: none
	// beyond the transaction's). Do not modify.
	FailoverOn      []int
	FailoverTimeout time.Duration
	// RURIUser, FromUser and ToUser are the user parts after rewriting
	// (unchanged when no rewrite applies).
	RURIUser string
	FromUser string
	ToUser   string
	// Headers are the header operations to apply to the outgoing request,
	// in order, with their values computed.
	Headers []HeaderOp
	// RejectCode is non-zero when the request is to be rejected with that
	// final response (RFC 3261 §21) and RejectReason as reason phrase.
	RejectCode   int
	RejectReason string
	// Err reports header rules whose value could not be computed for this
	// request; those operations are left out of Headers.
	Err error
}

// Rejected reports whether the decision is a rejection.
func (d *Decision) Rejected() bool { return d.RejectCode != 0 }

// RouteName is the matched route's name, or "" when none matched.
func (d *Decision) RouteName() string {
	if d.Route == nil {
		return ""
	}
	return d.Route.Name
}

// Route decides what to do with a new call. For prefix, exact and
// source-trunk matches without rewrites or header rules it does not allocate.
func (p *Policy) Route(req RouteRequest) Decision {
	r := p.table.lookup(p, &req)
	if r == nil {
		return Decision{
			RURIUser:     req.RURIUser,
			FromUser:     req.FromUser,
			ToUser:       req.ToUser,
			RejectCode:   p.noRouteCode,
			RejectReason: p.noRouteReason,
		}
	}
	d := Decision{
		Route:    r,
		RURIUser: req.RURIUser,
		FromUser: req.FromUser,
		ToUser:   req.ToUser,
	}
	if r.RejectCode != 0 {
		d.RejectCode, d.RejectReason = r.RejectCode, r.RejectReason
		return d
	}
	d.Trunks, d.FailoverOn, d.FailoverTimeout = r.Trunks, r.FailoverOn, r.FailoverTimeout
	for i := range r.Rewrites {
		rw := &r.Rewrites[i]
		switch rw.Field {
		case fieldRURIUser:
			d.RURIUser = rw.apply(d.RURIUser)
		case fieldFromUser:
			d.FromUser = rw.apply(d.FromUser)
		case fieldToUser:
			d.ToUser = rw.apply(d.ToUser)
		}
	}
	if len(r.headerRules) > 0 {
		d.Headers, d.Err = p.evalHeaders(r, &req, &d)
	}
	return d
}

// matchRest checks every condition of r except an R-URI prefix or exact
// match already established by the table.
func (r *Route) matchRest(req *RouteRequest, checkRURI bool) bool {
	if len(r.FromTrunks) > 0 {
		ok := false
		for _, t := range r.FromTrunks {
			if t == req.SourceTrunk {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if checkRURI && !r.RURIUser.match(req.RURIUser) {
		return false
	}
	if !r.FromUser.match(req.FromUser) || !r.ToUser.match(req.ToUser) {
		return false
	}
	for i := range r.Headers {
		h := &r.Headers[i]
		v, ok := req.header(h.Name)
		switch h.Kind {
		case MatchPresent:
			if !ok {
				return false
			}
		case MatchAbsent:
			if ok {
				return false
			}
		default:
			if !ok || !h.match(v) {
				return false
			}
		}
	}
	return true
}

// evalHeaders computes the values of r's header rules for one request.
func (p *Policy) evalHeaders(r *Route, req *RouteRequest, d *Decision) ([]HeaderOp, error) {
	ops := make([]HeaderOp, 0, len(r.headerRules))
	var ctx *hcl.EvalContext
	var errs []error
	for i := range r.headerRules {
		hr := &r.headerRules[i]
		op := HeaderOp{Op: hr.op, Name: hr.name}
		switch {
		case hr.op == HeaderRemove:
		case hr.hasStatic:
			op.Value = hr.static
		default:
			if ctx == nil {
				// The functions close over a copy, so that the caller's
				// request stays on its stack on the allocation-free path.
				rq := *req
				ctx = requestContext(p.evalCtx, &rq, d)
			}
			v, diags := hr.expr.Value(ctx)
			if diags.HasErrors() {
				errs = append(errs, fmt.Errorf("%w: header %s (%s): %s", ErrHeaderRule, hr.name, hr.expr.Range(), diags.Error()))
				continue
			}
			s, err := ctyString(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%w: header %s (%s): %v", ErrHeaderRule, hr.name, hr.expr.Range(), err))
				continue
			}
			op.Value = s
		}
		ops = append(ops, op)
	}
	return ops, errors.Join(errs...)
}

// requestContext is the evaluation context of header rule expressions:
// req.* are the user parts as received, out.* after rewriting, and the
// functions header(name) and has_header(name) read the request's headers.
func requestContext(base *hcl.EvalContext, req *RouteRequest, d *Decision) *hcl.EvalContext {
	ctx := base.NewChild()
	ctx.Variables = map[string]cty.Value{
		"req": cty.ObjectVal(map[string]cty.Value{
			"ruri_user":    cty.StringVal(req.RURIUser),
			"from_user":    cty.StringVal(req.FromUser),
			"to_user":      cty.StringVal(req.ToUser),
			"source_trunk": cty.StringVal(req.SourceTrunk),
		}),
		"out": cty.ObjectVal(map[string]cty.Value{
			"ruri_user": cty.StringVal(d.RURIUser),
			"from_user": cty.StringVal(d.FromUser),
			"to_user":   cty.StringVal(d.ToUser),
			"route":     cty.StringVal(d.RouteName()),
		}),
	}
	ctx.Functions = map[string]function.Function{
		"header": function.New(&function.Spec{
			Params: []function.Parameter{{Name: "name", Type: cty.String}},
			Type:   function.StaticReturnType(cty.String),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				v, _ := req.header(args[0].AsString())
				return cty.StringVal(v), nil
			},
		}),
		"has_header": function.New(&function.Spec{
			Params: []function.Parameter{{Name: "name", Type: cty.String}},
			Type:   function.StaticReturnType(cty.Bool),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				_, ok := req.header(args[0].AsString())
				return cty.BoolVal(ok), nil
			},
		}),
	}
	return ctx
}

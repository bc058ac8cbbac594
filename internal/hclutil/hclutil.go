// Package hclutil holds the small HCL helpers shared by package config and
// package policy: typed evaluation of optional attributes that keeps source
// ranges, so that every semantic error becomes an hcl.Diagnostic pointing at
// the file, line and column the operator has to fix.
package hclutil

import (
	"fmt"
	"math/big"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Errorf returns an error diagnostic with a summary, a detail and the range
// of the offending source.
func Errorf(rng hcl.Range, summary, format string, args ...any) *hcl.Diagnostic {
	r := rng
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  &r,
	}
}

// ErrorCtx is Errorf with a second, related range shown as context (for
// example the first definition of a duplicate).
func ErrorCtx(rng, ctx hcl.Range, summary, format string, args ...any) *hcl.Diagnostic {
	d := Errorf(rng, summary, format, args...)
	c := ctx
	d.Context = &c
	return d
}

// Eval evaluates an expression and converts the result to the wanted type.
// Null values are reported as errors: an attribute that is present must have
// a value.
func Eval(expr hcl.Expression, ctx *hcl.EvalContext, want cty.Type, what string) (cty.Value, hcl.Diagnostics) {
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	if v.IsNull() {
		return cty.NilVal, hcl.Diagnostics{Errorf(expr.Range(), "Missing value", "%s must not be null.", what)}
	}
	if !v.IsWhollyKnown() {
		return cty.NilVal, hcl.Diagnostics{Errorf(expr.Range(), "Unknown value", "%s must be known when the file is loaded.", what)}
	}
	cv, err := convert.Convert(v, want)
	if err != nil {
		return cty.NilVal, hcl.Diagnostics{Errorf(expr.Range(), "Invalid value", "%s: %s.", what, err)}
	}
	return cv, nil
}

// String evaluates an optional string attribute; a nil attribute gives def.
func String(attr *hcl.Attribute, ctx *hcl.EvalContext, def string) (string, hcl.Diagnostics) {
	if attr == nil {
		return def, nil
	}
	v, diags := Eval(attr.Expr, ctx, cty.String, "The value of "+attr.Name)
	if diags.HasErrors() {
		return def, diags
	}
	return v.AsString(), nil
}

// Bool evaluates an optional bool attribute; a nil attribute gives def.
func Bool(attr *hcl.Attribute, ctx *hcl.EvalContext, def bool) (bool, hcl.Diagnostics) {
	if attr == nil {
		return def, nil
	}
	v, diags := Eval(attr.Expr, ctx, cty.Bool, "The value of "+attr.Name)
	if diags.HasErrors() {
		return def, diags
	}
	return v.True(), nil
}

// Int evaluates an optional whole-number attribute within [min, max]; a nil
// attribute gives def.
func Int(attr *hcl.Attribute, ctx *hcl.EvalContext, def, min, max int64) (int64, hcl.Diagnostics) {
	if attr == nil {
		return def, nil
	}
	v, diags := Eval(attr.Expr, ctx, cty.Number, "The value of "+attr.Name)
	if diags.HasErrors() {
		return def, diags
	}
	bf := v.AsBigFloat()
	if !bf.IsInt() {
		return def, hcl.Diagnostics{Errorf(attr.Expr.Range(), "Invalid number", "%s must be a whole number, not %s.", attr.Name, bf.Text('g', -1))}
	}
	n, acc := bf.Int64()
	if acc != big.Exact || n < min || n > max {
		return def, hcl.Diagnostics{Errorf(attr.Expr.Range(), "Number out of range", "%s must be between %d and %d, not %s.", attr.Name, min, max, bf.Text('f', 0))}
	}
	return n, nil
}

// Duration evaluates an optional duration attribute written as a Go
// duration string ("500ms", "4s", "1m30s") within [min, max].
func Duration(attr *hcl.Attribute, ctx *hcl.EvalContext, def, min, max time.Duration) (time.Duration, hcl.Diagnostics) {
	if attr == nil {
		return def, nil
	}
	s, diags := String(attr, ctx, "")
	if diags.HasErrors() {
		return def, diags
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return def, hcl.Diagnostics{Errorf(attr.Expr.Range(), "Invalid duration", "%s must be a duration such as \"500ms\", \"4s\" or \"1m\": %q is not.", attr.Name, s)}
	}
	if d < min || d > max {
		return def, hcl.Diagnostics{Errorf(attr.Expr.Range(), "Duration out of range", "%s must be between %s and %s, not %s.", attr.Name, min, max, d)}
	}
	return d, nil
}

// Item is one element of a list attribute with the range of its own source
// when the list was written as a literal (otherwise the whole expression).
type Item struct {
	Value string
	Range hcl.Range
}

// Strings evaluates an optional attribute holding a string or a list of
// strings. Each item keeps its own source range when the list is a literal
// tuple, so a bad element is pointed at precisely.
func Strings(attr *hcl.Attribute, ctx *hcl.EvalContext) ([]Item, hcl.Diagnostics) {
	if attr == nil {
		return nil, nil
	}
	if exprs, d := hcl.ExprList(attr.Expr); !d.HasErrors() {
		var diags hcl.Diagnostics
		out := make([]Item, 0, len(exprs))
		for _, e := range exprs {
			v, ed := Eval(e, ctx, cty.String, "Each element of "+attr.Name)
			diags = append(diags, ed...)
			if !ed.HasErrors() {
				out = append(out, Item{Value: v.AsString(), Range: e.Range()})
			}
		}
		return out, diags
	}
	v, diags := attr.Expr.Value(ctx)
	if diags.HasErrors() {
		return nil, diags
	}
	rng := attr.Expr.Range()
	if v.IsNull() {
		return nil, hcl.Diagnostics{Errorf(rng, "Missing value", "%s must not be null.", attr.Name)}
	}
	if !v.IsWhollyKnown() {
		return nil, hcl.Diagnostics{Errorf(rng, "Unknown value", "%s must be known when the file is loaded.", attr.Name)}
	}
	if v.Type() == cty.String {
		return []Item{{Value: v.AsString(), Range: rng}}, nil
	}
	lv, err := convert.Convert(v, cty.List(cty.String))
	if err != nil {
		return nil, hcl.Diagnostics{Errorf(rng, "Invalid value", "%s must be a string or a list of strings: %s.", attr.Name, err)}
	}
	var out []Item
	for it := lv.ElementIterator(); it.Next(); {
		_, ev := it.Element()
		if ev.IsNull() {
			return nil, hcl.Diagnostics{Errorf(rng, "Missing value", "%s must not contain null.", attr.Name)}
		}
		out = append(out, Item{Value: ev.AsString(), Range: rng})
	}
	return out, nil
}

// Ints evaluates an optional list of whole numbers within [min, max].
func Ints(attr *hcl.Attribute, ctx *hcl.EvalContext, min, max int64) ([]int, []hcl.Range, hcl.Diagnostics) {
	if attr == nil {
		return nil, nil, nil
	}
	var exprs []hcl.Expression
	if es, d := hcl.ExprList(attr.Expr); !d.HasErrors() {
		exprs = es
	} else {
		exprs = []hcl.Expression{attr.Expr}
	}
	var diags hcl.Diagnostics
	var out []int
	var rngs []hcl.Range
	for _, e := range exprs {
		n, d := Int(&hcl.Attribute{Name: "Each element of " + attr.Name, Expr: e}, ctx, 0, min, max)
		diags = append(diags, d...)
		if !d.HasErrors() {
			out = append(out, int(n))
			rngs = append(rngs, e.Range())
		}
	}
	return out, rngs, diags
}

// OneOf checks that a string value is one of the allowed words.
func OneOf(attr *hcl.Attribute, v string, allowed ...string) hcl.Diagnostics {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return hcl.Diagnostics{Errorf(attr.Expr.Range(), "Invalid value", "%s must be one of %q, not %q.", attr.Name, allowed, v)}
}

// AttrRange is the range of an attribute's value, or fallback when the
// attribute is absent.
func AttrRange(attr *hcl.Attribute, fallback hcl.Range) hcl.Range {
	if attr == nil {
		return fallback
	}
	return attr.Expr.Range()
}

package policy

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/sbc-project/sbc/internal/hclutil"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// functions is the whole function library of policy expressions: strings,
// regular expressions and lists. Nothing here reads files, the environment
// or the clock, so a policy evaluates the same wherever it is loaded.
func functions() map[string]function.Function {
	return map[string]function.Function{
		"upper":         stdlib.UpperFunc,
		"lower":         stdlib.LowerFunc,
		"strlen":        stdlib.StrlenFunc,
		"substr":        stdlib.SubstrFunc,
		"trimprefix":    stdlib.TrimPrefixFunc,
		"trimsuffix":    stdlib.TrimSuffixFunc,
		"trimspace":     stdlib.TrimSpaceFunc,
		"replace":       stdlib.ReplaceFunc,
		"regex":         stdlib.RegexFunc,
		"regexall":      stdlib.RegexAllFunc,
		"regex_replace": stdlib.RegexReplaceFunc,
		"format":        stdlib.FormatFunc,
		"join":          stdlib.JoinFunc,
		"split":         stdlib.SplitFunc,
		"concat":        stdlib.ConcatFunc,
		"length":        stdlib.LengthFunc,
		"coalesce":      stdlib.CoalesceFunc,
		"contains":      stdlib.ContainsFunc,
		"distinct":      stdlib.DistinctFunc,
		"flatten":       stdlib.FlattenFunc,
	}
}

// evalVariables resolves the variables blocks. A variable may use another
// (var.name) in any order; a cycle or an unknown name is reported at the
// expression.
func evalVariables(blocks []rawVariables) (map[string]cty.Value, []string, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	pending := map[string]*hcl.Attribute{}
	for _, b := range blocks {
		for name, attr := range b.Attrs {
			if prev, dup := pending[name]; dup {
				diags = append(diags, hclutil.ErrorCtx(attr.NameRange, prev.NameRange, "Duplicate variable",
					"The variable %q is already defined at %s.", name, prev.NameRange))
				continue
			}
			pending[name] = attr
		}
	}
	names := make([]string, 0, len(pending))
	for n := range pending {
		names = append(names, n)
	}
	sort.Strings(names)
	vals := map[string]cty.Value{}
	for len(pending) > 0 {
		progress := false
		for _, name := range names {
			attr, ok := pending[name]
			if !ok || !refsResolved(attr.Expr, vals) {
				continue
			}
			delete(pending, name)
			progress = true
			ctx := &hcl.EvalContext{
				Variables: map[string]cty.Value{"var": cty.ObjectVal(vals)},
				Functions: functions(),
			}
			v, d := attr.Expr.Value(ctx)
			diags = append(diags, d...)
			if d.HasErrors() {
				v = cty.DynamicVal
			}
			vals[name] = v
		}
		if !progress {
			for _, name := range names {
				if attr, ok := pending[name]; ok {
					diags = append(diags, hclutil.Errorf(attr.Expr.Range(), "Unresolvable variable",
						"The variable %q refers to a variable that does not exist or to itself through a cycle.", name))
				}
			}
			break
		}
	}
	return vals, names, diags
}

// refsResolved reports whether every var.* reference of expr is in vals.
func refsResolved(expr hcl.Expression, vals map[string]cty.Value) bool {
	for _, tr := range expr.Variables() {
		if tr.RootName() != "var" || len(tr) < 2 {
			continue
		}
		if a, ok := tr[1].(hcl.TraverseAttr); ok {
			if _, done := vals[a.Name]; !done {
				return false
			}
		}
	}
	return true
}

// loadContext is the context of every attribute evaluated at load time:
// variables and the function library, and nothing of any request.
func loadContext(vars map[string]cty.Value) *hcl.EvalContext {
	return &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(vars)},
		Functions: functions(),
	}
}

// probeContext evaluates header rule expressions at load time with unknown
// request values, so that a misspelt attribute, an unknown function or a
// type error is reported at the expression before any call arrives.
func probeContext(base *hcl.EvalContext) *hcl.EvalContext {
	ctx := base.NewChild()
	str := cty.UnknownVal(cty.String)
	ctx.Variables = map[string]cty.Value{
		"req": cty.ObjectVal(map[string]cty.Value{
			"ruri_user": str, "from_user": str, "to_user": str, "source_trunk": str,
		}),
		"out": cty.ObjectVal(map[string]cty.Value{
			"ruri_user": str, "from_user": str, "to_user": str, "route": str,
		}),
	}
	ctx.Functions = map[string]function.Function{
		"header": function.New(&function.Spec{
			Params: []function.Parameter{{Name: "name", Type: cty.String}},
			Type:   function.StaticReturnType(cty.String),
			Impl: func([]cty.Value, cty.Type) (cty.Value, error) {
				return cty.UnknownVal(cty.String), nil
			},
		}),
		"has_header": function.New(&function.Spec{
			Params: []function.Parameter{{Name: "name", Type: cty.String}},
			Type:   function.StaticReturnType(cty.Bool),
			Impl: func([]cty.Value, cty.Type) (cty.Value, error) {
				return cty.UnknownVal(cty.Bool), nil
			},
		}),
	}
	return ctx
}

// ctyString converts an evaluated header value to a string.
func ctyString(v cty.Value) (string, error) {
	if v.IsNull() {
		return "", fmt.Errorf("value is null")
	}
	if !v.IsKnown() {
		return "", fmt.Errorf("value is unknown")
	}
	sv, err := convert.Convert(v, cty.String)
	if err != nil {
		return "", err
	}
	return sv.AsString(), nil
}

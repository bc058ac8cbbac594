package hclutil

import (
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
)

// Decode decodes an HCL body into a raw struct described by `hcl` field
// tags, the subset of gohcl's scheme that raw structs need (gohcl itself
// drags in hclwrite and its test dependencies):
//
//	`hcl:"name"` or `hcl:"name,attr"`   required attribute, *hcl.Attribute
//	`hcl:"name,optional"`               optional attribute, *hcl.Attribute
//	`hcl:"name,block"`                  block: *T (at most one) or []T
//	`hcl:"name,label"`                  block label, string
//	`hcl:"name,label_range"`            range of that label, hcl.Range
//	`hcl:",def_range"`                  range of the block header, hcl.Range
//	`hcl:",remain"`                     every attribute, hcl.Attributes (the
//	                                    struct then has no other attributes)
//
// Unknown attributes and blocks, a repeated single block and a missing
// required attribute are errors pointing at the source.
func Decode(body hcl.Body, v any) hcl.Diagnostics {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		panic("hclutil.Decode: target must be a pointer to a struct")
	}
	return decodeStruct(body, rv.Elem(), nil)
}

type fieldTag struct {
	name, kind string
	index      int
}

// tagCache maps a struct type to its parsed tags: decoding a 100,000-route
// table must not re-read struct tags per block.
var tagCache sync.Map // reflect.Type → []fieldTag

func tagsOf(t reflect.Type) []fieldTag {
	if v, ok := tagCache.Load(t); ok {
		return v.([]fieldTag)
	}
	var out []fieldTag
	defer func() { tagCache.Store(t, out) }()
	for i := 0; i < t.NumField(); i++ {
		tag, ok := t.Field(i).Tag.Lookup("hcl")
		if !ok {
			continue
		}
		name, kind, _ := strings.Cut(tag, ",")
		if kind == "" {
			kind = "attr"
		}
		out = append(out, fieldTag{name, kind, i})
	}
	return out
}

var (
	attrPtrType = reflect.TypeOf((*hcl.Attribute)(nil))
)

func decodeStruct(body hcl.Body, sv reflect.Value, blk *hcl.Block) hcl.Diagnostics {
	tags := tagsOf(sv.Type())
	schema := &hcl.BodySchema{}
	remain := -1
	var labels []fieldTag
	for _, ft := range tags {
		switch ft.kind {
		case "attr", "optional":
			schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: ft.name, Required: ft.kind == "attr"})
		case "block":
			et := sv.Type().Field(ft.index).Type
			if et.Kind() == reflect.Pointer || et.Kind() == reflect.Slice {
				et = et.Elem()
			}
			var ls []string
			for _, t := range tagsOf(et) {
				if t.kind == "label" {
					ls = append(ls, t.name)
				}
			}
			schema.Blocks = append(schema.Blocks, hcl.BlockHeaderSchema{Type: ft.name, LabelNames: ls})
		case "remain":
			remain = ft.index
		case "label":
			labels = append(labels, ft)
		}
	}
	if blk != nil {
		li := 0
		for _, ft := range tags {
			switch ft.kind {
			case "label":
				sv.Field(ft.index).SetString(blk.Labels[li])
				for _, rt := range tags {
					if rt.kind == "label_range" && rt.name == ft.name {
						sv.Field(rt.index).Set(reflect.ValueOf(blk.LabelRanges[li]))
					}
				}
				li++
			case "def_range":
				sv.Field(ft.index).Set(reflect.ValueOf(blk.DefRange))
			}
		}
	}
	if remain >= 0 {
		attrs, diags := body.JustAttributes()
		sv.Field(remain).Set(reflect.ValueOf(attrs))
		return diags
	}
	content, diags := body.Content(schema)
	for _, ft := range tags {
		f := sv.Field(ft.index)
		switch ft.kind {
		case "attr", "optional":
			if f.Type() != attrPtrType {
				panic(fmt.Sprintf("hclutil.Decode: attribute field %s must be *hcl.Attribute", ft.name))
			}
			if a, ok := content.Attributes[ft.name]; ok {
				f.Set(reflect.ValueOf(a))
			}
		case "block":
			blocks := content.Blocks.OfType(ft.name)
			switch f.Kind() {
			case reflect.Slice:
				s := reflect.MakeSlice(f.Type(), len(blocks), len(blocks))
				for i, b := range blocks {
					diags = append(diags, decodeStruct(b.Body, s.Index(i), b)...)
				}
				f.Set(s)
			case reflect.Pointer:
				if len(blocks) == 0 {
					continue
				}
				if len(blocks) > 1 {
					r := blocks[0].DefRange
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Duplicate " + ft.name + " block",
						Detail:   fmt.Sprintf("Only one %s block is allowed here; the first is at %s.", ft.name, blocks[0].DefRange),
						Subject:  &blocks[1].DefRange,
						Context:  &r,
					})
				}
				p := reflect.New(f.Type().Elem())
				diags = append(diags, decodeStruct(blocks[0].Body, p.Elem(), blocks[0])...)
				f.Set(p)
			}
		}
	}
	return diags
}

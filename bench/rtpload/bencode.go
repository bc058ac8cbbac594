package rtpload

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
)

// Bencode values are string ([]byte or string), int64, []any and
// map[string]any; that is all the NG protocol uses.

// errBencode reports malformed bencode.
var errBencode = errors.New("rtpload: malformed bencode")

// Encode appends the bencoding of v to b.
func Encode(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		b = strconv.AppendInt(b, int64(len(x)), 10)
		b = append(b, ':')
		return append(b, x...), nil
	case []byte:
		b = strconv.AppendInt(b, int64(len(x)), 10)
		b = append(b, ':')
		return append(b, x...), nil
	case int:
		return Encode(b, int64(x))
	case int64:
		b = append(b, 'i')
		b = strconv.AppendInt(b, x, 10)
		return append(b, 'e'), nil
	case []string:
		b = append(b, 'l')
		for _, e := range x {
			b, _ = Encode(b, e)
		}
		return append(b, 'e'), nil
	case []any:
		b = append(b, 'l')
		for _, e := range x {
			var err error
			if b, err = Encode(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, 'e'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys) // bencode dictionaries are sorted by key
		b = append(b, 'd')
		for _, k := range keys {
			b, _ = Encode(b, k)
			var err error
			if b, err = Encode(b, x[k]); err != nil {
				return nil, err
			}
		}
		return append(b, 'e'), nil
	}
	return nil, fmt.Errorf("rtpload: cannot bencode %T", v)
}

// Decode decodes one bencoded value from b and returns the rest.
// Strings decode as string.
func Decode(b []byte) (v any, rest []byte, err error) {
	if len(b) == 0 {
		return nil, nil, errBencode
	}
	switch c := b[0]; {
	case c == 'i':
		end := indexByte(b, 'e')
		if end < 0 {
			return nil, nil, errBencode
		}
		n, err := strconv.ParseInt(string(b[1:end]), 10, 64)
		if err != nil {
			return nil, nil, errBencode
		}
		return n, b[end+1:], nil
	case c == 'l':
		var l []any
		b = b[1:]
		for len(b) > 0 && b[0] != 'e' {
			var e any
			if e, b, err = Decode(b); err != nil {
				return nil, nil, err
			}
			l = append(l, e)
		}
		if len(b) == 0 {
			return nil, nil, errBencode
		}
		return l, b[1:], nil
	case c == 'd':
		m := map[string]any{}
		b = b[1:]
		for len(b) > 0 && b[0] != 'e' {
			var k, e any
			if k, b, err = Decode(b); err != nil {
				return nil, nil, err
			}
			ks, ok := k.(string)
			if !ok {
				return nil, nil, errBencode
			}
			if e, b, err = Decode(b); err != nil {
				return nil, nil, err
			}
			m[ks] = e
		}
		if len(b) == 0 {
			return nil, nil, errBencode
		}
		return m, b[1:], nil
	case c >= '0' && c <= '9':
		colon := indexByte(b, ':')
		if colon < 0 {
			return nil, nil, errBencode
		}
		n, err := strconv.Atoi(string(b[:colon]))
		if err != nil || n < 0 || colon+1+n > len(b) {
			return nil, nil, errBencode
		}
		return string(b[colon+1 : colon+1+n]), b[colon+1+n:], nil
	}
	return nil, nil, errBencode
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

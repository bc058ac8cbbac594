package policy

// maxPrefixLen bounds an R-URI user prefix, and so the depth of the trie and
// the stack array a lookup walks with.
const maxPrefixLen = 64

// trieAlphabet is the number of characters with a direct child slot: the
// dial-string characters of RFC 3966 §3 (digits, '+', '*', '#'). Any other
// byte goes through the table's overflow map.
const trieAlphabet = 13

func trieSlot(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c == '+':
		return 10
	case c == '*':
		return 11
	case c == '#':
		return 12
	}
	return -1
}

// trieNode is one prefix. Node 0 is the root (the empty prefix); 0 as a
// child index therefore means "no child".
type trieNode struct {
	child [trieAlphabet]int32
	// routes[first:first+n] are the routes whose R-URI prefix ends here,
	// in file order.
	first, n int32
}

// routeTable indexes routes by R-URI user: a digit trie for prefixes, a map
// for exact matches, and the root node for routes without either.
type routeTable struct {
	nodes     []trieNode
	routes    []int32
	other     map[uint64]int32 // node<<8|byte → child, bytes outside the alphabet
	exact     map[string][]int32
	selection RouteSelection
}

// tableBuilder accumulates route indexes per node before they are flattened.
type tableBuilder struct {
	t     routeTable
	lists [][]int32
}

func newTableBuilder(sel RouteSelection) *tableBuilder {
	return &tableBuilder{
		t: routeTable{
			nodes:     make([]trieNode, 1, 1024),
			other:     map[uint64]int32{},
			exact:     map[string][]int32{},
			selection: sel,
		},
		lists: make([][]int32, 1, 1024),
	}
}

func (b *tableBuilder) node(prefix string) int32 {
	n := int32(0)
	for i := 0; i < len(prefix); i++ {
		c := prefix[i]
		var next int32
		if s := trieSlot(c); s >= 0 {
			next = b.t.nodes[n].child[s]
		} else {
			next = b.t.other[uint64(n)<<8|uint64(c)]
		}
		if next == 0 {
			next = int32(len(b.t.nodes))
			b.t.nodes = append(b.t.nodes, trieNode{})
			b.lists = append(b.lists, nil)
			if s := trieSlot(c); s >= 0 {
				b.t.nodes[n].child[s] = next
			} else {
				b.t.other[uint64(n)<<8|uint64(c)] = next
			}
		}
		n = next
	}
	return n
}

// addPrefix files route idx under prefix ("" for the root). Routes are added
// in file order, so every list stays sorted; a route listing one prefix
// twice is filed once.
func (b *tableBuilder) addPrefix(prefix string, idx int32) {
	n := b.node(prefix)
	l := b.lists[n]
	if len(l) > 0 && l[len(l)-1] == idx {
		return
	}
	b.lists[n] = append(l, idx)
}

func (b *tableBuilder) addExact(user string, idx int32) {
	l := b.t.exact[user]
	if len(l) > 0 && l[len(l)-1] == idx {
		return
	}
	b.t.exact[user] = append(l, idx)
}

func (b *tableBuilder) build() routeTable {
	total := 0
	for _, l := range b.lists {
		total += len(l)
	}
	b.t.routes = make([]int32, 0, total)
	for i, l := range b.lists {
		b.t.nodes[i].first = int32(len(b.t.routes))
		b.t.nodes[i].n = int32(len(l))
		b.t.routes = append(b.t.routes, l...)
	}
	b.t.nodes = b.t.nodes[:len(b.t.nodes):len(b.t.nodes)]
	if len(b.t.other) == 0 {
		b.t.other = nil
	}
	b.lists = nil
	return b.t
}

// lookup returns the route that wins for req, or nil.
func (t *routeTable) lookup(p *Policy, req *RouteRequest) *Route {
	routes := p.routes
	user := req.RURIUser
	best := int32(-1)
	if len(t.exact) > 0 {
		for _, idx := range t.exact[user] {
			if routes[idx].matchRest(req, false) {
				best = idx
				break
			}
		}
		if best >= 0 && t.selection == LongestPrefix {
			return routes[best]
		}
	}
	if len(t.nodes) == 0 {
		return nil
	}
	// Walk the user part down the trie, remembering the path.
	var path [maxPrefixLen + 1]int32
	depth := 1 // path[0] is the root
	n := int32(0)
	for i := 0; i < len(user) && i < maxPrefixLen; i++ {
		c := user[i]
		var next int32
		if s := trieSlot(c); s >= 0 {
			next = t.nodes[n].child[s]
		} else if t.other != nil {
			next = t.other[uint64(n)<<8|uint64(c)]
		}
		if next == 0 {
			break
		}
		path[depth] = next
		depth++
		n = next
	}
	if t.selection == LongestPrefix {
		for d := depth - 1; d >= 0; d-- {
			node := &t.nodes[path[d]]
			for _, idx := range t.routes[node.first : node.first+node.n] {
				if routes[idx].matchRest(req, d == 0) {
					return routes[idx]
				}
			}
		}
		return nil
	}
	// FirstMatch: the lowest route index that matches, across the exact
	// list and every node on the path.
	for d := 0; d < depth; d++ {
		node := &t.nodes[path[d]]
		for _, idx := range t.routes[node.first : node.first+node.n] {
			if best >= 0 && idx >= best {
				break
			}
			if routes[idx].matchRest(req, d == 0) {
				best = idx
				break
			}
		}
	}
	if best < 0 {
		return nil
	}
	return routes[best]
}

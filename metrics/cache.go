package metrics

import "sync"

// childCache maps a label key to its resolved metric child. Lookups take a
// read lock and never allocate; the first use of a key resolves the child.
type childCache[K comparable, V any] struct {
	mu sync.RWMutex
	m  map[K]V
}

func (c *childCache[K, V]) get(k K, resolve func(K) V) V {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return v
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok = c.m[k]; ok {
		return v
	}
	if c.m == nil {
		c.m = make(map[K]V)
	}
	v = resolve(k)
	c.m[k] = v
	return v
}

//go:build linux

package mediarelay

import "testing"

// checkGSO asserts that a burst test used segmentation offload on the
// epoll engine where the kernel has it (and did not where it is disabled).
func checkGSO(t *testing.T, r *Relay, v variant) {
	e, ok := r.eng.(*epollEngine)
	if !ok {
		return
	}
	var sends uint64
	kernelHas := true
	for _, w := range e.workers {
		sends += w.gsoSends.Load()
		kernelHas = kernelHas && w.gso
	}
	switch {
	case v.name == "epoll-nogso" && sends != 0:
		t.Fatalf("%d GSO sends with NoGSO", sends)
	case v.name != "epoll-nogso" && kernelHas && sends == 0:
		t.Fatalf("no GSO send for a burst")
	}
	t.Logf("%s: %d GSO sends", v.name, sends)
}

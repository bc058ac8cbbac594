//go:build !race

package daemon

const testenvRace = false

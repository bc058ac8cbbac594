//go:build !unix

package mediarelay

// softNOFILE is unknown here: the idle-socket default is then the number of
// ports of all ranges.
func softNOFILE() int { return 0 }

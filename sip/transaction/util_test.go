package transaction

import (
	"testing"

	"github.com/sbc-project/sbc/sip"
)

func checkHeader(t *testing.T, m *sip.Message, name, want string) {
	t.Helper()
	got, ok := m.GetHeader(name)
	if !ok || got != want {
		t.Fatalf("%s = %q (present %v), want %q\n%s", name, got, ok, want, m)
	}
}

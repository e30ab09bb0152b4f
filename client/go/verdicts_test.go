package chainverify

import (
	"testing"

	v1 "chainverify/v1"
)

func TestVerdictCacheKeepsTheLatest(t *testing.T) {
	c := newVerdictCache(2)
	key := func(s string) verdictKey {
		return makeVerdictKey(v1.Usage_SERVER_AUTH, s, [][]byte{[]byte("der")}, nil)
	}
	resp := func(id string) *v1.VerifyResponse { return &v1.VerifyResponse{DecisionId: id} }
	c.put(key("a"), resp("1"))
	c.put(key("b"), resp("2"))
	if _, ok := c.get(key("a")); !ok { // a is now the most recent
		t.Fatal("a missing")
	}
	c.put(key("c"), resp("3")) // pushes out b
	if _, ok := c.get(key("b")); ok {
		t.Error("b kept past the limit")
	}
	c.put(key("a"), resp("4"))
	if r, ok := c.get(key("a")); !ok || r.DecisionId != "4" {
		t.Errorf("a = %v, %v; want the latest verdict", r, ok)
	}
	if r, ok := c.get(key("c")); !ok || r.DecisionId != "3" {
		t.Errorf("c = %v, %v", r, ok)
	}
	none := newVerdictCache(-1)
	none.put(key("a"), resp("1"))
	if _, ok := none.get(key("a")); ok {
		t.Error("a disabled cache kept a verdict")
	}
}

func TestVerdictKeySeparatesFields(t *testing.T) {
	ders := func(d ...string) [][]byte {
		var out [][]byte
		for _, s := range d {
			out = append(out, []byte(s))
		}
		return out
	}
	keys := []verdictKey{
		makeVerdictKey(v1.Usage_SERVER_AUTH, "a", ders("bc"), nil),
		makeVerdictKey(v1.Usage_SERVER_AUTH, "ab", ders("c"), nil),
		makeVerdictKey(v1.Usage_SERVER_AUTH, "a", ders("b", "c"), nil),
		makeVerdictKey(v1.Usage_SERVER_AUTH, "a", ders("b"), []byte("c")),
		makeVerdictKey(v1.Usage_CLIENT_AUTH, "a", ders("bc"), nil),
	}
	seen := map[verdictKey]int{}
	for i, k := range keys {
		if j, dup := seen[k]; dup {
			t.Errorf("inputs %d and %d share a key", j, i)
		}
		seen[k] = i
	}
}

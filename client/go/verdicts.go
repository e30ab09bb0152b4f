package chainverify

import (
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"sync"

	v1 "chainverify/v1"
)

// verdictKey identifies what a handshake asked: the usage, the server name as
// crypto/tls reports it in ConnectionState, every certificate the peer sent in
// order, and the stapled OCSP response. Each part is length-prefixed so that no
// two different inputs hash alike.
type verdictKey [sha256.Size]byte

func makeVerdictKey(usage v1.Usage, serverName string, ders [][]byte, ocsp []byte) verdictKey {
	h := sha256.New()
	var n [8]byte
	part := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	part([]byte{byte(usage)})
	part([]byte(serverName))
	binary.BigEndian.PutUint64(n[:], uint64(len(ders)))
	h.Write(n[:])
	for _, der := range ders {
		part(der)
	}
	part(ocsp)
	var k verdictKey
	h.Sum(k[:0])
	return k
}

// verdictCache keeps the latest TRUSTED verdicts, least recently stored or
// looked up first out, so that a caller can find the verdict of a connection it
// holds. A nil *verdictCache keeps nothing.
type verdictCache struct {
	mu      sync.Mutex
	max     int
	order   *list.List // of *verdictEntry, most recent at the front
	entries map[verdictKey]*list.Element
}

type verdictEntry struct {
	key  verdictKey
	resp *v1.VerifyResponse
}

func newVerdictCache(size int) *verdictCache {
	if size == 0 {
		size = DefaultVerdictCacheSize
	}
	if size < 0 {
		return nil
	}
	return &verdictCache{max: size, order: list.New(), entries: make(map[verdictKey]*list.Element)}
}

func (c *verdictCache) put(k verdictKey, resp *v1.VerifyResponse) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[k]; ok {
		e.Value.(*verdictEntry).resp = resp
		c.order.MoveToFront(e)
		return
	}
	c.entries[k] = c.order.PushFront(&verdictEntry{key: k, resp: resp})
	if c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.entries, oldest.Value.(*verdictEntry).key)
	}
}

func (c *verdictCache) get(k verdictKey) (*v1.VerifyResponse, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*verdictEntry).resp, true
}

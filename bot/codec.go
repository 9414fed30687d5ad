package bot

import (
	"encoding/binary"
	"errors"
)

// What bot keeps in Redis (intake entries, records, outboxes) is framed by
// hand: lengths and numbers as varints, strings as bytes. It costs a few
// bytes of framing and no reflection, and a reader that meets anything
// malformed stops with errCorrupt instead of panicking.

var errCorrupt = errors.New("corrupt record")

type enc []byte

func (b enc) str(s string) enc {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func (b enc) uint(v uint64) enc { return binary.AppendUvarint(b, v) }

func (b enc) int(v int64) enc { return binary.AppendVarint(b, v) }

func (b enc) bool(v bool) enc {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// dec reads what enc wrote; after the first problem every read returns a
// zero value and err stays set.
type dec struct {
	b   []byte
	err error
}

func (d *dec) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) int() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) str() string {
	n := d.uint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.err = errCorrupt
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *dec) bool() bool {
	if d.err != nil {
		return false
	}
	if len(d.b) == 0 {
		d.err = errCorrupt
		return false
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v != 0
}

// count reads a list length, refusing one that cannot fit in what is left
// (every element takes at least one byte), so a corrupt length cannot make
// a reader allocate without bound.
func (d *dec) count() int {
	n := d.uint()
	if n > uint64(len(d.b)) {
		d.err = errCorrupt
		return 0
	}
	return int(n)
}

// strs reads a list of strings.
func (d *dec) strs() []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.str()
	}
	return out
}

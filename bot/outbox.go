package bot

import (
	"github.com/tsunagu-city/tsunagu/flows"
)

// The outbox is what a resident's applied events still have to do: the
// answers to send and the work to hand to staff. It is saved with the
// session in one compare-and-set, so that an event is stepped once whatever
// happens, and dropped once the events are acknowledged. A worker that
// finds events already applied (a crash after the save, a failed send)
// finishes the outbox instead of stepping them again. It is the one ledger
// of the LINE side: the staff side deduplicates what it is handed by key.

// item is the outbox of one event.
type item struct {
	// event is the entry id; key is the base of retry and staff keys (the
	// event id, or a synthetic event's own key).
	event, key string
	// token is the reply token ("" to push); recv (unix ms) ages it.
	token string
	recv  int64
	// crisis is set when the step gave a crisis verdict: its answer goes
	// before anything else of the batch.
	crisis bool
	// erase is set for an unfollow: the record is deleted at the ack.
	erase   bool
	replies []flows.Reply
	staff   []staffTask
}

// staffOp is what a staffTask asks of the staff side.
type staffOp uint8

const (
	opEscalate staffOp = iota + 1
	opRelay
	opForget
	opSuggest
	opCheck
	opUnsend
)

// staffTask is one piece of work for the staff side on an existing case.
// Opening a case is not here: it is recorded during the step, so that the
// case id is in the session the step saves.
type staffTask struct {
	op     staffOp
	caseID string
	key    string
	// text is the safety check's answer of an escalation.
	text string
	// texts are a relay's messages and ids their LINE message ids; an
	// unsend names its message in ids.
	texts, ids []string
	// For an escalation: whether urgent, the crisis kind and the categories;
	// for a suggestion, the categories; for a check, its kind in crisis.
	urgent     bool
	crisis     string
	categories []string
}

// handoff is an escalation's Handoff; text carries the safety check's answer.
func (t staffTask) handoff() flows.Handoff {
	return flows.Handoff{Categories: t.categories, Urgent: t.urgent, Crisis: t.crisis, Checked: t.text}
}

// outboxVersion 2 added a relay's messages and ids; version 1 outboxes
// are still read (a relay's text as its one message).
const outboxVersion = 2

func marshalOutbox(items []item) []byte {
	if len(items) == 0 {
		return nil
	}
	b := enc{outboxVersion}.uint(uint64(len(items)))
	for _, it := range items {
		b = b.str(it.event).str(it.key).str(it.token).int(it.recv).bool(it.crisis).bool(it.erase)
		b = b.uint(uint64(len(it.replies)))
		for _, r := range it.replies {
			b = b.str(r.Text).uint(uint64(len(r.QuickReplies)))
			for _, c := range r.QuickReplies {
				b = b.str(c.Label).str(c.Data)
			}
		}
		b = b.uint(uint64(len(it.staff)))
		for _, t := range it.staff {
			b = b.uint(uint64(t.op)).str(t.caseID).str(t.key).str(t.text).bool(t.urgent).str(t.crisis)
			b = b.uint(uint64(len(t.categories)))
			for _, c := range t.categories {
				b = b.str(c)
			}
			b = b.uint(uint64(len(t.texts)))
			for _, x := range t.texts {
				b = b.str(x)
			}
			b = b.uint(uint64(len(t.ids)))
			for _, x := range t.ids {
				b = b.str(x)
			}
		}
	}
	return b
}

func unmarshalOutbox(b []byte) ([]item, error) {
	if len(b) == 0 {
		return nil, nil
	}
	version := b[0]
	if version != outboxVersion && version != 1 {
		return nil, errCorrupt
	}
	d := dec{b: b[1:]}
	items := make([]item, d.count())
	for i := range items {
		it := &items[i]
		it.event, it.key, it.token, it.recv, it.crisis, it.erase = d.str(), d.str(), d.str(), d.int(), d.bool(), d.bool()
		it.replies = make([]flows.Reply, d.count())
		for j := range it.replies {
			r := &it.replies[j]
			r.Text = d.str()
			if n := d.count(); n > 0 {
				r.QuickReplies = make([]flows.Choice, n)
				for k := range r.QuickReplies {
					r.QuickReplies[k] = flows.Choice{Label: d.str(), Data: d.str()}
				}
			}
		}
		it.staff = make([]staffTask, d.count())
		for j := range it.staff {
			t := &it.staff[j]
			t.op = staffOp(d.uint())
			t.caseID, t.key, t.text, t.urgent, t.crisis = d.str(), d.str(), d.str(), d.bool(), d.str()
			if n := d.count(); n > 0 {
				t.categories = make([]string, n)
				for k := range t.categories {
					t.categories[k] = d.str()
				}
			}
			if version == 1 {
				if t.op == opRelay {
					t.texts, t.ids, t.text = []string{t.text}, []string{""}, ""
				}
				continue
			}
			t.texts, t.ids = d.strs(), d.strs()
		}
		if d.err != nil {
			return nil, d.err
		}
	}
	return items, d.err
}

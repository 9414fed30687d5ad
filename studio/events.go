package studio

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// hub tells every open page the flow's new version. A page only needs the
// latest version, so a slow page loses the ones in between, never blocks a
// reload.
type hub struct {
	mu   sync.Mutex
	subs map[chan int]struct{}
}

func newHub() *hub { return &hub{subs: map[chan int]struct{}{}} }

func (h *hub) subscribe() (<-chan int, func()) {
	ch := make(chan int, 1)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}
}

func (h *hub) publish(version int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case <-ch: // drop the stale version
		default:
		}
		ch <- version
	}
}

// keepAlive is how often an idle event stream sends a comment, so proxies
// and browsers do not close it.
const keepAlive = 20 * time.Second

// serveEvents streams the flow's version as server-sent events: the current
// one at once, then each reload.
func (s *Studio) serveEvents(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming is not supported", http.StatusInternalServerError)
		return
	}
	ch, cancel := s.events.subscribe()
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	send := func(v int) bool {
		_, err := fmt.Fprintf(w, "retry: 1000\ndata: %d\n\n", v)
		flusher.Flush()
		return err == nil
	}
	if !send(s.Version()) {
		return
	}
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case v := <-ch:
			if !send(v) {
				return
			}
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": still here\n\n"); err != nil {
				return
			}
			flusher.Flush()
		}
	}
}

package studio

import (
	"crypto/sha256"
	"crypto/subtle"
	"mime"
	"net/http"
	"slices"
)

// The studio runs on an officer's own computer and writes into the flow
// folder, so it trusts nobody else: not another computer on the network
// (a password when it listens beyond 127.0.0.1), not a web page open in
// the same browser (the Host and Origin checks below).

// guard wraps next with the studio's checks.
func (s *Studio) guard(next http.Handler) http.Handler {
	return s.checkHost(s.checkPassword(sameOrigin(next)))
}

// checkHost answers only to the host names the studio was started for: a
// page on another site that points its own name at 127.0.0.1 (DNS
// rebinding) gets nothing.
func (s *Studio) checkHost(next http.Handler) http.Handler {
	if len(s.opt.Hosts) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !slices.Contains(s.opt.Hosts, r.Host) {
			http.Error(w, "this studio answers only at "+s.opt.Hosts[0], http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// checkPassword asks for the password (basic auth, any user name) when one is set.
func (s *Studio) checkPassword(next http.Handler) http.Handler {
	if s.opt.Password == "" {
		return next
	}
	// Comparing hashes keeps the comparison's time independent of the
	// password's length too.
	want := sha256.Sum256([]byte(s.opt.Password))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pass, ok := r.BasicAuth()
		got := sha256.Sum256([]byte(pass))
		if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="tsunagu studio", charset="UTF-8"`)
			http.Error(w, "パスワードが必要です / password required", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// sameOrigin refuses requests that change something unless they come from
// the studio's own page: JSON only (a form on another site cannot send it
// without the browser asking first), and no foreign Origin.
func sameOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			http.Error(w, "send JSON", http.StatusUnsupportedMediaType)
			return
		}
		if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host && o != "https://"+r.Host {
			http.Error(w, "requests from other sites are refused", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

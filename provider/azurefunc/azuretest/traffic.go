package azuretest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The traffic model. Requests arrive at an app's production host at the
// rate set with SetLoad. The production slot's ramp-up rules send each
// rule's reroutePercentage to the slot whose host name the rule names; the
// production slot serves the rest. A slot behaves as the package it runs
// (its WEBSITE_RUN_FROM_PACKAGE app setting) behaves: SetBehavior keys
// behaviour by the package's SHA-256, so after a swap the behaviour moves
// with the code, while the metrics stay keyed by slot, as Azure Monitor's
// are (each slot is its own resource). A package URL on this server that
// names no stored package fails every request (the app cannot start); a
// URL elsewhere behaves as the default Behavior.
//
// Every state change starts a new segment on the emulator clock; counts are
// integrals over the segments, floored at period boundaries (the count in
// [a, b) is ⌊C(b)⌋ − ⌊C(a)⌋), so adjacent periods add up and the same query
// always gives the same answer.

// Behavior is how the code in one package behaves when it serves requests.
type Behavior struct {
	// ErrorRate is the fraction of requests answered with a 5xx (Http5xx).
	ErrorRate float64 `json:"errorRate,omitempty"`
	// ResponseTime is the mean response time (HttpResponseTime, Average).
	ResponseTime time.Duration `json:"responseTime,omitempty"`
}

// defaultBehavior is the behaviour of a package without SetBehavior: no
// errors, 50ms.
func defaultBehavior() Behavior { return Behavior{ResponseTime: 50 * time.Millisecond} }

func (b Behavior) validate() error {
	if !(b.ErrorRate >= 0 && b.ErrorRate <= 1) {
		return fmt.Errorf("azuretest: ErrorRate %v is outside 0..1", b.ErrorRate)
	}
	if b.ResponseTime < 0 {
		return errors.New("azuretest: negative ResponseTime")
	}
	return nil
}

type rate struct {
	share   float64 // fraction of the app's load
	errRate float64
	resp    float64 // seconds
}

type segment struct {
	at    time.Time
	rps   float64
	slots map[string]rate
	// direct is the requests per second sent to each slot's own host name
	// (SetSlotLoad), besides its share of production's.
	direct map[string]float64
}

// SetLoad sets the requests per second arriving at app's production host
// from now on.
func (s *Server) SetLoad(app string, rps float64) error {
	if !(rps >= 0) || math.IsInf(rps, 0) {
		return fmt.Errorf("azuretest: load %v is not a non-negative rate", rps)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, aerr := s.site(app)
	if aerr != nil {
		return aerr
	}
	s.load[app] = rps
	s.record(st)
	return nil
}

// SetSlotLoad sets the requests per second arriving directly at one
// slot's own host name (app-slot.azurewebsites.net: tests, smoke checks)
// from now on, besides any share of production's load the ramp-up rules
// send it. "" is the production slot's host, the same as SetLoad.
func (s *Server) SetSlotLoad(app, slotName string, rps float64) error {
	if slotName == "" {
		return s.SetLoad(app, rps)
	}
	if !(rps >= 0) || math.IsInf(rps, 0) {
		return fmt.Errorf("azuretest: load %v is not a non-negative rate", rps)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, aerr := s.site(app)
	if aerr != nil {
		return aerr
	}
	if _, aerr := s.slot(app, slotName); aerr != nil {
		return aerr
	}
	if s.direct[app] == nil {
		s.direct[app] = map[string]float64{}
	}
	s.direct[app][slotName] = rps
	s.record(st)
	return nil
}

// SetBehavior sets, from now on, how the package with the given hex
// SHA-256 behaves in app; "" sets the behaviour of packages without one of
// their own.
func (s *Server) SetBehavior(app, sha256Hex string, b Behavior) error {
	if err := b.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, aerr := s.site(app)
	if aerr != nil {
		return aerr
	}
	if s.behavior[app] == nil {
		s.behavior[app] = map[string]Behavior{}
	}
	s.behavior[app][sha256Hex] = b
	s.record(st)
	return nil
}

// record starts a new traffic segment for st at the current time. Callers
// hold s.mu.
func (s *Server) record(st *site) {
	now := s.now()
	seg := segment{at: now, rps: s.load[st.name], slots: map[string]rate{}, direct: map[string]float64{}}
	for name, rps := range s.direct[st.name] {
		if _, ok := st.slots[name]; ok && rps > 0 {
			seg.direct[name] = rps
			if _, ok := seg.slots[name]; !ok {
				seg.slots[name] = s.rateOf(st, name, 0)
			}
		}
	}
	prod := 1.0
	if rules, err := rulesOf(st.slots[""].config); err == nil {
		for _, r := range rules {
			if r.ActionHostName == nil || r.ReroutePercentage == nil {
				continue
			}
			if target, ok := st.slotByHost(*r.ActionHostName); ok && target != "" {
				share := *r.ReroutePercentage / 100
				seg.slots[target] = s.rateOf(st, target, seg.slots[target].share+share)
				prod -= share
			}
		}
	}
	seg.slots[""] = s.rateOf(st, "", max(prod, 0))
	h := s.history[st.name]
	if n := len(h); n > 0 && !h[n-1].at.Before(now) {
		h[n-1] = seg // same instant: the later state wins
	} else {
		h = append(h, seg)
	}
	s.history[st.name] = h
}

func (s *Server) rateOf(st *site, slotName string, share float64) rate {
	b := defaultBehavior()
	pkg := st.slots[slotName].settings["WEBSITE_RUN_FROM_PACKAGE"]
	if rest, ok := strings.CutPrefix(pkg, s.srv.URL+"/packages/"); ok {
		data, found := s.packages[rest]
		if !found {
			return rate{share: share, errRate: 1}
		}
		sum := sha256.Sum256(data)
		if own, ok := s.behavior[st.name][hex.EncodeToString(sum[:])]; ok {
			b = own
		} else if def, ok := s.behavior[st.name][""]; ok {
			b = def
		}
	} else if def, ok := s.behavior[st.name][""]; ok {
		b = def
	}
	return rate{share: share, errRate: b.ErrorRate, resp: b.ResponseTime.Seconds()}
}

// cumulative returns the expected requests, 5xx and summed response
// seconds that slot served in app from the start of its history to t.
func (s *Server) cumulative(app, slotName string, t time.Time) (req, errs, resp float64) {
	h := s.history[app]
	for i, seg := range h {
		if !seg.at.Before(t) {
			break
		}
		end := t
		if i+1 < len(h) && h[i+1].at.Before(t) {
			end = h[i+1].at
		}
		r := seg.slots[slotName]
		n := (seg.rps*r.share + seg.direct[slotName]) * end.Sub(seg.at).Seconds()
		req += n
		errs += n * r.errRate
		resp += n * r.resp
	}
	return req, errs, resp
}

// call is one request the emulator served at an app's or a slot's host
// name (InvokeTransport). The metrics of the slot that answered it count
// it beside the modeled load: each slot is its own Azure Monitor resource
// ("Set up staging environments in Azure App Service"; Microsoft.Web/sites
// and Microsoft.Web/sites/slots in "Supported metrics for
// Microsoft.Web/sites"), so a request the ramp-up rule sent from
// production's host to a slot counts on that slot, as a request to the
// slot's own host does. Requests and FunctionExecutionCount count it,
// Http5xx when it was answered with a 5xx, HttpResponseTime averages its
// time on the emulator clock with the modeled requests', at the grain it
// started in.
type call struct {
	at     time.Time
	slot   string // "" for production
	status int
	secs   float64
}

// counts returns the requests and 5xx slot served in [a, b), and their
// mean response time in seconds.
func (s *Server) counts(app, slotName string, a, b time.Time) (req, errs int64, mean float64) {
	ra, ea, pa := s.cumulative(app, slotName, a)
	rb, eb, pb := s.cumulative(app, slotName, b)
	req = int64(math.Floor(rb+1e-9) - math.Floor(ra+1e-9))
	errs = int64(math.Floor(eb+1e-9) - math.Floor(ea+1e-9))
	n, secs := rb-ra, pb-pa
	for _, c := range s.calls[app] {
		if c.slot != slotName || c.at.Before(a) || !c.at.Before(b) {
			continue
		}
		req++
		if c.status >= 500 {
			errs++
		}
		n++
		secs += c.secs
	}
	if n > 0 {
		mean = secs / n
	}
	return req, errs, mean
}

// Packages is a package host on the Server: run-from-package blobs that
// slots name in WEBSITE_RUN_FROM_PACKAGE, served over HTTPS at
// URL()/packages/{name}. It has the shape of azurefunc.PackageStore.
type Packages struct{ s *Server }

// Packages returns the server's package host.
func (s *Server) Packages() Packages { return Packages{s} }

// Put stores data under name and returns its URL.
func (p Packages) Put(ctx context.Context, name string, data []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if name == "" || strings.Contains(name, "..") {
		return "", fmt.Errorf("azuretest: invalid package name %q", name)
	}
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	p.s.packages[name] = slices.Clone(data)
	for _, st := range p.s.sites {
		p.s.record(st)
	}
	return p.s.srv.URL + "/packages/" + name, nil
}

// Delete removes the package at url; a missing package is not an error.
func (p Packages) Delete(ctx context.Context, url string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	name, ok := strings.CutPrefix(url, p.s.srv.URL+"/packages/")
	if !ok {
		return fmt.Errorf("azuretest: %s is not a package on this server", url)
	}
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	delete(p.s.packages, name)
	for _, st := range p.s.sites {
		p.s.record(st) // a slot running it can no longer start
	}
	return nil
}

// Has reports whether the package at url is stored.
func (p Packages) Has(url string) bool {
	name, ok := strings.CutPrefix(url, p.s.srv.URL+"/packages/")
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	_, found := p.s.packages[name]
	return ok && found
}

func (s *Server) servePackage(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/packages/")
	s.mu.Lock()
	data, ok := s.packages[name]
	s.mu.Unlock()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !ok {
		http.Error(w, "BlobNotFound", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	_, _ = w.Write(data)
}

// List returns the names of the stored packages, sorted.
func (p Packages) List() []string {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	var names []string
	for n := range p.s.packages {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

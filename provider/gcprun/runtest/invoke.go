package runtest

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slipway-dev/slipway/provider/internal/httpfn"
)

// Invocation: a Cloud Run service answers HTTP at its URL
// (https://SERVICE-HASH-REGION.a.run.app, RUNPB Service.uri), which sends
// the request to a revision by the traffic split, and each traffic tag at
// its own URL (https://TAG---SERVICE…, RUNPB TrafficTargetStatus.uri),
// which reaches the tagged revision only ("Rollbacks, gradual rollouts,
// and traffic migration" page: "Tags let you test a revision at a specific
// URL without serving traffic"). The emulator's URLs use the service ID
// for SERVICE-HASH-REGION; InvokeTransport answers requests to them.

// Handler is the code of a revision as the emulator runs it: the request
// body in, the response body out; an error answers 500 with the error's
// text in a JSON document.
type Handler func(ctx context.Context, body []byte) ([]byte, error)

type invokeState struct {
	mu       sync.Mutex
	handlers map[string]Handler // by revision ID
	credits  map[string]map[string]float64
}

// SetHandler sets the code revision (its ID, "checkout-00002-abc") runs;
// nil removes it. A revision without a handler answers 200 with "null".
func (s *Server) SetHandler(revision string, h Handler) {
	s.inv.mu.Lock()
	defer s.inv.mu.Unlock()
	if s.inv.handlers == nil {
		s.inv.handlers = map[string]Handler{}
	}
	if h == nil {
		delete(s.inv.handlers, revision)
		return
	}
	s.inv.handlers[revision] = h
}

// InvokeTransport returns an http.RoundTripper that answers requests to the
// emulator's service and tag URLs in process (use it as the adapter's
// gcprun.Options.InvokeClient transport). A request to another host fails.
// An unknown service or tag answers 404, as Google's front end does for a
// URL it does not know.
func (s *Server) InvokeTransport() http.RoundTripper {
	return httpfn.Transport("runtest", "-uc.a.run.app", func(ctx context.Context, host, _ string, body []byte) (int, []byte) {
		return s.invoke(ctx, strings.TrimSuffix(host, "-uc.a.run.app"), body)
	})
}

// invoke routes a request for "TAG---ID" or "ID" to a revision and runs it.
func (s *Server) invoke(ctx context.Context, label string, body []byte) (int, []byte) {
	tag, id, tagged := strings.Cut(label, "---")
	if !tagged {
		id, tag = label, ""
	}
	s.mu.Lock()
	v, ok := s.services[id]
	var rev string
	if ok {
		rev = s.pick(v, tag)
	}
	began := s.now()
	s.mu.Unlock()
	if !ok || rev == "" {
		return http.StatusNotFound, []byte(`{"error":"not found"}`)
	}
	s.inv.mu.Lock()
	h := s.inv.handlers[rev]
	s.inv.mu.Unlock()
	code, out := httpfn.Run(ctx, h, body)
	s.mu.Lock()
	// The revision's metrics count the request (traffic.go, call), unless
	// the service was deleted meanwhile.
	if s.services[id] == v {
		v.model.calls = append(v.model.calls, call{at: began, revision: rev, status: code, ms: float64(s.now().Sub(began)) / float64(time.Millisecond)})
	}
	s.mu.Unlock()
	return code, out
}

// pick chooses the revision a request reaches: the tagged one, or one of
// the split by percent, deterministically (each revision accumulates its
// share and the first to reach a whole request takes it). The caller holds
// s.mu.
func (s *Server) pick(v *service, tag string) string {
	if tag != "" {
		for _, st := range v.statuses {
			if st.Tag == tag {
				return st.Revision
			}
		}
		return ""
	}
	s.inv.mu.Lock()
	defer s.inv.mu.Unlock()
	if s.inv.credits == nil {
		s.inv.credits = map[string]map[string]float64{}
	}
	credit := s.inv.credits[v.id]
	if credit == nil {
		credit = map[string]float64{}
		s.inv.credits[v.id] = credit
	}
	statuses := slices.Clone(v.statuses)
	if len(statuses) == 0 {
		statuses = v.resolve()
	}
	best := ""
	for _, st := range statuses {
		if st.Percent <= 0 || st.Revision == "" {
			continue
		}
		credit[st.Revision] += float64(st.Percent) / 100
		if best == "" || credit[st.Revision] > credit[best] {
			best = st.Revision
		}
	}
	if best != "" {
		credit[best]--
	}
	return best
}

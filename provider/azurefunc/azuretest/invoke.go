package azuretest

import (
	"context"
	"net/http"
	"sync"

	"github.com/slipway-dev/slipway/provider/internal/httpfn"
)

// Invocation: a function app answers HTTP at its default host name
// (APP.azurewebsites.net) and each deployment slot at its own
// (APP-SLOT.azurewebsites.net, Site.properties.defaultHostName). A request
// to production is sent to the slot of a ramp-up rule for
// reroutePercentage of the requests ("Set up staging environments in Azure
// App Service": "Route production traffic automatically"; the emulator
// alternates deterministically by percent instead of by cookie). The code
// a slot runs is the version its SLIPWAY_VERSION app setting names.

// Handler is the code of a version as the emulator runs it; an error
// answers 500 with the error's text in a JSON document.
type Handler func(ctx context.Context, body []byte) ([]byte, error)

// Invocation is one entry of the invocation log.
type Invocation struct {
	Host, Path string
	// Slot is the slot that answered ("" for production); Version its
	// SLIPWAY_VERSION.
	Slot, Version string
}

type invokeState struct {
	mu       sync.Mutex
	handlers map[string]Handler // "app/version" → code
	credit   map[string]float64 // app → the ramp-up slot's accumulated share
	log      []Invocation
}

// SetHandler sets the code version (an adapter version ID, the
// SLIPWAY_VERSION a slot's settings name) of app runs; nil removes it. A
// version without a handler answers 200 with "null".
func (s *Server) SetHandler(app, version string, h Handler) {
	s.inv.mu.Lock()
	defer s.inv.mu.Unlock()
	if s.inv.handlers == nil {
		s.inv.handlers = map[string]Handler{}
	}
	if h == nil {
		delete(s.inv.handlers, app+"/"+version)
		return
	}
	s.inv.handlers[app+"/"+version] = h
}

// Invocations returns a copy of the invocation log, oldest first.
func (s *Server) Invocations() []Invocation {
	s.inv.mu.Lock()
	defer s.inv.mu.Unlock()
	return append([]Invocation(nil), s.inv.log...)
}

// InvokeTransport returns an http.RoundTripper that answers requests to the
// emulated apps' and slots' host names in process (use it in the adapter's
// azurefunc.Options.InvokeClient). Other hosts fail; a host of no app
// answers 404.
func (s *Server) InvokeTransport() http.RoundTripper {
	return httpfn.Transport("azuretest", ".azurewebsites.net", func(ctx context.Context, host, path string, body []byte) (int, []byte) {
		return s.invoke(ctx, host, path, body)
	})
}

func (s *Server) invoke(ctx context.Context, host, path string, body []byte) (int, []byte) {
	s.mu.Lock()
	var st *site
	slotName := ""
	for _, x := range s.sites {
		if name, ok := x.slotByHost(host); ok {
			st, slotName = x, name
			break
		}
	}
	if st == nil {
		s.mu.Unlock()
		return http.StatusNotFound, []byte(`{"error":"site not found"}`)
	}
	if slotName == "" {
		slotName = s.rampUpPick(st)
	}
	version := st.slots[slotName].settings["SLIPWAY_VERSION"]
	app := st.name
	began := s.now()
	s.mu.Unlock()

	s.inv.mu.Lock()
	h := s.inv.handlers[app+"/"+version]
	s.inv.log = append(s.inv.log, Invocation{Host: host, Path: path, Slot: slotName, Version: version})
	s.inv.mu.Unlock()
	code, out := httpfn.Run(ctx, h, body)
	s.mu.Lock()
	// The answering slot's metrics count the request (traffic.go, call),
	// unless the app was deleted meanwhile.
	if s.sites[app] == st {
		s.calls[app] = append(s.calls[app], call{at: began, slot: slotName, status: code, secs: s.now().Sub(began).Seconds()})
	}
	s.mu.Unlock()
	return code, out
}

// rampUpPick returns the slot a production request reaches: the slot of
// the first ramp-up rule for its share of requests (a running credit, so
// n requests send it floor or ceil of n·share), else production. The
// caller holds s.mu.
func (s *Server) rampUpPick(st *site) string {
	rules, _ := rulesOf(st.slots[""].config)
	if len(rules) == 0 || rules[0].ActionHostName == nil || rules[0].ReroutePercentage == nil {
		return ""
	}
	target, ok := st.slotByHost(*rules[0].ActionHostName)
	if !ok {
		return ""
	}
	s.inv.mu.Lock()
	defer s.inv.mu.Unlock()
	if s.inv.credit == nil {
		s.inv.credit = map[string]float64{}
	}
	s.inv.credit[st.name] += *rules[0].ReroutePercentage / 100
	if s.inv.credit[st.name] >= 1-1e-9 { // tolerate the float sum of 0.1s
		s.inv.credit[st.name]--
		return target
	}
	return ""
}

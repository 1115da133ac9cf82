package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// PagerDutyEventsURL is the Events API v2 endpoint.
const PagerDutyEventsURL = "https://events.pagerduty.com/v2/enqueue"

// PagerDuty pages through the PagerDuty Events API v2: a rollback triggers
// an alert, and the next promotion of the same function and alias resolves
// every alert this notifier triggered for it. Failed releases (a conflict,
// a blocked window, a platform error) trigger too when TriggerOnFailure is
// set; otherwise they send nothing.
//
// Dedup keys: one per release, "slipway/<function>/<alias>/<release>"
// (the release ID, or the candidate version when the notification has
// none), so a retried notification of the same rollback adds to the same
// alert instead of opening another, while two failed releases of one alias
// are two alerts. The keys of triggered alerts are kept in Keys until a
// promotion resolves them; a CI job that runs each release in a new
// process keeps them in a FileKeys beside its state.
//
// The routing key (an integration key) is a Secret: never logged, never in
// an error. An answer outside 2xx is an *HTTPError (PagerDuty answers 400
// "invalid event" with the reasons, 429 when rate limited); PagerDuty
// accepts an event with 202.
type PagerDuty struct {
	// RoutingKey is the Events API v2 integration key, typically
	// SecretFromEnv("PAGERDUTY_ROUTING_KEY").
	RoutingKey Secret `json:"routingKey"`
	// URL is the endpoint; "" means PagerDutyEventsURL.
	URL string `json:"url,omitempty"`
	// Severity of triggered alerts: critical, error, warning or info; ""
	// means critical for a rollback, warning for a failure.
	Severity string `json:"severity,omitempty"`
	// Source names the affected system in the alert; "" means
	// "<function>:<alias>".
	Source string `json:"source,omitempty"`
	// TriggerOnFailure also triggers on Failed notifications.
	TriggerOnFailure bool `json:"triggerOnFailure,omitempty"`
	// Keys remembers the dedup keys of open alerts; nil means a MemoryKeys
	// held by this value (so a PagerDuty must not be copied once used).
	Keys IncidentKeys `json:"-"`

	Client  *http.Client  `json:"-"`
	Timeout time.Duration `json:"timeout,omitempty"`

	once sync.Once
	mem  *MemoryKeys
}

var _ Notifier = (*PagerDuty)(nil)

// PagerDutyEvent is the body of an Events API v2 request.
type PagerDutyEvent struct {
	RoutingKey  string            `json:"routing_key"`
	EventAction string            `json:"event_action"` // trigger, acknowledge, resolve
	DedupKey    string            `json:"dedup_key,omitempty"`
	Payload     *PagerDutyPayload `json:"payload,omitempty"`
	Client      string            `json:"client,omitempty"`
	ClientURL   string            `json:"client_url,omitempty"`
	Links       []PagerDutyLink   `json:"links,omitempty"`
}

// PagerDutyPayload is the alert of a trigger event.
type PagerDutyPayload struct {
	Summary       string            `json:"summary"` // at most 1024 characters
	Source        string            `json:"source"`
	Severity      string            `json:"severity"`
	Timestamp     string            `json:"timestamp,omitempty"` // RFC 3339
	Component     string            `json:"component,omitempty"`
	Group         string            `json:"group,omitempty"`
	Class         string            `json:"class,omitempty"`
	CustomDetails map[string]string `json:"custom_details,omitempty"`
}

// PagerDutyLink is a link shown with the alert.
type PagerDutyLink struct {
	Href string `json:"href"`
	Text string `json:"text,omitempty"`
}

var pagerDutySeverities = []string{"critical", "error", "warning", "info"}

// Validate checks the routing key, the URL and the severity.
func (p *PagerDuty) Validate() error {
	if p.RoutingKey == "" {
		return provider.Invalid("pagerduty", "routingKey", "is empty")
	}
	if p.Severity != "" && !slices.Contains(pagerDutySeverities, p.Severity) {
		return provider.Invalid("pagerduty", "severity", fmt.Sprintf("%q is not one of %q", p.Severity, pagerDutySeverities))
	}
	return nil
}

func (p *PagerDuty) keys() IncidentKeys {
	if p.Keys != nil {
		return p.Keys
	}
	p.once.Do(func() { p.mem = &MemoryKeys{} })
	return p.mem
}

// DedupKey is the alert key of n's release.
func DedupKey(n Notification) string {
	id := n.Release
	if id == "" {
		id = "version-" + n.Candidate
	}
	return "slipway/" + n.Function + "/" + n.Alias + "/" + id
}

// Notify triggers on a rollback (and, with TriggerOnFailure, on a failure)
// and resolves the alias's open alerts on a promotion.
func (p *PagerDuty) Notify(ctx context.Context, n Notification) error {
	if err := n.Validate(); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return err
	}
	scope := n.Function + "/" + n.Alias
	switch {
	case n.Kind == Promoted:
		keys, err := p.keys().Take(scope)
		if err != nil {
			return fmt.Errorf("notify: pagerduty: open alerts of %s: %w", scope, err)
		}
		for i, k := range keys {
			if err := p.send(ctx, PagerDutyEvent{RoutingKey: p.RoutingKey.Reveal(), EventAction: "resolve", DedupKey: k}); err != nil {
				// Keep what was not resolved for the next promotion.
				for _, rest := range keys[i:] {
					err = errors.Join(err, p.keys().Add(scope, rest))
				}
				return err
			}
		}
		return nil
	case n.Kind == RolledBack || (n.Kind == Failed && p.TriggerOnFailure):
		key := DedupKey(n)
		if err := p.send(ctx, p.trigger(n, key)); err != nil {
			return err
		}
		return p.keys().Add(scope, key)
	}
	return nil
}

func (p *PagerDuty) trigger(n Notification, key string) PagerDutyEvent {
	sev := p.Severity
	if sev == "" {
		sev = "critical"
		if n.Kind == Failed {
			sev = "warning"
		}
	}
	src := p.Source
	if src == "" {
		src = n.Function
		if n.Alias != "" {
			src += ":" + n.Alias
		}
	}
	summary := n.Text()
	if r := []rune(summary); len(r) > 1024 {
		summary = string(r[:1023]) + "…"
	}
	details := map[string]string{"kind": string(n.Kind), "function": n.Function}
	for k, v := range map[string]string{"alias": n.Alias, "release": n.Release, "candidate": n.Candidate,
		"stable": n.Stable, "semver": n.Semver, "actor": n.Actor, "reason": n.Reason} {
		if v != "" {
			details[k] = v
		}
	}
	ev := PagerDutyEvent{
		RoutingKey: p.RoutingKey.Reveal(), EventAction: "trigger", DedupKey: key, Client: "slipway",
		Payload: &PagerDutyPayload{Summary: summary, Source: src, Severity: sev, Timestamp: n.Time.UTC().Format(time.RFC3339),
			Component: n.Function, Group: n.Alias, Class: "release " + string(n.Kind), CustomDetails: details},
	}
	if n.URL != "" {
		ev.ClientURL = n.URL
		ev.Links = []PagerDutyLink{{Href: n.URL, Text: "release details"}}
	}
	return ev
}

func (p *PagerDuty) send(ctx context.Context, ev PagerDutyEvent) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	u := p.URL
	if u == "" {
		u = PagerDutyEventsURL
	}
	return scrubError(post(ctx, p.Client, u, nil, p.Timeout, body), p.RoutingKey)
}

// IncidentKeys remembers the dedup keys of the alerts a PagerDuty notifier
// triggered and has not resolved, per scope ("function/alias").
// Implementations are safe for concurrent use.
type IncidentKeys interface {
	// Add records key under scope (once: adding it again changes nothing).
	Add(scope, key string) error
	// Take returns the keys of scope, oldest first, and forgets them.
	Take(scope string) ([]string, error)
}

// MemoryKeys is an IncidentKeys in memory. The zero value is ready.
type MemoryKeys struct {
	mu sync.Mutex
	m  map[string][]string
}

// Add records key under scope.
func (k *MemoryKeys) Add(scope, key string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = map[string][]string{}
	}
	if !slices.Contains(k.m[scope], key) {
		k.m[scope] = append(k.m[scope], key)
	}
	return nil
}

// Take returns and forgets the keys of scope.
func (k *MemoryKeys) Take(scope string) ([]string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	keys := k.m[scope]
	delete(k.m, scope)
	return keys, nil
}

// FileKeys is an IncidentKeys in a JSON file ({"scope": ["key", …]}),
// replaced atomically (temporary file, fsync, rename) on every change, so
// a release run in a later process resolves what an earlier one
// triggered. One process at a time should use a Path.
type FileKeys struct {
	Path string
	mu   sync.Mutex
}

func (f *FileKeys) load() (map[string][]string, error) {
	b, err := os.ReadFile(f.Path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string][]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	m := map[string][]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("notify: %s: %w", f.Path, err)
	}
	return m, nil
}

func (f *FileKeys) save(m map[string][]string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.Path), "."+filepath.Base(f.Path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), f.Path)
}

// Add records key under scope.
func (f *FileKeys) Add(scope, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.load()
	if err != nil {
		return err
	}
	if slices.Contains(m[scope], key) {
		return nil
	}
	m[scope] = append(m[scope], key)
	return f.save(m)
}

// Take returns and forgets the keys of scope.
func (f *FileKeys) Take(scope string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.load()
	if err != nil {
		return nil, err
	}
	keys, ok := m[scope]
	if !ok {
		return nil, nil
	}
	delete(m, scope)
	return keys, f.save(m)
}

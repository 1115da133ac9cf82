package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/notify"
	"github.com/slipway-dev/slipway/provider"
)

const routingKey = "R0UT1NGKEY0123456789abcdefABCDEF" // 32 characters, as PagerDuty's

// pagerDutyServer checks each request against the Events API v2 schema
// (developer.pagerduty.com, "Send an Alert Event"): JSON body; routing_key
// of 32 characters; event_action trigger, acknowledge or resolve;
// dedup_key at most 255 characters, required for acknowledge and resolve;
// for trigger a payload with summary (at most 1024 characters), source and
// severity (critical, error, warning, info) and, when present, an
// ISO 8601 timestamp; links with href. It answers 202 {"status":
// "success", "message": "Event processed", "dedup_key": …}, or 400
// {"status": "invalid event", "message": "Event object is invalid",
// "errors": […]} and records the violation.
type pagerDutyServer struct {
	srv    *httptest.Server
	mu     sync.Mutex
	events []map[string]any
	bad    []string
	status int // forced answer when non-zero
}

func newPagerDuty(t *testing.T) *pagerDutyServer {
	p := &pagerDutyServer{}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *pagerDutyServer) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	p.mu.Lock()
	forced := p.status
	p.mu.Unlock()
	if forced != 0 {
		w.WriteHeader(forced)
		// A hostile or careless endpoint echoing the request.
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, `{"status":"error","echo":%q}`, b)
		return
	}
	var errs []string
	var ev map[string]any
	b, _ := io.ReadAll(r.Body)
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/v2/enqueue":
		errs = append(errs, "not POST /v2/enqueue: "+r.Method+" "+r.URL.Path)
	case r.Header.Get("Content-Type") != "application/json":
		errs = append(errs, "Content-Type "+r.Header.Get("Content-Type"))
	case json.Unmarshal(b, &ev) != nil:
		errs = append(errs, "body is not a JSON object")
	default:
		errs = checkEvent(ev)
	}
	p.mu.Lock()
	if len(errs) > 0 {
		p.bad = append(p.bad, errs...)
	} else {
		p.events = append(p.events, ev)
	}
	p.mu.Unlock()
	if len(errs) > 0 {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"status": "invalid event", "message": "Event object is invalid", "errors": errs})
		return
	}
	w.WriteHeader(http.StatusAccepted)
	json.NewEncoder(w).Encode(map[string]any{"status": "success", "message": "Event processed", "dedup_key": ev["dedup_key"]})
}

func checkEvent(ev map[string]any) []string {
	var errs []string
	str := func(m map[string]any, k string) (string, bool) { s, ok := m[k].(string); return s, ok }
	known := []string{"routing_key", "event_action", "dedup_key", "payload", "images", "links", "client", "client_url"}
	for k := range ev {
		if !slices.Contains(known, k) {
			errs = append(errs, "unknown field "+k)
		}
	}
	if rk, _ := str(ev, "routing_key"); len(rk) != 32 {
		errs = append(errs, "routing_key must be 32 characters")
	}
	action, _ := str(ev, "event_action")
	if !slices.Contains([]string{"trigger", "acknowledge", "resolve"}, action) {
		errs = append(errs, "event_action is invalid: "+action)
	}
	dk, hasDK := str(ev, "dedup_key")
	if len(dk) > 255 {
		errs = append(errs, "dedup_key longer than 255")
	}
	if action != "trigger" && (!hasDK || dk == "") {
		errs = append(errs, "dedup_key is required for "+action)
	}
	if action == "trigger" {
		pl, ok := ev["payload"].(map[string]any)
		if !ok {
			return append(errs, "payload is required for trigger")
		}
		if s, _ := str(pl, "summary"); s == "" || len([]rune(s)) > 1024 {
			errs = append(errs, "payload.summary must have 1 to 1024 characters")
		}
		if s, _ := str(pl, "source"); s == "" {
			errs = append(errs, "payload.source is required")
		}
		if s, _ := str(pl, "severity"); !slices.Contains([]string{"critical", "error", "warning", "info"}, s) {
			errs = append(errs, "payload.severity is invalid: "+s)
		}
		if s, ok := str(pl, "timestamp"); ok {
			if _, err := time.Parse(time.RFC3339, s); err != nil {
				errs = append(errs, "payload.timestamp is not ISO 8601")
			}
		}
		if cd, ok := pl["custom_details"]; ok {
			if _, isObj := cd.(map[string]any); !isObj {
				errs = append(errs, "payload.custom_details is not an object")
			}
		}
	}
	if links, ok := ev["links"].([]any); ok {
		for _, l := range links {
			if m, _ := l.(map[string]any); m == nil || m["href"] == nil {
				errs = append(errs, "links[] needs href")
			}
		}
	}
	return errs
}

func (p *pagerDutyServer) got() ([]map[string]any, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.events), slices.Clone(p.bad)
}

// TestPagerDutyTriggerResolve: a rollback triggers with the release's dedup
// key; a retried notification of it reuses the key; a second failed
// release of the alias is a second alert; the next promotion resolves both;
// a promotion of another alias resolves nothing.
func TestPagerDutyTriggerResolve(t *testing.T) {
	srv := newPagerDuty(t)
	pd := &notify.PagerDuty{RoutingKey: routingKey, URL: srv.srv.URL + "/v2/enqueue"}
	ctx := context.Background()
	second := rolledBack
	second.Release, second.Candidate, second.Time = "r-43", "9", t0.Add(time.Hour)
	promoted := notify.Notification{Kind: notify.Promoted, Time: t0.Add(2 * time.Hour), Function: "orders", Alias: "production", Release: "r-44", Candidate: "10", Stable: "7"}
	other := promoted
	other.Alias = "staging"
	for _, n := range []notify.Notification{rolledBack, rolledBack, second, other, promoted, promoted} {
		if err := pd.Notify(ctx, n); err != nil {
			t.Fatalf("Notify(%s %s): %v", n.Kind, n.Release, err)
		}
	}
	events, bad := srv.got()
	if len(bad) > 0 {
		t.Fatalf("schema violations: %q", bad)
	}
	var got []string
	for _, ev := range events {
		got = append(got, ev["event_action"].(string)+" "+ev["dedup_key"].(string))
	}
	want := []string{
		"trigger slipway/orders/production/r-42", "trigger slipway/orders/production/r-42",
		"trigger slipway/orders/production/r-43",
		"resolve slipway/orders/production/r-42", "resolve slipway/orders/production/r-43",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	wantFirst := map[string]any{
		"routing_key": routingKey, "event_action": "trigger", "dedup_key": "slipway/orders/production/r-42", "client": "slipway",
		"client_url": "https://ci.example/run/42",
		"links":      []any{map[string]any{"href": "https://ci.example/run/42", "text": "release details"}},
		"payload": map[string]any{
			"summary": rolledBack.Text(), "source": "orders:production", "severity": "critical", "timestamp": "2026-03-02T10:00:00Z",
			"component": "orders", "group": "production", "class": "release rolled back",
			"custom_details": map[string]any{"kind": "rolled back", "function": "orders", "alias": "production", "release": "r-42",
				"candidate": "8", "stable": "7", "semver": "1.2.0", "actor": "ci <bot>", "reason": rolledBack.Reason},
		},
	}
	if diff := cmp.Diff(wantFirst, events[0]); diff != "" {
		t.Errorf("trigger event (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"routing_key": routingKey, "event_action": "resolve", "dedup_key": "slipway/orders/production/r-42"}, events[3]); diff != "" {
		t.Errorf("resolve event (-want +got):\n%s", diff)
	}
}

// TestPagerDutyFileKeys: a later process (a new notifier over the same
// file) resolves what an earlier one triggered.
func TestPagerDutyFileKeys(t *testing.T) {
	srv := newPagerDuty(t)
	path := filepath.Join(t.TempDir(), "pagerduty.json")
	ctx := context.Background()
	first := &notify.PagerDuty{RoutingKey: routingKey, URL: srv.srv.URL + "/v2/enqueue", Keys: &notify.FileKeys{Path: path}}
	if err := first.Notify(ctx, rolledBack); err != nil {
		t.Fatal(err)
	}
	later := &notify.PagerDuty{RoutingKey: routingKey, URL: srv.srv.URL + "/v2/enqueue", Keys: &notify.FileKeys{Path: path}}
	if err := later.Notify(ctx, notify.Notification{Kind: notify.Promoted, Time: t0, Function: "orders", Alias: "production"}); err != nil {
		t.Fatal(err)
	}
	events, bad := srv.got()
	if len(bad) > 0 || len(events) != 2 || events[1]["event_action"] != "resolve" || events[1]["dedup_key"] != "slipway/orders/production/r-42" {
		t.Fatalf("events %v, violations %q", events, bad)
	}
}

// TestPagerDutyFailures: failures trigger only when asked, with severity
// warning; a refused resolve keeps the key for the next promotion; a
// rate-limited answer is an *HTTPError with status 429; bad configuration
// is ErrInvalid.
func TestPagerDutyFailures(t *testing.T) {
	srv := newPagerDuty(t)
	ctx := context.Background()
	failed := rolledBack
	failed.Kind = notify.Failed
	quiet := &notify.PagerDuty{RoutingKey: routingKey, URL: srv.srv.URL + "/v2/enqueue"}
	if err := quiet.Notify(ctx, failed); err != nil {
		t.Fatal(err)
	}
	loud := &notify.PagerDuty{RoutingKey: routingKey, URL: srv.srv.URL + "/v2/enqueue", TriggerOnFailure: true}
	if err := loud.Notify(ctx, failed); err != nil {
		t.Fatal(err)
	}
	events, _ := srv.got()
	if len(events) != 1 || events[0]["payload"].(map[string]any)["severity"] != "warning" {
		t.Fatalf("events %v: want one warning trigger", events)
	}
	srv.mu.Lock()
	srv.status = http.StatusTooManyRequests
	srv.mu.Unlock()
	promoted := notify.Notification{Kind: notify.Promoted, Time: t0, Function: "orders", Alias: "production"}
	err := loud.Notify(ctx, promoted)
	var he *notify.HTTPError
	if !errors.As(err, &he) || he.StatusCode != 429 {
		t.Fatalf("rate-limited resolve: %v, want an *HTTPError 429", err)
	}
	if strings.Contains(err.Error(), routingKey) {
		t.Errorf("error shows the routing key: %v", err)
	}
	srv.mu.Lock()
	srv.status = 0
	srv.mu.Unlock()
	if err := loud.Notify(ctx, promoted); err != nil {
		t.Fatal(err)
	}
	events, _ = srv.got()
	if last := events[len(events)-1]; last["event_action"] != "resolve" {
		t.Errorf("the key kept after the refused resolve was not resolved next time: %v", last)
	}
	for _, bad := range []*notify.PagerDuty{{}, {RoutingKey: routingKey, Severity: "page-me"}} {
		if err := bad.Notify(ctx, rolledBack); !errors.Is(err, provider.ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", bad, err)
		}
	}
}

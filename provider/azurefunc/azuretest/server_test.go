package azuretest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider/azurefunc/azuretest"
	"github.com/slipway-dev/slipway/provider/providertest"
)

// These tests speak raw HTTP to the emulator, as the REST reference
// describes the calls, independent of the adapter. References:
//   - REF-SETTINGS: learn.microsoft.com/rest/api/appservice/web-apps/update-application-settings
//     ("Replaces the application settings of an app"; PUT …/config/appsettings)
//   - REF-CONFIG: …/web-apps/update-configuration (PATCH …/config/web) and
//     …/create-or-update-configuration (PUT)
//   - REF-RAMPUP: RampUpRule (learn.microsoft.com dotnet/javascript API
//     reference): name "unique in the collection of rules", actionHostName
//     "hostname of a slot", reroutePercentage "percentage of the traffic"
//   - REF-SWAP: …/web-apps/swap-slot-slot (POST …/slots/{slot}/slotsswap,
//     targetSlot and preserveVnet required; 200, or 202 with Location and
//     Retry-After)
//   - REF-ARM-THROTTLE: learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling
//     (429 Too Many Requests with Retry-After)
//   - REF-METRICS: learn.microsoft.com/rest/api/monitor/metrics/list and
//     "Supported metrics for Microsoft.Web/sites" (Requests, Http5xx:
//     Count/Total; HttpResponseTime: Seconds/Average; grains PT1M…P1D)

const app = "checkout"

func start(t *testing.T, opts azuretest.Options) (*azuretest.Server, *providertest.Clock) {
	t.Helper()
	c := providertest.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	opts.Now = c.Now
	srv := azuretest.NewServer(opts)
	t.Cleanup(srv.Close)
	if err := srv.CreateSite(app, map[string]string{"FUNCTIONS_EXTENSION_VERSION": "~4"}); err != nil {
		t.Fatal(err)
	}
	return srv, c
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
}

func (r reply) code() string {
	e, _ := r.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// call sends method to path (under the app's resource ID when it starts
// with "/sites") with api-version set unless the path has a query.
func call(t *testing.T, srv *azuretest.Server, method, path string, body any) reply {
	t.Helper()
	u := path
	if strings.HasPrefix(path, "/sites") {
		u = "/subscriptions/" + azuretest.Subscription + "/resourceGroups/" + azuretest.ResourceGroup + "/providers/Microsoft.Web" + path
	}
	if !strings.HasPrefix(u, "https://") {
		u = srv.URL() + u
	}
	if !strings.Contains(u, "?") {
		u += "?api-version=" + azuretest.WebAPIVersion
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := reply{status: resp.StatusCode, header: resp.Header}
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, raw, err)
		}
	}
	return r
}

func wantStatus(t *testing.T, what string, r reply, status int, code string) {
	t.Helper()
	if r.status != status || (code != "" && r.code() != code) {
		t.Fatalf("%s: got %d %q (%v), want %d %q", what, r.status, r.code(), r.body, status, code)
	}
}

func createSlot(t *testing.T, srv *azuretest.Server, slot string) {
	t.Helper()
	wantStatus(t, "create slot "+slot, call(t, srv, http.MethodPut, "/sites/"+app+"/slots/"+slot, map[string]any{"location": azuretest.Location}), http.StatusOK, "")
}

func TestRequestsNeedAPIVersion(t *testing.T) {
	srv, _ := start(t, azuretest.Options{})
	r := call(t, srv, http.MethodGet, srv.URL()+"/subscriptions/"+azuretest.Subscription+"/resourceGroups/"+azuretest.ResourceGroup+"/providers/Microsoft.Web/sites/"+app+"?x=1", nil)
	wantStatus(t, "GET without api-version", r, http.StatusBadRequest, "MissingApiVersionParameter")
}

func TestNotFound(t *testing.T) {
	srv, _ := start(t, azuretest.Options{})
	for _, path := range []string{"/sites/absent", "/sites/" + app + "/slots/absent", "/sites/absent/config/web"} {
		r := call(t, srv, http.MethodGet, path, nil)
		wantStatus(t, "GET "+path, r, http.StatusNotFound, "ResourceNotFound")
	}
	r := call(t, srv, http.MethodPost, "/sites/"+app+"/slots/absent/config/appsettings/list", nil)
	wantStatus(t, "list settings of a missing slot", r, http.StatusNotFound, "ResourceNotFound")
}

// REF-SETTINGS: PUT …/config/appsettings replaces the settings: one left
// out of the body is gone.
func TestSettingsReplacedWhole(t *testing.T) {
	srv, _ := start(t, azuretest.Options{})
	wantStatus(t, "put A,B", call(t, srv, http.MethodPut, "/sites/"+app+"/config/appsettings", map[string]any{"properties": map[string]string{"A": "1", "B": "2"}}), http.StatusOK, "")
	wantStatus(t, "put B", call(t, srv, http.MethodPut, "/sites/"+app+"/config/appsettings", map[string]any{"properties": map[string]string{"B": "3"}}), http.StatusOK, "")
	r := call(t, srv, http.MethodPost, "/sites/"+app+"/config/appsettings/list", nil)
	wantStatus(t, "list", r, http.StatusOK, "")
	if diff := cmp.Diff(map[string]any{"B": "3"}, r.body["properties"]); diff != "" {
		t.Errorf("settings after two PUTs (-want +got):\n%s", diff)
	}
}

func rule(name, host string, pct float64) map[string]any {
	return map[string]any{"name": name, "actionHostName": host, "reroutePercentage": pct}
}

func rulesOf(t *testing.T, r reply) []any {
	t.Helper()
	props, _ := r.body["properties"].(map[string]any)
	ex, _ := props["experiments"].(map[string]any)
	rules, _ := ex["rampUpRules"].([]any)
	return rules
}

// REF-CONFIG: PATCH merges top-level properties, each replaced whole (so
// experiments.rampUpRules is replaced as a list); PUT sets the whole config
// (docs/platforms/azure-functions.md §4, sharp edge 18: a client that PUTs only rampUpRules
// loses its other settings).
func TestConfigPatchMergesPutReplaces(t *testing.T) {
	srv, _ := start(t, azuretest.Options{})
	createSlot(t, srv, "canary")
	host := app + "-canary.azurewebsites.net"
	wantStatus(t, "patch alwaysOn", call(t, srv, http.MethodPatch, "/sites/"+app+"/config/web", map[string]any{"properties": map[string]any{"alwaysOn": true}}), http.StatusOK, "")
	wantStatus(t, "patch rule a", call(t, srv, http.MethodPatch, "/sites/"+app+"/config/web",
		map[string]any{"properties": map[string]any{"experiments": map[string]any{"rampUpRules": []any{rule("a", host, 10)}}}}), http.StatusOK, "")
	r := call(t, srv, http.MethodPatch, "/sites/"+app+"/config/web",
		map[string]any{"properties": map[string]any{"experiments": map[string]any{"rampUpRules": []any{rule("b", host, 20)}}}})
	wantStatus(t, "patch rule b", r, http.StatusOK, "")
	if got := rulesOf(t, r); len(got) != 1 || got[0].(map[string]any)["name"] != "b" {
		t.Errorf("rules after PATCHing [b] over [a] = %v, want [b] only (the list is replaced)", got)
	}
	if props := r.body["properties"].(map[string]any); props["alwaysOn"] != true {
		t.Errorf("PATCH of experiments reset alwaysOn: %v", props["alwaysOn"])
	}
	r = call(t, srv, http.MethodPut, "/sites/"+app+"/config/web", map[string]any{"properties": map[string]any{"experiments": map[string]any{"rampUpRules": []any{}}}})
	wantStatus(t, "put", r, http.StatusOK, "")
	if props := r.body["properties"].(map[string]any); props["alwaysOn"] != false {
		t.Errorf("PUT with experiments only kept alwaysOn=%v, want the default false", props["alwaysOn"])
	}
}

// REF-RAMPUP: rules are validated when written.
func TestRampUpRuleValidation(t *testing.T) {
	srv, _ := start(t, azuretest.Options{})
	createSlot(t, srv, "canary")
	host := app + "-canary.azurewebsites.net"
	for _, tt := range []struct {
		name  string
		rules []any
		ok    bool
	}{
		{"valid", []any{rule("canary", host, 12.5)}, true},
		{"zero", []any{rule("canary", host, 0)}, true},
		{"all", []any{rule("canary", host, 100)}, true},
		{"over 100", []any{rule("canary", host, 100.5)}, false},
		{"negative", []any{rule("canary", host, -1)}, false},
		{"host of no slot", []any{rule("canary", app+"-absent.azurewebsites.net", 10)}, false},
		{"host of production itself", []any{rule("canary", app+".azurewebsites.net", 10)}, false},
		{"duplicate names", []any{rule("canary", host, 10), rule("canary", host, 5)}, false},
		{"no name", []any{map[string]any{"actionHostName": host, "reroutePercentage": 5}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, srv, http.MethodPatch, "/sites/"+app+"/config/web", map[string]any{"properties": map[string]any{"experiments": map[string]any{"rampUpRules": tt.rules}}})
			if tt.ok {
				wantStatus(t, tt.name, r, http.StatusOK, "")
			} else {
				wantStatus(t, tt.name, r, http.StatusBadRequest, "BadRequest")
			}
		})
	}
}

// REF-SWAP: a swap is a long-running operation: 202 with Location and
// Retry-After, polled until 200; a second swap meanwhile is 409 (docs/platforms/azure-functions.md
// §4 sharp edge 16). The settings (and so the package) change slots only
// when it completes.
func TestSwapIsLongRunning(t *testing.T) {
	srv, _ := start(t, azuretest.Options{SwapPolls: 2, SwapRetryAfter: 1})
	createSlot(t, srv, "canary")
	put := func(path, v string) {
		wantStatus(t, "put settings", call(t, srv, http.MethodPut, path, map[string]any{"properties": map[string]string{"VERSION": v}}), http.StatusOK, "")
	}
	put("/sites/"+app+"/config/appsettings", "old")
	put("/sites/"+app+"/slots/canary/config/appsettings", "new")
	version := func(slot string) string {
		s, err := srv.Settings(app, slot)
		if err != nil {
			t.Fatal(err)
		}
		return s["VERSION"]
	}

	r := call(t, srv, http.MethodPost, "/sites/"+app+"/slots/canary/slotsswap", map[string]any{"targetSlot": "production"})
	wantStatus(t, "swap without preserveVnet", r, http.StatusBadRequest, "BadRequest")

	r = call(t, srv, http.MethodPost, "/sites/"+app+"/slots/canary/slotsswap", map[string]any{"targetSlot": "production", "preserveVnet": true})
	wantStatus(t, "swap", r, http.StatusAccepted, "")
	loc := r.header.Get("Location")
	if loc == "" || r.header.Get("Retry-After") != "1" {
		t.Fatalf("swap answered Location %q, Retry-After %q; want both", loc, r.header.Get("Retry-After"))
	}
	wantStatus(t, "second swap", call(t, srv, http.MethodPost, "/sites/"+app+"/slots/canary/slotsswap", map[string]any{"targetSlot": "production", "preserveVnet": true}), http.StatusConflict, "Conflict")
	wantStatus(t, "first poll", call(t, srv, http.MethodGet, loc, nil), http.StatusAccepted, "")
	if version("") != "old" {
		t.Fatalf("production runs %q while the swap runs, want old", version(""))
	}
	wantStatus(t, "second poll", call(t, srv, http.MethodGet, loc, nil), http.StatusOK, "")
	if version("") != "new" || version("canary") != "old" {
		t.Fatalf("after the swap production runs %q and canary %q, want new and old", version(""), version("canary"))
	}
	wantStatus(t, "swap back", call(t, srv, http.MethodPost, "/sites/"+app+"/slotsswap", map[string]any{"targetSlot": "canary", "preserveVnet": true}), http.StatusAccepted, "")
}

// REF-ARM-THROTTLE: throttled requests are 429 with Retry-After.
func TestThrottle(t *testing.T) {
	srv, _ := start(t, azuretest.Options{Throttle: func(op string) (time.Duration, bool) { return 1500 * time.Millisecond, op == "GetConfiguration" }})
	r := call(t, srv, http.MethodGet, "/sites/"+app+"/config/web", nil)
	wantStatus(t, "throttled", r, http.StatusTooManyRequests, "TooManyRequests")
	if got := r.header.Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After = %q, want 2 (seconds, rounded up)", got)
	}
	wantStatus(t, "not throttled", call(t, srv, http.MethodGet, "/sites/"+app, nil), http.StatusOK, "")
}

func TestSlotLimit(t *testing.T) {
	srv, _ := start(t, azuretest.Options{MaxSlots: 1})
	createSlot(t, srv, "a")
	r := call(t, srv, http.MethodPut, "/sites/"+app+"/slots/b", map[string]any{"location": azuretest.Location})
	wantStatus(t, "slot over the plan's limit", r, http.StatusConflict, "Conflict")
	r = call(t, srv, http.MethodPut, "/sites/"+app+"/slots/c", map[string]any{})
	wantStatus(t, "slot without location", r, http.StatusBadRequest, "LocationRequired")
}

// Deployments page by nextLink.
func TestDeploymentsPage(t *testing.T) {
	srv, _ := start(t, azuretest.Options{PageSize: 2})
	for i, id := range []string{"a", "b", "c", "d", "e"} {
		at := time.Date(2026, 3, 2, 10, i, 0, 0, time.UTC).Format(time.RFC3339)
		wantStatus(t, "put "+id, call(t, srv, http.MethodPut, "/sites/"+app+"/deployments/"+id, map[string]any{"properties": map[string]any{"start_time": at}}), http.StatusOK, "")
	}
	var got []string
	next := "/sites/" + app + "/deployments"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("nextLink never ends")
		}
		r := call(t, srv, http.MethodGet, next, nil)
		wantStatus(t, "list", r, http.StatusOK, "")
		for _, v := range r.body["value"].([]any) {
			n := v.(map[string]any)["name"].(string)
			got = append(got, n[strings.LastIndexByte(n, '/')+1:])
		}
		next, _ = r.body["nextLink"].(string)
	}
	if diff := cmp.Diff([]string{"a", "b", "c", "d", "e"}, got); diff != "" {
		t.Errorf("deployments over pages (-want +got):\n%s", diff)
	}
	wantStatus(t, "delete", call(t, srv, http.MethodDelete, "/sites/"+app+"/deployments/c", nil), http.StatusOK, "")
	wantStatus(t, "get deleted", call(t, srv, http.MethodGet, "/sites/"+app+"/deployments/c", nil), http.StatusNotFound, "ResourceNotFound")
	wantStatus(t, "delete again", call(t, srv, http.MethodDelete, "/sites/"+app+"/deployments/c", nil), http.StatusNoContent, "")
}

func metricsURL(srv *azuretest.Server, slot, query string) string {
	res := "/subscriptions/" + azuretest.Subscription + "/resourceGroups/" + azuretest.ResourceGroup + "/providers/Microsoft.Web/sites/" + app
	if slot != "" {
		res += "/slots/" + slot
	}
	return srv.URL() + res + "/providers/Microsoft.Insights/metrics?api-version=" + azuretest.MetricsAPIVersion + "&" + query
}

// totals returns metric name → the grains' total (or average) values;
// a grain without a value is -1.
func totals(t *testing.T, r reply, field string) map[string][]float64 {
	t.Helper()
	out := map[string][]float64{}
	for _, m := range r.body["value"].([]any) {
		mm := m.(map[string]any)
		name := mm["name"].(map[string]any)["value"].(string)
		for _, ts := range mm["timeseries"].([]any) {
			for _, d := range ts.(map[string]any)["data"].([]any) {
				v, ok := d.(map[string]any)[field].(float64)
				if !ok {
					v = -1
				}
				out[name] = append(out[name], v)
			}
		}
	}
	return out
}

// REF-METRICS with the traffic model: production's ramp-up rule sends 25%
// of 10 requests a second to the canary slot; each slot's resource reports
// what that slot served; a package's behaviour follows it; grains inside
// MetricsDelay have no value.
func TestMetricsPerSlot(t *testing.T) {
	srv, c := start(t, azuretest.Options{MetricsDelay: time.Minute})
	createSlot(t, srv, "canary")
	pk := srv.Packages()
	goodURL, err := pk.Put(context.Background(), "good.zip", []byte("good"))
	if err != nil {
		t.Fatal(err)
	}
	badURL, _ := pk.Put(context.Background(), "bad.zip", []byte("bad"))
	put := func(path, url string) {
		wantStatus(t, "deploy", call(t, srv, http.MethodPut, path, map[string]any{"properties": map[string]string{"WEBSITE_RUN_FROM_PACKAGE": url}}), http.StatusOK, "")
	}
	put("/sites/"+app+"/config/appsettings", goodURL)
	put("/sites/"+app+"/slots/canary/config/appsettings", badURL)
	if err := srv.SetBehavior(app, sha("bad"), azuretest.Behavior{ErrorRate: 0.1, ResponseTime: 200 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetLoad(app, 10); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "rule", call(t, srv, http.MethodPatch, "/sites/"+app+"/config/web",
		map[string]any{"properties": map[string]any{"experiments": map[string]any{"rampUpRules": []any{rule("canary", app+"-canary.azurewebsites.net", 25)}}}}), http.StatusOK, "")
	c.Advance(3 * time.Minute)

	span := "timespan=2026-03-02T10:00:00Z/2026-03-02T10:03:00Z&interval=PT1M&metricnames=Requests,Http5xx,HttpResponseTime&aggregation=Total,Average"
	prod := call(t, srv, http.MethodGet, metricsURL(srv, "", span), nil)
	wantStatus(t, "production metrics", prod, http.StatusOK, "")
	canary := call(t, srv, http.MethodGet, metricsURL(srv, "canary", span), nil)
	wantStatus(t, "canary metrics", canary, http.StatusOK, "")
	if diff := cmp.Diff(map[string][]float64{"Requests": {450, 450, -1}, "Http5xx": {0, 0, -1}, "HttpResponseTime": {-1, -1, -1}}, totals(t, prod, "total")); diff != "" {
		t.Errorf("production totals (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string][]float64{"Requests": {150, 150, -1}, "Http5xx": {15, 15, -1}, "HttpResponseTime": {-1, -1, -1}}, totals(t, canary, "total")); diff != "" {
		t.Errorf("canary totals (-want +got):\n%s", diff)
	}
	if got := totals(t, canary, "average")["HttpResponseTime"]; len(got) != 3 || got[0] < 0.1999 || got[0] > 0.2001 {
		t.Errorf("canary HttpResponseTime averages = %v, want 0.2 s in the complete grains", got)
	}

	bad := call(t, srv, http.MethodGet, metricsURL(srv, "", "timespan=2026-03-02T10:00:00Z/2026-03-02T10:03:00Z&interval=PT2M&metricnames=Requests"), nil)
	wantStatus(t, "a grain Azure does not have", bad, http.StatusBadRequest, "BadRequest")
	bad = call(t, srv, http.MethodGet, metricsURL(srv, "", "timespan=2026-03-02T10:00:00Z/2026-03-02T10:03:00Z&interval=PT1M&metricnames=Duration"), nil)
	wantStatus(t, "an unknown metric", bad, http.StatusBadRequest, "BadRequest")

	// A package deleted from under a slot fails every request there.
	if err := pk.Delete(context.Background(), badURL); err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Minute)
	later := call(t, srv, http.MethodGet, metricsURL(srv, "canary", "timespan=2026-03-02T10:03:00Z/2026-03-02T10:04:00Z&interval=PT1M&metricnames=Requests,Http5xx&aggregation=Total"), nil)
	if diff := cmp.Diff(map[string][]float64{"Requests": {150}, "Http5xx": {150}}, totals(t, later, "total")); diff != "" {
		t.Errorf("canary with its package gone (-want +got):\n%s", diff)
	}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestPackagesServed(t *testing.T) {
	srv, _ := start(t, azuretest.Options{})
	u, err := srv.Packages().Put(context.Background(), "checkout/abc.zip", []byte("PK zip"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "PK zip" {
		t.Fatalf("GET %s = %d %q", u, resp.StatusCode, b)
	}
}

// A swap runs to its end whether anyone polls it (Options.SwapDuration).
func TestSwapCompletesUnpolled(t *testing.T) {
	srv, c := start(t, azuretest.Options{SwapPolls: 5, SwapDuration: 20 * time.Second})
	createSlot(t, srv, "canary")
	wantStatus(t, "put", call(t, srv, http.MethodPut, "/sites/"+app+"/slots/canary/config/appsettings", map[string]any{"properties": map[string]string{"VERSION": "new"}}), http.StatusOK, "")
	wantStatus(t, "swap", call(t, srv, http.MethodPost, "/sites/"+app+"/slots/canary/slotsswap", map[string]any{"targetSlot": "production", "preserveVnet": true}), http.StatusAccepted, "")
	c.Advance(19 * time.Second)
	wantStatus(t, "swap while one runs", call(t, srv, http.MethodPost, "/sites/"+app+"/slots/canary/slotsswap", map[string]any{"targetSlot": "production", "preserveVnet": true}), http.StatusConflict, "Conflict")
	c.Advance(time.Second)
	r := call(t, srv, http.MethodPost, "/sites/"+app+"/config/appsettings/list", nil)
	if got := r.body["properties"].(map[string]any)["VERSION"]; got != "new" {
		t.Fatalf("production VERSION = %v once the swap's time passed, want new", got)
	}
}

// Fault answers with a 5xx ARM error.
func TestFault(t *testing.T) {
	srv, _ := start(t, azuretest.Options{Fault: func(op string) (int, bool) { return 503, op == "Get" }})
	wantStatus(t, "faulted", call(t, srv, http.MethodGet, "/sites/"+app, nil), http.StatusServiceUnavailable, "ServiceUnavailable")
	wantStatus(t, "not faulted", call(t, srv, http.MethodGet, "/sites/"+app+"/config/web", nil), http.StatusOK, "")
}

// Load sent to a slot's own host name is counted on that slot only.
func TestSlotLoad(t *testing.T) {
	srv, c := start(t, azuretest.Options{})
	createSlot(t, srv, "blue")
	if err := srv.SetSlotLoad(app, "blue", 2); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Minute)
	span := "timespan=2026-03-02T10:00:00Z/2026-03-02T10:01:00Z&interval=PT1M&metricnames=Requests&aggregation=Total"
	if got := totals(t, call(t, srv, http.MethodGet, metricsURL(srv, "blue", span), nil), "total")["Requests"]; len(got) != 1 || got[0] != 120 {
		t.Errorf("blue Requests = %v, want [120]", got)
	}
	if got := totals(t, call(t, srv, http.MethodGet, metricsURL(srv, "", span), nil), "total")["Requests"]; len(got) != 1 || got[0] != 0 {
		t.Errorf("production Requests = %v, want [0]", got)
	}
	if err := srv.SetSlotLoad(app, "absent", 1); err == nil {
		t.Error("SetSlotLoad on a missing slot succeeded")
	}
}

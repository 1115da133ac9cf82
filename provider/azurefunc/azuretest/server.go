package azuretest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// The names the emulator serves under. Any subscription and resource group
// in a request path are accepted as long as they are these.
const (
	Subscription  = "00000000-0000-0000-0000-000000000000"
	ResourceGroup = "slipway-test"
	Location      = "westeurope"
)

// API versions the SDK modules this emulator is checked against send:
// armappservice/v6 v6.0.0 sends 2025-05-01 (webapps_client.go), armmonitor
// v0.13.0 sends 2024-02-01 for Metrics - List (metrics_client.go). A request
// without api-version is refused (ARM's MissingApiVersionParameter); other
// versions are accepted.
const (
	WebAPIVersion     = "2025-05-01"
	MetricsAPIVersion = "2024-02-01"
)

// Options configure a Server. The zero value is ready to use.
type Options struct {
	// Now is the emulator's clock (metrics, traffic, timestamps). Nil means
	// time.Now.
	Now func() time.Time
	// SwapPolls is how many polls of a swap's Location answer 202 before
	// the swap completes (the swap is applied on the poll that answers
	// 200). 0 means 1; negative completes a swap at once (the first poll
	// answers 200).
	SwapPolls int
	// SwapDuration, when positive, also completes a swap once that much
	// emulator time has passed since it started, polled or not, as a swap
	// on Azure runs to its end whether anyone polls it.
	SwapDuration time.Duration
	// SwapRetryAfter is the Retry-After, in whole seconds, of a swap's 202
	// answers (the REST reference lists the header). 0 sends "0".
	SwapRetryAfter int
	// MaxSlots is how many deployment slots besides production an app may
	// have (plan dependent: the App Service limits page gives Standard 5,
	// Premium 20). 0 means 20.
	MaxSlots int
	// PageSize is how many items one page of a list operation holds (slots,
	// deployments) before a nextLink. 0 means 50 (an emulator choice: the
	// REST reference documents paging by nextLink but no page size).
	PageSize int
	// MetricsDelay is how long after a time grain ends Azure Monitor has
	// its data: grains ending later come back without values. 0 means no
	// delay.
	MetricsDelay time.Duration
	// Throttle, when set, is asked before each request with the operation
	// name (see Ops); returning true answers 429 TooManyRequests with
	// Retry-After set to the returned duration (rounded up to seconds).
	Throttle func(op string) (time.Duration, bool)
	// Fault, when set, is asked before each request (after Throttle);
	// returning a status of 500 or more answers it with that status and an
	// ARM error (InternalServerError, ServiceUnavailable, …) instead.
	Fault func(op string) (status int, fail bool)
}

// Server is an in-process HTTPS server emulating the Azure Resource
// Manager calls of App Service (Microsoft.Web/sites) and Azure Monitor
// metrics that slipway's provider/azurefunc uses, plus a package host that
// serves run-from-package blobs. It is safe for concurrent use.
type Server struct {
	srv  *httptest.Server
	opts Options

	mu       sync.Mutex
	sites    map[string]*site
	packages map[string][]byte // path under /packages/ → bytes
	ops      []string
	queries  []string             // Metrics - List query strings, in order
	history  map[string][]segment // app → traffic segments
	load     map[string]float64   // app → requests per second at production
	behavior map[string]map[string]Behavior
	direct   map[string]map[string]float64 // app → slot → requests per second at the slot's own host
	calls    map[string][]call             // app → real requests served (traffic.go), oldest first

	inv invokeState // invoke.go
}

// NewServer starts a Server. Close it when done (t.Cleanup(srv.Close)).
func NewServer(opts Options) *Server {
	s := &Server{
		opts:     opts,
		sites:    map[string]*site{},
		packages: map[string][]byte{},
		history:  map[string][]segment{},
		load:     map[string]float64{},
		behavior: map[string]map[string]Behavior{},
		direct:   map[string]map[string]float64{},
		calls:    map[string][]call{},
	}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// URL is the server's base URL (https://127.0.0.1:port).
func (s *Server) URL() string { return s.srv.URL }

// Client returns an *http.Client that trusts the server's certificate.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Credential returns a credential for the SDK clients: azcore's fake
// token credential (the emulator does not check tokens).
func (s *Server) Credential() azcore.TokenCredential { return &fake.TokenCredential{} }

// ClientOptions returns ARM client options that point the SDK at the
// server: its URL as the resource manager endpoint, its TLS client as the
// transport, no resource-provider registration, and retries off (one
// attempt per call, so throttling reaches the caller).
func (s *Server) ClientOptions() *arm.ClientOptions {
	return &arm.ClientOptions{
		ClientOptions: policy.ClientOptions{
			Cloud: cloud.Configuration{
				ActiveDirectoryAuthorityHost: s.srv.URL + "/",
				Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
					cloud.ResourceManager: {Endpoint: s.srv.URL, Audience: "https://management.core.windows.net/"},
				},
			},
			Transport: s.srv.Client(),
			Retry:     policy.RetryOptions{MaxRetries: -1},
		},
		DisableRPRegistration: true,
	}
}

func (s *Server) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now()
	}
	return time.Now()
}

func (s *Server) pageSize() int {
	if s.opts.PageSize > 0 {
		return s.opts.PageSize
	}
	return 50
}

func (s *Server) maxSlots() int {
	if s.opts.MaxSlots > 0 {
		return s.opts.MaxSlots
	}
	return 20
}

// Ops returns the names of the operations served so far, in order, named
// as the REST reference names them (GetConfiguration, UpdateConfiguration,
// ListApplicationSettings, SwapSlot, Metrics_List, …; slot variants end in
// "Slot"). Throttled and refused requests are included.
func (s *Server) Ops() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ops)
}

// MetricsQueries returns the decoded query strings of the Metrics - List
// requests served so far, in order (timespan, interval, metricnames, …).
func (s *Server) MetricsQueries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.queries)
}

// ResetOps forgets the operations recorded so far.
func (s *Server) ResetOps() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ops = nil
}

// armError is an ARM error response: {"error":{"code":…,"message":…}}.
type armError struct {
	status  int
	code    string
	message string
}

func (e *armError) Error() string { return e.code + ": " + e.message }

func errf(status int, code, format string, a ...any) *armError {
	return &armError{status: status, code: code, message: fmt.Sprintf(format, a...)}
}

func writeError(w http.ResponseWriter, e *armError) {
	w.Header().Set("x-ms-error-code", e.code)
	writeJSON(w, e.status, map[string]any{"error": map[string]any{"code": e.code, "message": e.message}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// request is a parsed ARM request for a site.
type request struct {
	app  string
	slot string // "" for production
	rest []string
	op   string
}

// serve routes a request. Paths:
//
//	/packages/{name…}                                             package blobs
//	/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Web/sites/{app}[/slots/{slot}]/…
//	…/sites/{app}[/slots/{slot}]/providers/Microsoft.Insights/metrics
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/packages/") {
		s.servePackage(w, r)
		return
	}
	req, aerr := s.parse(r)
	s.mu.Lock()
	s.ops = append(s.ops, req.op)
	s.mu.Unlock()
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if s.opts.Throttle != nil {
		if d, ok := s.opts.Throttle(req.op); ok {
			secs := int((d + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			writeError(w, errf(http.StatusTooManyRequests, "TooManyRequests",
				"The request is being throttled as the limit has been reached for operation '%s'. Please try again after '%d' seconds.", req.op, secs))
			return
		}
	}
	if s.opts.Fault != nil {
		if status, ok := s.opts.Fault(req.op); ok && status >= 500 {
			code := strings.ReplaceAll(http.StatusText(status), " ", "")
			writeError(w, errf(status, code, "The emulator was told to fail %s with %d.", req.op, status))
			return
		}
	}
	if r.URL.Query().Get("api-version") == "" {
		writeError(w, errf(http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests."))
		return
	}
	s.dispatch(w, r, req)
}

// parse splits an ARM path and names the operation.
func (s *Server) parse(r *http.Request) (request, *armError) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	for i, p := range parts {
		if u, err := url.PathUnescape(p); err == nil {
			parts[i] = u
		}
	}
	bad := request{op: r.Method + " " + r.URL.Path}
	if len(parts) < 8 || !strings.EqualFold(parts[0], "subscriptions") || !strings.EqualFold(parts[2], "resourceGroups") ||
		!strings.EqualFold(parts[4], "providers") || !strings.EqualFold(parts[5], "Microsoft.Web") || !strings.EqualFold(parts[6], "sites") {
		return bad, errf(http.StatusNotFound, "InvalidResourceType", "the emulator does not serve %s %s", r.Method, r.URL.Path)
	}
	if parts[1] != Subscription {
		return bad, errf(http.StatusNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", parts[1])
	}
	if !strings.EqualFold(parts[3], ResourceGroup) {
		return bad, errf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", parts[3])
	}
	req := request{app: parts[7], rest: parts[8:]}
	if len(req.rest) >= 2 && req.rest[0] == "slots" {
		req.slot, req.rest = req.rest[1], req.rest[2:]
		if req.slot == "" {
			return bad, errf(http.StatusBadRequest, "BadRequest", "empty slot name")
		}
	}
	req.op = opName(r.Method, req)
	return req, nil
}

// opName names an operation after the REST reference's operation IDs.
func opName(method string, req request) string {
	suffix := ""
	if req.slot != "" {
		suffix = "Slot"
	}
	rest := strings.Join(req.rest, "/")
	switch {
	case rest == "" && req.slot == "" && method == http.MethodGet:
		return "Get"
	case rest == "" && req.slot != "":
		switch method {
		case http.MethodGet:
			return "GetSlot"
		case http.MethodPut:
			return "CreateOrUpdateSlot"
		case http.MethodDelete:
			return "DeleteSlot"
		}
	case rest == "slots" && method == http.MethodGet:
		return "ListSlots"
	case rest == "config/web":
		switch method {
		case http.MethodGet:
			return "GetConfiguration" + suffix
		case http.MethodPut:
			return "CreateOrUpdateConfiguration" + suffix
		case http.MethodPatch:
			return "UpdateConfiguration" + suffix
		}
	case rest == "config/appsettings/list" && method == http.MethodPost:
		return "ListApplicationSettings" + suffix
	case rest == "config/appsettings" && method == http.MethodPut:
		return "UpdateApplicationSettings" + suffix
	case rest == "slotsswap" && method == http.MethodPost:
		if req.slot == "" {
			return "SwapSlotWithProduction"
		}
		return "SwapSlot"
	case len(req.rest) == 2 && req.rest[0] == "operationresults" && method == http.MethodGet:
		return "GetOperationResult"
	case rest == "deployments" && method == http.MethodGet:
		return "ListDeployments" + suffix
	case len(req.rest) == 2 && req.rest[0] == "deployments":
		switch method {
		case http.MethodGet:
			return "GetDeployment" + suffix
		case http.MethodPut:
			return "CreateDeployment" + suffix
		case http.MethodDelete:
			return "DeleteDeployment" + suffix
		}
	case rest == "providers/Microsoft.Insights/metrics" && method == http.MethodGet:
		return "Metrics_List"
	}
	return method + " " + rest
}

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, req request) {
	var (
		status = http.StatusOK
		body   any
		aerr   *armError
	)
	switch req.op {
	case "Get", "GetSlot":
		body, aerr = s.getSite(req)
	case "CreateOrUpdateSlot":
		body, aerr = s.putSlot(r, req)
	case "DeleteSlot":
		aerr = s.deleteSlot(req)
	case "ListSlots":
		body, aerr = s.listSlots(r, req)
	case "GetConfiguration", "GetConfigurationSlot":
		body, aerr = s.getConfig(req)
	case "CreateOrUpdateConfiguration", "CreateOrUpdateConfigurationSlot":
		body, aerr = s.writeConfig(r, req, true)
	case "UpdateConfiguration", "UpdateConfigurationSlot":
		body, aerr = s.writeConfig(r, req, false)
	case "ListApplicationSettings", "ListApplicationSettingsSlot":
		body, aerr = s.listSettings(req)
	case "UpdateApplicationSettings", "UpdateApplicationSettingsSlot":
		body, aerr = s.putSettings(r, req)
	case "SwapSlot", "SwapSlotWithProduction":
		var loc string
		loc, aerr = s.startSwap(r, req)
		if aerr == nil {
			w.Header().Set("Location", loc)
			w.Header().Set("Retry-After", strconv.Itoa(s.opts.SwapRetryAfter))
			status = http.StatusAccepted
		}
	case "GetOperationResult":
		var done bool
		done, aerr = s.pollSwap(req)
		if aerr == nil && !done {
			w.Header().Set("Retry-After", strconv.Itoa(s.opts.SwapRetryAfter))
			w.Header().Set("Location", s.srv.URL+r.URL.RequestURI())
			status = http.StatusAccepted
		}
	case "ListDeployments", "ListDeploymentsSlot":
		body, aerr = s.listDeployments(r, req)
	case "GetDeployment", "GetDeploymentSlot":
		body, aerr = s.getDeployment(req)
	case "CreateDeployment", "CreateDeploymentSlot":
		body, aerr = s.putDeployment(r, req)
	case "DeleteDeployment", "DeleteDeploymentSlot":
		status, aerr = s.deleteDeployment(req)
	case "Metrics_List":
		body, aerr = s.metrics(r, req)
	default:
		aerr = errf(http.StatusNotFound, "NotFound", "the emulator does not serve %s", req.op)
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if body == nil {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, body)
}

// decode reads a JSON request body into v; 400 when it is malformed.
func decode(r *http.Request, v any) *armError {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		return errf(http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: %v", err)
	}
	return nil
}

// nextLink builds the URL of the page starting at item skip.
func (s *Server) nextLink(r *http.Request, skip int) string {
	q := r.URL.Query()
	q.Set("$skipToken", strconv.Itoa(skip))
	return s.srv.URL + r.URL.Path + "?" + q.Encode()
}

// page cuts items by $skipToken and the page size.
func page[T any](s *Server, r *http.Request, items []T) ([]T, string, *armError) {
	skip := 0
	if tok := r.URL.Query().Get("$skipToken"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", errf(http.StatusBadRequest, "BadRequest", "invalid $skipToken %q", tok)
		}
		skip = n
	}
	end := min(skip+s.pageSize(), len(items))
	next := ""
	if end < len(items) {
		next = s.nextLink(r, end)
	}
	return items[skip:end], next, nil
}

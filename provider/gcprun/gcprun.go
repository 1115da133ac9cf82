package gcprun

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	functions "cloud.google.com/go/functions/apiv2"
	monitoring "cloud.google.com/go/monitoring/apiv3/v2"
	run "cloud.google.com/go/run/apiv2"
	"google.golang.org/api/option"

	"github.com/slipway-dev/slipway/provider"
)

// Defaults of Options.
const (
	// DefaultRoute is the name of the route that is the service's traffic
	// split.
	DefaultRoute = "live"
	// DefaultPollInterval is the wait between two reads of a running
	// operation or of a reconciling service.
	DefaultPollInterval = time.Second
	// DefaultMetricsDelay is how long after a minute ends Cloud Monitoring
	// data is taken as complete: request metrics are sampled every 60 s
	// and may not be visible for up to 180 s after sampling (Google Cloud
	// metrics list, "run").
	DefaultMetricsDelay = 3 * time.Minute
	// DefaultLease is how long a Publish may hold the publish lease it
	// takes on the service before another Publish may break it.
	DefaultLease = 30 * time.Minute
)

// Options configure a Provider. Project and Location are required.
type Options struct {
	// Project is the project ID, e.g. "my-project".
	Project string
	// Location is the region of the functions, e.g. "us-central1".
	Location string
	// Services, when true, makes every function name a Cloud Run service
	// managed directly through the Cloud Run Admin API (no Cloud Functions
	// resource): Publish deploys a container image (Artifact.Image) with
	// UpdateService, or CreateService for a new service, and the event
	// sources are not known (ErrUnsupported). When false (the default) a
	// function is a Cloud Functions function built from source.
	Services bool
	// Route names the route that is the service's traffic split (the one
	// route that may split traffic); "" means DefaultRoute. Every other
	// route is a traffic tag pinning one revision.
	Route string
	// Logger receives Debug records of the steps of Publish and SetRoute.
	// It never receives credentials or code. Nil is silent.
	Logger *slog.Logger
	// Now is the clock Observe reads to decide which periods are complete
	// and Publish reads for its lease. Nil means time.Now.
	Now func() time.Time
	// Sleep waits for d or until ctx ends, returning ctx.Err() then. It is
	// called between polls of operations and services. Nil uses a real
	// timer; tests pass a virtual clock's.
	Sleep func(ctx context.Context, d time.Duration) error
	// PollInterval is the wait between polls; 0 means DefaultPollInterval.
	PollInterval time.Duration
	// MetricsDelay is how long after a period ends its data is taken as
	// complete (Observation.Through); 0 means DefaultMetricsDelay.
	MetricsDelay time.Duration
	// Lease is how long a Publish's lease on the service lasts; 0 means
	// DefaultLease.
	Lease time.Duration
	// HTTPClient sends the source upload (PUT to the signed URL of
	// GenerateUploadUrl). Nil means a client with no credentials and
	// http.DefaultTransport: the signed URL carries its own authorisation.
	HTTPClient *http.Client
	// InvokeClient sends Invoke's requests to the service's and the tags'
	// URLs. A service that is not public needs an ID token with the URL as
	// audience (google.golang.org/api/idtoken.NewClient) and the caller
	// needs roles/run.invoker. Nil means http.DefaultClient.
	InvokeClient *http.Client
}

// Validate reports options that cannot work.
func (o Options) Validate() error {
	switch {
	case o.Project == "":
		return provider.Invalid("gcprun options", "Project", "is empty")
	case o.Location == "":
		return provider.Invalid("gcprun options", "Location", "is empty")
	case o.PollInterval < 0:
		return provider.Invalid("gcprun options", "PollInterval", "is negative")
	case o.MetricsDelay < 0:
		return provider.Invalid("gcprun options", "MetricsDelay", "is negative")
	case o.Lease < 0:
		return provider.Invalid("gcprun options", "Lease", "is negative")
	case o.Route != "" && !isTag(o.Route):
		return provider.Invalid("gcprun options", "Route", fmt.Sprintf("%q is not a lowercase DNS label", o.Route))
	}
	return nil
}

// Clients are the Google Cloud clients a Provider calls. Functions,
// Services and Revisions are required; Metrics may be nil when Observe is
// not used.
type Clients struct {
	Functions *functions.FunctionClient
	Services  *run.ServicesClient
	Revisions *run.RevisionsClient
	Metrics   *monitoring.MetricClient
}

// Provider adapts Cloud Run functions (Cloud Functions v2 for builds and
// deploys, the Cloud Run Admin API v2 for revisions and traffic) and Cloud
// Monitoring (metrics) to provider.Provider and provider.Metrics. It also
// implements provider.EventSourceLister, provider.PermissionReader and
// provider.UsageReporter. It is safe for concurrent use; besides its
// clients it caches only which Cloud Run service backs each function.
type Provider struct {
	c       Clients
	opts    Options
	caps    provider.Capabilities
	closers []func() error // the clients New made

	services sync.Map // function ID → service name
}

var (
	_ provider.Provider          = (*Provider)(nil)
	_ provider.Metrics           = (*Provider)(nil)
	_ provider.EventSourceLister = (*Provider)(nil)
	_ provider.PermissionReader  = (*Provider)(nil)
	_ provider.UsageReporter     = (*Provider)(nil)
)

// New returns a Provider with its own clients, built with copts over the
// standard Google auth chain (Application Default Credentials: the
// GOOGLE_APPLICATION_CREDENTIALS file, gcloud's user credentials, the
// metadata server, workload identity). The endpoint can be overridden only
// through copts (option.WithEndpoint), so a test against an emulator runs
// the production code path.
//
// The clients make a single attempt per call: the generated clients'
// default call options (timeouts and retries of UNAVAILABLE with real-time
// backoff) are cleared, so quota errors reach the caller as
// *provider.ThrottleError with the RetryInfo delay, and provider.WithRetry
// is the one retry layer. Close the Provider to close the clients.
func New(ctx context.Context, opts Options, copts ...option.ClientOption) (*Provider, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	var (
		c       Clients
		closers []func() error
		err     error
	)
	abort := func(what string, err error) (*Provider, error) {
		for _, f := range closers {
			_ = f()
		}
		return nil, fmt.Errorf("gcprun: %s client: %w", what, err)
	}
	if c.Functions, err = functions.NewFunctionClient(ctx, copts...); err != nil {
		return abort("functions", err)
	}
	c.Functions.CallOptions = &functions.FunctionCallOptions{}
	closers = append(closers, c.Functions.Close)
	if c.Services, err = run.NewServicesClient(ctx, copts...); err != nil {
		return abort("run services", err)
	}
	c.Services.CallOptions = &run.ServicesCallOptions{}
	closers = append(closers, c.Services.Close)
	if c.Revisions, err = run.NewRevisionsClient(ctx, copts...); err != nil {
		return abort("run revisions", err)
	}
	c.Revisions.CallOptions = &run.RevisionsCallOptions{}
	closers = append(closers, c.Revisions.Close)
	if c.Metrics, err = monitoring.NewMetricClient(ctx, copts...); err != nil {
		return abort("monitoring", err)
	}
	c.Metrics.CallOptions = &monitoring.MetricCallOptions{}
	closers = append(closers, c.Metrics.Close)
	p := NewFromClients(c, opts)
	p.closers = closers
	return p, nil
}

// NewFromClients returns a Provider over the given clients, used as they
// are (their call options included). It panics if a required client is
// nil or opts.Validate fails (programmer errors).
func NewFromClients(c Clients, opts Options) *Provider {
	if c.Functions == nil || c.Services == nil || c.Revisions == nil {
		panic("gcprun: NewFromClients needs the Functions, Services and Revisions clients")
	}
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	if opts.Route == "" {
		opts.Route = DefaultRoute
	}
	caps := Capabilities()
	caps.SplitRoutes = []string{opts.Route}
	return &Provider{c: c, opts: opts, caps: caps}
}

// Close closes the clients New made; it does nothing for NewFromClients.
func (p *Provider) Close() error {
	errs := make([]error, 0, len(p.closers))
	for _, f := range p.closers {
		errs = append(errs, f())
	}
	return errors.Join(errs...)
}

// Capabilities returns Cloud Run's limits with the default route name:
// any number of revisions in the split, whole percents (100 basis
// points), deletable revisions, only the split route may split (tags pin
// one revision each). One Usage call sends one request (GetFunction); one
// DeleteVersion at least four (GetService, DeleteRevision, and GetService
// plus UpdateService to drop the version's record). Invocations through a
// tag's URL count in the revision's request_count, which Observe reads
// (InvokesObserved).
func Capabilities() provider.Capabilities {
	return provider.Capabilities{
		Granularity:     100,
		DeleteVersions:  true,
		SplitRoutes:     []string{DefaultRoute},
		UsageRequests:   1,
		DeleteRequests:  4,
		InvokesObserved: true,
	}
}

// Capabilities reports Cloud Run's limits (see the package function) with
// Options.Route as the one split route.
func (p *Provider) Capabilities() provider.Capabilities {
	c := p.caps
	c.SplitRoutes = slices.Clone(c.SplitRoutes)
	return c
}

func (p *Provider) now() time.Time { return provider.NowOr(p.opts.Now) }

func (p *Provider) sleep(ctx context.Context, d time.Duration) error {
	return provider.SleepOr(ctx, p.opts.Sleep, d)
}

func (p *Provider) pollInterval() time.Duration {
	return provider.DurationOr(p.opts.PollInterval, DefaultPollInterval)
}

func (p *Provider) metricsDelay() time.Duration {
	return provider.DurationOr(p.opts.MetricsDelay, DefaultMetricsDelay)
}

func (p *Provider) lease() time.Duration { return provider.DurationOr(p.opts.Lease, DefaultLease) }

func (p *Provider) httpClient() *http.Client {
	if p.opts.HTTPClient != nil {
		return p.opts.HTTPClient
	}
	return &http.Client{Transport: http.DefaultTransport}
}

func (p *Provider) debug(ctx context.Context, msg string, args ...any) {
	if p.opts.Logger != nil {
		p.opts.Logger.DebugContext(ctx, "gcprun: "+msg, args...)
	}
}

func (p *Provider) locationName() string {
	return "projects/" + p.opts.Project + "/locations/" + p.opts.Location
}

func (p *Provider) functionName(fn string) string { return p.locationName() + "/functions/" + fn }

// fail wraps err as a *provider.Error of op on fn.
func fail(op, fn string, err error) error {
	return &provider.Error{Op: "gcprun: " + op, Function: fn, Err: err}
}

// checkFunction validates a function name before any call: a Cloud
// Functions ID is lower case letters, digits and hyphens, starting with a
// letter (FNPB CreateFunctionRequest.function_id).
func checkFunction(ctx context.Context, op, fn string) error {
	if err := provider.CheckName("function", fn); err != nil {
		return fail(op, fn, err)
	}
	if !isTag(fn) {
		return fail(op, fn, provider.Invalid("", "function", fmt.Sprintf("%q is not a Cloud Functions ID (lower case letters, digits, hyphens)", fn)))
	}
	if err := ctx.Err(); err != nil {
		return fail(op, fn, err)
	}
	return nil
}

// isTag reports whether s is a lowercase DNS label of at most 63
// characters: the form of function IDs, service names and traffic tags.
func isTag(s string) bool {
	if s == "" || len(s) > 63 || s[0] < 'a' || s[0] > 'z' || s[len(s)-1] == '-' {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// shortName returns the last element of a resource name.
func shortName(name string) string {
	return name[strings.LastIndexByte(name, '/')+1:]
}

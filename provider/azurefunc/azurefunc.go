package azurefunc

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/appservice/armappservice/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/monitor/armmonitor"

	"github.com/slipway-dev/slipway/provider"
)

// Defaults of Options.
const (
	// DefaultProductionAlias is the route name of the production slot.
	DefaultProductionAlias = "production"
	// DefaultRampUpSlot is the slot production's ramp-up rule sends the
	// candidate's share to.
	DefaultRampUpSlot = "canary"
	// DefaultPollInterval is the wait between two polls of a swap when the
	// service sends no Retry-After (azcore's own default is 30s).
	DefaultPollInterval = 5 * time.Second
	// DefaultMetricsDelay is how long after a minute ends its Azure Monitor
	// data is taken to be complete (platform metrics typically land within
	// a few minutes; not a documented SLA).
	DefaultMetricsDelay = 3 * time.Minute
)

// PackageStore holds deployment packages the adapter uploads for
// Artifact.Zip: Put stores the bytes and returns a URL the function app
// can read (for Azure Blob Storage, a blob URL with a read SAS, or one the
// app's managed identity may read: WEBSITE_RUN_FROM_PACKAGE takes either);
// Delete removes what Put stored. Names are "{app}/{sha256}.zip", so equal
// code is stored once. Implementations are safe for concurrent use.
type PackageStore interface {
	Put(ctx context.Context, name string, data []byte) (url string, err error)
	Delete(ctx context.Context, url string) error
}

// Options configure a Provider. The zero value is ready to use for
// artifacts given by URI; zip artifacts need Packages.
type Options struct {
	// ProductionAlias is the route name of the production slot; "" means
	// DefaultProductionAlias. It is the only route that may split.
	ProductionAlias string
	// RampUpSlot is the deployment slot that production's ramp-up rule
	// sends the candidate's share to; "" means DefaultRampUpSlot. It is
	// managed by the production route and is not a route of its own.
	RampUpSlot string
	// Packages stores zip artifacts; nil makes Publish of a zip fail with
	// ErrUnsupported.
	Packages PackageStore
	// Logger receives Debug records of the steps of Publish and SetRoute.
	// It never receives credentials, settings values or code. Nil is silent.
	Logger *slog.Logger
	// Now is the clock of version timestamps and of Observe's
	// completeness. Nil means time.Now.
	Now func() time.Time
	// Sleep waits between polls of a swap. Nil uses a real timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// PollInterval is the wait between polls of a swap when the service
	// sends no Retry-After; 0 means DefaultPollInterval.
	PollInterval time.Duration
	// MetricsDelay is how long after a minute ends Azure Monitor data is
	// taken as complete; 0 means DefaultMetricsDelay.
	MetricsDelay time.Duration
	// InvocationsMetric is the Azure Monitor metric Observe counts as
	// invocations: "Requests" (the default; HTTP-triggered functions) or
	// "FunctionExecutionCount" (every trigger; published for Consumption
	// and Premium plans). Errors are Http5xx either way.
	InvocationsMetric string
	// InvokePath is the path Invoke POSTs to on a slot's host: the HTTP
	// function's route, such as "/api/orders". Empty makes Invoke
	// ErrUnsupported.
	InvokePath string
	// InvokeClient sends Invoke's requests; a function whose authLevel is
	// not anonymous needs a client that adds its key (x-functions-key).
	// Nil means http.DefaultClient.
	InvokeClient *http.Client
}

var slotNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// Validate reports options that cannot work.
func (o Options) Validate() error {
	if o.PollInterval < 0 {
		return provider.Invalid("azurefunc options", "PollInterval", "is negative")
	}
	if o.MetricsDelay < 0 {
		return provider.Invalid("azurefunc options", "MetricsDelay", "is negative")
	}
	if o.RampUpSlot != "" && !slotNameRE.MatchString(o.RampUpSlot) {
		return provider.Invalid("azurefunc options", "RampUpSlot", fmt.Sprintf("%q is not a slot name (lowercase letters, digits, hyphens)", o.RampUpSlot))
	}
	switch o.InvocationsMetric {
	case "", "Requests", "FunctionExecutionCount":
	default:
		return provider.Invalid("azurefunc options", "InvocationsMetric", fmt.Sprintf("%q is not Requests or FunctionExecutionCount", o.InvocationsMetric))
	}
	if o.ProductionAlias != "" && o.ProductionAlias == o.RampUpSlot {
		return provider.Invalid("azurefunc options", "RampUpSlot", "equals ProductionAlias")
	}
	return nil
}

// Provider adapts Azure Functions (App Service deployment slots and
// ramp-up rules through Azure Resource Manager) and Azure Monitor metrics
// to provider.Provider and provider.Metrics. It is safe for concurrent use;
// its only state is one lock per function app that serialises its own
// writes (see SetRoute).
type Provider struct {
	web           *armappservice.WebAppsClient
	mon           *armmonitor.MetricsClient
	subscription  string
	resourceGroup string
	opts          Options
	prod, rampUp  string

	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

var (
	_ provider.Provider = (*Provider)(nil)
	_ provider.Metrics  = (*Provider)(nil)
)

// New returns a Provider for the function apps of one resource group,
// with App Service and Azure Monitor clients built from cred (for example
// azidentity.NewDefaultAzureCredential) and clientOpts (nil for the public
// cloud).
//
// The clients make a single attempt per call: New sets
// ClientOptions.Retry.MaxRetries to -1 (azcore otherwise retries 429 and
// 5xx itself, spending a Retry-After hint before the caller sees it), so
// throttling reaches the caller as *provider.ThrottleError and
// provider.WithRetry is the one retry layer. It fails with ErrInvalid for
// empty names or bad options.
func New(subscriptionID, resourceGroup string, cred azcore.TokenCredential, opts Options, clientOpts *arm.ClientOptions) (*Provider, error) {
	var co arm.ClientOptions
	if clientOpts != nil {
		co = *clientOpts
	}
	co.Retry.MaxRetries = -1
	web, err := armappservice.NewWebAppsClient(subscriptionID, cred, &co)
	if err != nil {
		return nil, fmt.Errorf("azurefunc: %w: %w", provider.ErrInvalid, err)
	}
	mon, err := armmonitor.NewMetricsClient(subscriptionID, cred, &co)
	if err != nil {
		return nil, fmt.Errorf("azurefunc: %w: %w", provider.ErrInvalid, err)
	}
	return NewFromClients(web, mon, subscriptionID, resourceGroup, opts)
}

// NewFromClients returns a Provider over the given clients, used as they
// are (their retry policies included). mon may be nil when Observe is not
// used; Observe then fails with ErrUnsupported. subscriptionID must be the
// one web was built with (it names the metrics resources).
func NewFromClients(web *armappservice.WebAppsClient, mon *armmonitor.MetricsClient, subscriptionID, resourceGroup string, opts Options) (*Provider, error) {
	if web == nil {
		return nil, fmt.Errorf("azurefunc: %w", provider.Invalid("azurefunc", "web client", "is nil"))
	}
	if err := provider.CheckName("subscriptionID", subscriptionID); err != nil {
		return nil, fmt.Errorf("azurefunc: %w", err)
	}
	if err := provider.CheckName("resourceGroup", resourceGroup); err != nil {
		return nil, fmt.Errorf("azurefunc: %w", err)
	}
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("azurefunc: %w", err)
	}
	p := &Provider{web: web, mon: mon, subscription: subscriptionID, resourceGroup: resourceGroup, opts: opts,
		prod: opts.ProductionAlias, rampUp: opts.RampUpSlot, locks: map[string]*sync.Mutex{}}
	if p.prod == "" {
		p.prod = DefaultProductionAlias
	}
	if p.rampUp == "" {
		p.rampUp = DefaultRampUpSlot
	}
	return p, nil
}

// Capabilities reports the limits of slots and ramp-up rules: a route
// names at most two versions; only the production route may split (the
// production slot plus one ramp-up rule to the ramp-up slot; every other
// route is a slot that runs one version); weights in basis points (a
// rule's reroutePercentage is a double, so bp/100 is sent and read back
// exactly to two decimals; the portal offers whole percents only);
// versions are deletable (their records; see DeleteVersion). DeleteVersion
// sends at least six requests (ListDeployments, GetConfiguration,
// production's and the ramp-up slot's settings, ListSlots,
// DeleteDeployment) plus one per slot. InvokesObserved is false: Azure
// counts an invocation in the metrics of the slot whose host received it,
// but Invoke reaches a version through a slot that runs it alone (the
// candidate of a production canary: the staging slot), never the ramp-up
// slot, whose metrics Observe reads for the production route; and while
// production splits, no host reaches the stable version alone.
func (p *Provider) Capabilities() provider.Capabilities {
	return provider.Capabilities{MaxRouteVersions: 2, Granularity: 1, DeleteVersions: true, SplitRoutes: []string{p.prod}, DeleteRequests: 6}
}

// Capabilities returns the limits of a Provider with default Options.
func Capabilities() provider.Capabilities {
	return provider.Capabilities{MaxRouteVersions: 2, Granularity: 1, DeleteVersions: true, SplitRoutes: []string{DefaultProductionAlias}, DeleteRequests: 6}
}

// lock returns the lock that serialises this adapter's writes to app fn.
func (p *Provider) lock(fn string) *sync.Mutex {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.locks[fn]
	if !ok {
		l = &sync.Mutex{}
		p.locks[fn] = l
	}
	return l
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

func (p *Provider) debug(ctx context.Context, msg string, args ...any) {
	if p.opts.Logger != nil {
		p.opts.Logger.DebugContext(ctx, "azurefunc: "+msg, args...)
	}
}

// fail wraps err as a *provider.Error of op on fn.
func fail(op, fn string, err error) error {
	return &provider.Error{Op: "azurefunc: " + op, Function: fn, Err: err}
}

func checkFunction(op, fn string) error {
	if err := provider.CheckName("function", fn); err != nil {
		return fail(op, fn, err)
	}
	return nil
}

// resourceURI names the ARM resource of a slot ("" is production), without
// a leading slash, as armmonitor's MetricsClient.List takes it.
func (p *Provider) resourceURI(fn, slot string) string {
	u := fmt.Sprintf("subscriptions/%s/resourceGroups/%s/providers/Microsoft.Web/sites/%s", p.subscription, p.resourceGroup, fn)
	if slot != "" {
		u += "/slots/" + slot
	}
	return u
}

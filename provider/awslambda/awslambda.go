package awslambda

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/slipway-dev/slipway/provider"
)

// Lambda's limits as Capabilities: an alias routes to a primary version and
// at most one additional version; the additional weight is a double in
// [0, 1], so one basis point (0.0001) is expressible; versions can be
// deleted (DeleteFunction with Qualifier); every alias may split.
var lambdaCapabilities = provider.Capabilities{MaxRouteVersions: 2, Granularity: 1, DeleteVersions: true, UsageRequests: 2, DeleteRequests: 2}

// Capabilities returns Lambda's limits (see Provider.Capabilities).
func Capabilities() provider.Capabilities { return lambdaCapabilities }

// Defaults of Options.
const (
	// DefaultPollInterval is the wait between two reads of
	// LastUpdateStatus while an update settles (the SDK's FunctionUpdatedV2
	// waiter starts at one second too).
	DefaultPollInterval = time.Second
	// DefaultMetricsDelay is how long after a minute ends its CloudWatch
	// datapoints are taken to be complete. Lambda sends metrics every
	// minute and they typically land one to three minutes later; this is
	// not a documented SLA.
	DefaultMetricsDelay = 3 * time.Minute
)

// Options configure a Provider. The zero value is ready to use.
type Options struct {
	// Logger receives Debug records of the steps of Publish and SetRoute.
	// It never receives credentials or code. Nil is silent.
	Logger *slog.Logger
	// Now is the clock Observe reads to decide which periods are complete.
	// Nil means time.Now.
	Now func() time.Time
	// Sleep waits for d or until ctx ends, returning ctx.Err() then. Publish
	// calls it between reads of LastUpdateStatus. Nil uses a real timer;
	// tests pass a virtual clock's.
	Sleep func(ctx context.Context, d time.Duration) error
	// PollInterval is the wait between reads of LastUpdateStatus; 0 means
	// DefaultPollInterval.
	PollInterval time.Duration
	// MetricsDelay is how long after a minute ends CloudWatch data is taken
	// as complete (Observation.Through); 0 means DefaultMetricsDelay.
	MetricsDelay time.Duration
	// Capabilities, when non-nil, replaces Lambda's limits, for example to
	// forbid splits (MaxRouteVersions 1) or to coarsen the granularity.
	// It cannot widen them: Lambda itself still refuses a third version.
	Capabilities *provider.Capabilities
}

// Validate reports options that cannot work.
func (o Options) Validate() error {
	if o.PollInterval < 0 {
		return provider.Invalid("awslambda options", "PollInterval", "is negative")
	}
	if o.MetricsDelay < 0 {
		return provider.Invalid("awslambda options", "MetricsDelay", "is negative")
	}
	return nil
}

// Provider adapts AWS Lambda (control plane) and CloudWatch (metrics) to
// provider.Provider and provider.Metrics. It also implements
// provider.EventSourceLister, provider.PermissionReader and
// provider.UsageReporter. It is safe for concurrent use; it holds no state
// besides its clients.
type Provider struct {
	lc   *lambda.Client
	cw   *cloudwatch.Client
	opts Options
	caps provider.Capabilities
}

var (
	_ provider.Provider          = (*Provider)(nil)
	_ provider.Metrics           = (*Provider)(nil)
	_ provider.EventSourceLister = (*Provider)(nil)
	_ provider.PermissionReader  = (*Provider)(nil)
	_ provider.UsageReporter     = (*Provider)(nil)
)

// New returns a Provider whose Lambda and CloudWatch clients are built from
// cfg (credentials, region and endpoint come from cfg, typically
// config.LoadDefaultConfig; BaseEndpoint or AWS_ENDPOINT_URL overrides the
// endpoint).
//
// The clients make a single attempt per call: the SDK's own retryer is
// replaced by retry.AddWithMaxAttempts(retry.NewStandard(), 1) so that
// throttling reaches the caller as *provider.ThrottleError with Lambda's
// Retry-After hint, and provider.WithRetry is the one retry layer
// (the SDK's standard retryer ignores Retry-After and would multiply the
// attempts of an outer layer). Wrap the result with provider.WithRetry and
// provider.WithRetryMetrics.
//
// New panics if opts.Validate fails (a programmer error).
func New(cfg aws.Config, opts Options) *Provider {
	single := func() aws.Retryer { return retry.AddWithMaxAttempts(retry.NewStandard(), 1) }
	lc := lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.Retryer = single() })
	cw := cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) { o.Retryer = single() })
	return NewFromClients(lc, cw, opts)
}

// NewFromClients returns a Provider over the given clients, used as they
// are (their retryers included: when they retry throttling themselves, a
// Retry-After hint may be spent before the caller sees it). cw may be nil
// when Observe is not used; Observe then fails with ErrUnsupported.
// NewFromClients panics if lc is nil or opts.Validate fails.
func NewFromClients(lc *lambda.Client, cw *cloudwatch.Client, opts Options) *Provider {
	if lc == nil {
		panic("awslambda: NewFromClients with a nil Lambda client")
	}
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	caps := lambdaCapabilities
	if opts.Capabilities != nil {
		caps = *opts.Capabilities
	}
	return &Provider{lc: lc, cw: cw, opts: opts, caps: caps}
}

// Capabilities reports Lambda's limits: two versions per route (primary and
// one additional), 1-basis-point granularity, deletable versions, every
// alias may split — or Options.Capabilities when set.
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

func (p *Provider) debug(ctx context.Context, msg string, args ...any) {
	if p.opts.Logger != nil {
		p.opts.Logger.DebugContext(ctx, "awslambda: "+msg, args...)
	}
}

// fail wraps err as a *provider.Error of op on fn.
func fail(op, fn string, err error) error {
	return &provider.Error{Op: "awslambda: " + op, Function: fn, Err: err}
}

// checkFunction validates a function name before any call.
func checkFunction(op, fn string) error {
	if err := provider.CheckName("function", fn); err != nil {
		return fail(op, fn, err)
	}
	return nil
}

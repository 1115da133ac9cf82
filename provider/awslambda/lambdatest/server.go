package lambdatest

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// Options configure a Server. The zero value is ready to use: region
// us-east-1, account 123456789012, real time, updates that settle after one
// poll, no throttling, metrics visible as soon as a minute ends.
type Options struct {
	// Region and Account appear in the ARNs the server issues.
	// Defaults: "us-east-1" and "123456789012".
	Region  string `json:"region,omitempty"`
	Account string `json:"account,omitempty"`

	// Now is the emulator's clock: LastModified stamps, update settling,
	// alias routing history and metrics all read it. Nil means time.Now.
	// Tests pass a virtual clock.
	Now func() time.Time `json:"-"`

	// SettlePolls is how many GetFunctionConfiguration reads of $LATEST
	// after an UpdateFunctionCode/UpdateFunctionConfiguration still report
	// LastUpdateStatus=InProgress before it turns Successful (the real
	// service settles on its own clock; the emulator counts polls so tests
	// need no sleeps). 0 means 1; a negative value settles immediately.
	// Ignored when SettleDelay is set. Each update counts its own polls:
	// reads of that function by any caller count (Lambda reports the same
	// status to every reader), reads of other functions and reads made
	// before the update started do not.
	SettlePolls int `json:"settlePolls,omitempty"`
	// SettleDelay, when positive, makes an update settle once this much time
	// has passed on the emulator's clock since that update was accepted,
	// whatever the polls.
	SettleDelay time.Duration `json:"settleDelay,omitempty"`

	// Throttle, when non-nil, is asked before every operation (named as in
	// the SDK: "PublishVersion", "UpdateAlias", "GetMetricData", …); when it
	// answers true the request fails with 429 TooManyRequestsException
	// (Lambda; Retry-After header in whole seconds, Reason
	// CallerRateLimitExceeded) or 400 Throttling (CloudWatch), and nothing
	// changes.
	Throttle func(op string) (retryAfter time.Duration, throttled bool) `json:"-"`
	// FailUpdate, when non-nil, is asked on every accepted
	// UpdateFunctionCode and UpdateFunctionConfiguration (op names as for
	// Throttle); a non-nil *UpdateFailure makes that update end with
	// LastUpdateStatus Failed instead of Successful when it settles, with
	// the failure's reason and reason code, and $LATEST keeps its previous
	// code and configuration (Lambda "function states" page and the AWS
	// Compute Blog "Tracking the state of AWS Lambda functions": a failed
	// update leaves the function running the previous code and
	// configuration).
	FailUpdate func(fn, op string) *UpdateFailure `json:"-"`
	// Fault, when non-nil, is asked after Throttle; a non-nil *Fault fails
	// the request with that status and error code, and nothing changes.
	Fault func(op string) *Fault `json:"-"`

	// MetricsDelay is how long after a minute ends its datapoints become
	// visible to GetMetricData (CloudWatch: about 1–3 minutes in practice).
	// 0 makes them visible as soon as the minute ends.
	MetricsDelay time.Duration `json:"metricsDelay,omitempty"`
	// MaxDatapointsPerPage caps the datapoints of one GetMetricData response
	// page (the service's limit is 100,800); a request's own MaxDatapoints
	// applies when smaller. 0 means 100,800. Tests set it low to exercise
	// NextToken paging.
	MaxDatapointsPerPage int `json:"maxDatapointsPerPage,omitempty"`

	// Logger receives one Debug record per request. Nil is silent.
	Logger *slog.Logger `json:"-"`
}

// Validate reports options that cannot work.
func (o Options) Validate() error {
	if o.SettleDelay < 0 {
		return fmt.Errorf("lambdatest: SettleDelay %s is negative", o.SettleDelay)
	}
	if o.MetricsDelay < 0 {
		return fmt.Errorf("lambdatest: MetricsDelay %s is negative", o.MetricsDelay)
	}
	if o.MaxDatapointsPerPage < 0 {
		return fmt.Errorf("lambdatest: MaxDatapointsPerPage %d is negative", o.MaxDatapointsPerPage)
	}
	return nil
}

// Fault is an injected failure (see Options.Fault).
type Fault struct {
	// Status is the HTTP status, e.g. 500 or 503.
	Status int
	// Code is the error code, e.g. "ServiceException" (Lambda) or
	// "InternalServiceError" (CloudWatch).
	Code    string
	Message string
}

// UpdateFailure is how an update fails (see Options.FailUpdate).
type UpdateFailure struct {
	// ReasonCode is a LastUpdateStatusReasonCode, e.g. "InvalidImage",
	// "InvalidConfiguration", "InternalError" (SDK types/enums.go).
	ReasonCode string
	// Reason is the LastUpdateStatusReason text.
	Reason string
}

// Request is one entry of the server's request log.
type Request struct {
	// Op is the operation name as the SDK spells it ("GetAlias",
	// "GetMetricData"), or "Unknown".
	Op     string
	Method string
	// Path is the decoded request path; Query the raw query string.
	Path  string
	Query string
	// Status is the HTTP status the server answered.
	Status int
	// Time is the emulator clock when the request arrived.
	Time time.Time
}

// Server is an in-process emulator of the AWS Lambda control plane
// (REST-JSON, /2015-03-31/…) and of CloudWatch GetMetricData (Smithy RPC v2
// CBOR) on one httptest.Server. It is safe for concurrent use.
type Server struct {
	opts Options
	ts   *httptest.Server

	mu      sync.Mutex
	funcs   map[string]*function
	objects map[string][]byte // "bucket/key" → bytes, for S3 code sources
	esms    []*eventSourceMapping
	log     []Request
	seq     uint64

	alarms alarmStore  // CloudWatch alarms, alarms.go
	inv    invokeState // invoke.go
}

// NewServer starts an emulator. It panics if opts.Validate fails. Close it
// when done (t.Cleanup(s.Close)).
func NewServer(opts Options) *Server {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.Account == "" {
		opts.Account = "123456789012"
	}
	s := &Server{
		opts:    opts,
		funcs:   map[string]*function{},
		objects: map[string][]byte{},
	}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// URL returns the base URL of the server, for lambda.Options.BaseEndpoint
// and cloudwatch.Options.BaseEndpoint.
func (s *Server) URL() string { return s.ts.URL }

// Close shuts the server down.
func (s *Server) Close() { s.ts.Close() }

// Region returns the region the server's ARNs name.
func (s *Server) Region() string { return s.opts.Region }

// Account returns the account ID the server's ARNs name.
func (s *Server) Account() string { return s.opts.Account }

func (s *Server) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now()
	}
	return time.Now()
}

// Requests returns a copy of the request log, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

// Ops returns the operation names of the request log, oldest first: a
// compact form for asserting call sequences.
func (s *Server) Ops() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ops := make([]string, len(s.log))
	for i, r := range s.log {
		ops[i] = r.Op
	}
	return ops
}

// testRetryer retries like the SDK's standard retryer (3 attempts,
// throttles and 5xx) but without backoff delays or a retry-token budget, so
// tests neither sleep nor exhaust the budget.
func testRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 3
		o.RateLimiter = ratelimit.None
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
	})
}

// LambdaClient returns a Lambda client pointed at the server: BaseEndpoint
// set to URL(), static credentials, the server's region, and a retryer
// that retries throttles and 5xx up to 3 attempts without sleeping. optFns
// may change any of it (e.g. o.Retryer = aws.NopRetryer{} to see every
// throttle).
func (s *Server) LambdaClient(optFns ...func(*lambda.Options)) *lambda.Client {
	o := lambda.Options{
		BaseEndpoint: aws.String(s.URL()),
		Region:       s.opts.Region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDLAMBDATEST", "lambdatest-secret", ""),
		Retryer:      testRetryer(),
	}
	return lambda.New(o, append(optFns, func(o *lambda.Options) { o.HTTPClient = readOnlyBodies{o.HTTPClient} })...)
}

// CloudWatchClient returns a CloudWatch client pointed at the server, set
// up as LambdaClient's.
func (s *Server) CloudWatchClient(optFns ...func(*cloudwatch.Options)) *cloudwatch.Client {
	o := cloudwatch.Options{
		BaseEndpoint: aws.String(s.URL()),
		Region:       s.opts.Region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDLAMBDATEST", "lambdatest-secret", ""),
		Retryer:      testRetryer(),
	}
	return cloudwatch.New(o, append(optFns, func(o *cloudwatch.Options) { o.HTTPClient = readOnlyBodies{o.HTTPClient} })...)
}

// readOnlyBodies hands the transport request bodies that offer only Read
// and Close. smithy-go wraps a request body in a reader that, once closed,
// returns io.EOF from Read (harmless) but also from WriteTo (an error to
// io.Copy), and closes it as soon as Do returns, which is when the
// response headers arrive. net/http's writeLoop may still be copying the
// body then (after the Content-Length bytes it reads on to check for
// extra data, with io.Copy, hence WriteTo): it takes that io.EOF for a
// request-body error and closes the connection under the response body
// being read ("use of closed network connection"). Through Read alone
// the closed body reads as a clean end.
type readOnlyBodies struct{ next lambda.HTTPClient }

func (c readOnlyBodies) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r = r.Clone(r.Context())
		r.Body = struct{ io.ReadCloser }{r.Body}
	}
	return c.next.Do(r)
}

// nextID returns a fresh identifier shaped like a UUID (revision IDs,
// request IDs, event-source-mapping UUIDs). Deterministic: a counter.
// Callers hold s.mu.
func (s *Server) nextID() string {
	s.seq++
	return fmt.Sprintf("00000000-0000-4000-8000-%012x", s.seq)
}

// statusRecorder remembers the status written.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// route is one decoded request: the operation and its path parameters.
type route struct {
	op      string
	fn      string // FunctionName path parameter (may be an ARN, may be qualified)
	alias   string
	id      string // StatementId (RemovePermission) or mapping UUID
	handler func(s *Server, w http.ResponseWriter, r *http.Request, rt route)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w}
	rt, ok := match(r)
	now := s.now()
	path, _ := url.PathUnescape(r.URL.EscapedPath())
	defer func() {
		s.mu.Lock()
		s.log = append(s.log, Request{Op: rt.op, Method: r.Method, Path: path, Query: r.URL.RawQuery, Status: rec.status, Time: now})
		s.mu.Unlock()
		if s.opts.Logger != nil {
			s.opts.Logger.Debug("lambdatest: request", "op", rt.op, "method", r.Method, "path", path, "status", rec.status)
		}
	}()
	if !ok {
		rt.op = "Unknown"
		writeLambdaError(rec, http.StatusNotFound, "UnknownOperationException", "Unknown operation "+r.Method+" "+path)
		return
	}
	cbor := strings.HasPrefix(r.URL.Path, "/service/")
	if s.opts.Throttle != nil {
		if after, throttled := s.opts.Throttle(rt.op); throttled {
			if cbor {
				writeCBORError(rec, http.StatusBadRequest, "Throttling", "Rate exceeded", true)
			} else {
				writeThrottle(rec, after, "CallerRateLimitExceeded", "Rate exceeded")
			}
			return
		}
	}
	if s.opts.Fault != nil {
		if f := s.opts.Fault(rt.op); f != nil {
			msg := f.Message
			if msg == "" {
				msg = "injected fault"
			}
			if cbor {
				writeCBORError(rec, f.Status, f.Code, msg, f.Status < 500)
			} else {
				writeLambdaError(rec, f.Status, f.Code, msg)
			}
			return
		}
	}
	rt.handler(s, rec, r, rt)
}

// match maps a request to an operation. Path segments are decoded one by
// one, as the SDK percent-encodes path parameters (%24LATEST, %3A in ARNs).
func match(r *http.Request) (route, bool) {
	raw := strings.Trim(r.URL.EscapedPath(), "/")
	segs := strings.Split(raw, "/")
	for i, p := range segs {
		d, err := url.PathUnescape(p)
		if err != nil {
			return route{}, false
		}
		segs[i] = d
	}
	m := r.Method
	switch {
	case len(segs) == 4 && segs[0] == "service" && segs[1] == "GraniteServiceVersion20100801" && segs[2] == "operation":
		if m == http.MethodPost && segs[3] == "GetMetricData" {
			return route{op: "GetMetricData", handler: (*Server).getMetricData}, true
		}
		if rt, ok := alarmRoute(segs[3]); ok && m == http.MethodPost {
			return rt, true
		}
		return route{op: segs[3]}, false
	case len(segs) >= 2 && segs[0] == "2015-03-31" && segs[1] == "event-source-mappings":
		// SDK v2 sends no trailing slash; the older model has one: both work.
		if len(segs) == 2 && m == http.MethodGet {
			return route{op: "ListEventSourceMappings", handler: (*Server).listEventSourceMappings}, true
		}
		if len(segs) == 3 && m == http.MethodGet {
			return route{op: "GetEventSourceMapping", id: segs[2], handler: (*Server).getEventSourceMapping}, true
		}
		if len(segs) == 3 && m == http.MethodPut {
			return route{op: "UpdateEventSourceMapping", id: segs[2], handler: (*Server).updateEventSourceMapping}, true
		}
	case len(segs) == 2 && segs[0] == "2015-03-31" && segs[1] == "functions" && m == http.MethodPost:
		return route{op: "CreateFunction", handler: (*Server).createFunctionHTTP}, true
	case len(segs) >= 3 && segs[0] == "2015-03-31" && segs[1] == "functions":
		fn := segs[2]
		switch {
		case len(segs) == 3 && m == http.MethodDelete:
			return route{op: "DeleteFunction", fn: fn, handler: (*Server).deleteFunction}, true
		case len(segs) == 3 && m == http.MethodGet:
			return route{op: "GetFunction", fn: fn, handler: (*Server).getFunction}, true
		case len(segs) == 4 && segs[3] == "configuration" && m == http.MethodGet:
			return route{op: "GetFunctionConfiguration", fn: fn, handler: (*Server).getFunctionConfiguration}, true
		case len(segs) == 4 && segs[3] == "configuration" && m == http.MethodPut:
			return route{op: "UpdateFunctionConfiguration", fn: fn, handler: (*Server).updateFunctionConfiguration}, true
		case len(segs) == 4 && segs[3] == "code" && m == http.MethodPut:
			return route{op: "UpdateFunctionCode", fn: fn, handler: (*Server).updateFunctionCode}, true
		case len(segs) == 4 && segs[3] == "versions" && m == http.MethodPost:
			return route{op: "PublishVersion", fn: fn, handler: (*Server).publishVersion}, true
		case len(segs) == 4 && segs[3] == "versions" && m == http.MethodGet:
			return route{op: "ListVersionsByFunction", fn: fn, handler: (*Server).listVersions}, true
		case len(segs) == 4 && segs[3] == "aliases" && m == http.MethodPost:
			return route{op: "CreateAlias", fn: fn, handler: (*Server).createAlias}, true
		case len(segs) == 4 && segs[3] == "aliases" && m == http.MethodGet:
			return route{op: "ListAliases", fn: fn, handler: (*Server).listAliases}, true
		case len(segs) == 5 && segs[3] == "aliases" && m == http.MethodGet:
			return route{op: "GetAlias", fn: fn, alias: segs[4], handler: (*Server).getAlias}, true
		case len(segs) == 5 && segs[3] == "aliases" && m == http.MethodPut:
			return route{op: "UpdateAlias", fn: fn, alias: segs[4], handler: (*Server).updateAlias}, true
		case len(segs) == 5 && segs[3] == "aliases" && m == http.MethodDelete:
			return route{op: "DeleteAlias", fn: fn, alias: segs[4], handler: (*Server).deleteAlias}, true
		case len(segs) == 4 && segs[3] == "policy" && m == http.MethodGet:
			return route{op: "GetPolicy", fn: fn, handler: (*Server).getPolicy}, true
		case len(segs) == 4 && segs[3] == "policy" && m == http.MethodPost:
			return route{op: "AddPermission", fn: fn, handler: (*Server).addPermissionHTTP}, true
		case len(segs) == 5 && segs[3] == "policy" && m == http.MethodDelete:
			return route{op: "RemovePermission", fn: fn, id: segs[4], handler: (*Server).removePermission}, true
		case len(segs) == 4 && segs[3] == "invocations" && m == http.MethodPost:
			return route{op: "Invoke", fn: fn, handler: (*Server).invoke}, true
		}
	case len(segs) == 4 && segs[0] == "2019-09-30" && segs[1] == "functions" && segs[3] == "provisioned-concurrency" && m == http.MethodGet:
		return route{op: "ListProvisionedConcurrencyConfigs", fn: segs[2], handler: (*Server).listProvisionedConcurrency}, true
	}
	return route{}, false
}

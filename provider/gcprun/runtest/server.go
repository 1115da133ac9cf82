package runtest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/functions/apiv2/functionspb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/api/option"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Options configure a Server. The zero value is ready to use: project
// "slipway-test", location "us-central1", real time, operations that finish
// on their first poll, no throttling, metrics visible as soon as a minute
// ends.
type Options struct {
	// Project and Location appear in every resource name the server issues.
	// Defaults: "slipway-test" and "us-central1".
	Project  string `json:"project,omitempty"`
	Location string `json:"location,omitempty"`

	// Now is the emulator's clock: create times, traffic history and
	// metrics read it. Nil means time.Now. Tests pass a virtual clock.
	Now func() time.Time `json:"-"`

	// Polls is how many reads of a long-running operation
	// (google.longrunning.Operations/GetOperation; for a service update also
	// GetService of that service) still report it running, with the service
	// reconciling, before it finishes. The real services finish on their own
	// clock; the emulator counts reads so tests need no sleeps. 0 means 1;
	// a negative value finishes every operation before it is returned.
	Polls int `json:"polls,omitempty"`

	// MaxRevisions is how many revisions a service keeps: creating one
	// more deletes the oldest revisions that serve no traffic, carry no tag
	// and are not the latest ("There is a maximum of 1000 revisions per
	// service: If you exceed that limit, older revisions are automatically
	// deleted", "Manage revisions" page). 0 means 1000.
	MaxRevisions int `json:"maxRevisions,omitempty"`

	// MaxPageSize caps the revisions of one ListRevisions page and the
	// functions of one ListFunctions page; a request's own page_size applies
	// when smaller. 0 means 100.
	MaxPageSize int `json:"maxPageSize,omitempty"`
	// MaxPointsPerPage caps the points of one ListTimeSeries page (the
	// service's cap is 100,000 in the FULL view, MONPB
	// ListTimeSeriesRequest.page_size); whole series are never split, and a
	// page holds at least one series. 0 means 100,000. Tests set it low to
	// exercise next_page_token.
	MaxPointsPerPage int `json:"maxPointsPerPage,omitempty"`

	// MetricsDelay is how long after an alignment period ends its points
	// become visible to ListTimeSeries (Cloud Monitoring: data "is not
	// visible for up to 180 seconds" after sampling). 0 makes them visible
	// as soon as the period ends.
	MetricsDelay time.Duration `json:"metricsDelay,omitempty"`

	// Throttle, when non-nil, is asked before every call with the method's
	// short name ("UpdateService", "GetOperation", "ListTimeSeries", …);
	// when it answers true the call fails with RESOURCE_EXHAUSTED carrying a
	// google.rpc.RetryInfo detail with the retry delay, and nothing changes
	// (AIP-193: quota errors are RESOURCE_EXHAUSTED; RetryInfo tells the
	// client how long to wait).
	Throttle func(method string) (retryAfter time.Duration, throttled bool) `json:"-"`
	// Fault, when non-nil, is asked after Throttle; a non-nil error (make
	// one with status.Error) fails the call with it, and nothing changes.
	Fault func(method string) error `json:"-"`

	// Logger receives one Debug record per call. Nil is silent.
	Logger *slog.Logger `json:"-"`
}

// Validate reports options that cannot work.
func (o Options) Validate() error {
	switch {
	case o.MaxRevisions < 0:
		return fmt.Errorf("runtest: MaxRevisions %d is negative", o.MaxRevisions)
	case o.MaxPageSize < 0:
		return fmt.Errorf("runtest: MaxPageSize %d is negative", o.MaxPageSize)
	case o.MaxPointsPerPage < 0:
		return fmt.Errorf("runtest: MaxPointsPerPage %d is negative", o.MaxPointsPerPage)
	case o.MetricsDelay < 0:
		return fmt.Errorf("runtest: MetricsDelay %s is negative", o.MetricsDelay)
	}
	return nil
}

// Request is one entry of the server's call log.
type Request struct {
	// Method is the short method name, e.g. "UpdateService".
	Method string
	// Service is the gRPC service, e.g. "google.cloud.run.v2.Services".
	Service string
	// Code is the status the server answered.
	Code codes.Code
	// Time is the emulator clock when the call arrived.
	Time time.Time
}

// Server is an in-process emulator of the Cloud Functions v2
// FunctionService, the Cloud Run Admin API v2 Services and Revisions, the
// google.longrunning Operations service both use, and the Cloud Monitoring
// v3 MetricService's ListTimeSeries, on one gRPC server listening on a
// loopback port, plus the HTTP endpoint that GenerateUploadUrl's signed URLs
// point at. It is safe for concurrent use.
//
// Point clients at it with ClientOptions: the production code path with the
// endpoint replaced and no credentials.
type Server struct {
	opts Options

	lis  net.Listener
	grpc *grpc.Server
	http *httptest.Server

	mu        sync.Mutex
	functions map[string]*function // by function ID
	services  map[string]*service  // by service ID
	ops       map[string]*operation
	opSeq     int
	uploads   map[string]objectRef // upload token → object
	objects   map[objectRef][]byte
	uploadSeq int
	log       []Request

	inv invokeState // invoke.go
}

type objectRef struct{ bucket, object string }

// NewServer starts a Server on a loopback port. Close it when done.
// NewServer panics if opts.Validate fails or no port can be opened (a
// broken test environment).
func NewServer(opts Options) *Server {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	if opts.Project == "" {
		opts.Project = "slipway-test"
	}
	if opts.Location == "" {
		opts.Location = "us-central1"
	}
	s := &Server{
		opts:      opts,
		functions: map[string]*function{},
		services:  map[string]*service{},
		ops:       map[string]*operation{},
		uploads:   map[string]objectRef{},
		objects:   map[objectRef][]byte{},
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("runtest: listen: " + err.Error())
	}
	s.lis = lis
	s.grpc = grpc.NewServer(grpc.UnaryInterceptor(s.intercept))
	functionspb.RegisterFunctionServiceServer(s.grpc, functionServer{s: s})
	runpb.RegisterServicesServer(s.grpc, servicesServer{s: s})
	runpb.RegisterRevisionsServer(s.grpc, revisionsServer{s: s})
	longrunningpb.RegisterOperationsServer(s.grpc, operationsServer{s: s})
	monitoringpb.RegisterMetricServiceServer(s.grpc, metricServer{s: s})
	go func() { _ = s.grpc.Serve(lis) }()
	s.http = httptest.NewServer(http.HandlerFunc(s.serveUpload))
	return s
}

// Close stops the servers.
func (s *Server) Close() {
	s.grpc.Stop()
	s.http.Close()
}

// Addr is the gRPC server's address (host:port).
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Project and Location are the names the server issues resources under.
func (s *Server) Project() string  { return s.opts.Project }
func (s *Server) Location() string { return s.opts.Location }

// ClientOptions point a Google Cloud client (functions.NewFunctionClient,
// run.NewServicesClient, run.NewRevisionsClient,
// monitoring.NewMetricClient) at the server: its endpoint, no credentials,
// plaintext gRPC. Nothing else differs from the production path.
func (s *Server) ClientOptions() []option.ClientOption {
	return []option.ClientOption{
		option.WithEndpoint(s.Addr()),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	}
}

// Conn dials the server for raw gRPC calls (generated *Client stubs such
// as runpb.NewServicesClient). Close it when done.
func (s *Server) Conn() (*grpc.ClientConn, error) {
	return grpc.NewClient(s.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
}

// Requests returns the call log in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// ResetRequests empties the call log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

func (s *Server) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now()
	}
	return time.Now()
}

func (s *Server) polls() int {
	switch {
	case s.opts.Polls == 0:
		return 1
	case s.opts.Polls < 0:
		return 0
	}
	return s.opts.Polls
}

func (s *Server) maxPage() int {
	if s.opts.MaxPageSize > 0 {
		return s.opts.MaxPageSize
	}
	return 100
}

// intercept applies Throttle and Fault and logs every call.
func (s *Server) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	svc, method := splitMethod(info.FullMethod)
	var (
		resp any
		err  error
	)
	if after, ok := s.throttled(method); ok {
		st := status.New(codes.ResourceExhausted, fmt.Sprintf("Quota exceeded for quota metric 'Requests' of service for method %s.", method))
		if d, derr := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(after)}); derr == nil {
			st = d
		}
		err = st.Err()
	} else if s.opts.Fault != nil {
		err = s.opts.Fault(method)
	}
	if err == nil {
		resp, err = handler(ctx, req)
	}
	code := status.Code(err)
	s.mu.Lock()
	s.log = append(s.log, Request{Method: method, Service: svc, Code: code, Time: s.now()})
	s.mu.Unlock()
	if s.opts.Logger != nil {
		s.opts.Logger.DebugContext(ctx, "runtest: call", "method", info.FullMethod, "code", code.String())
	}
	return resp, err
}

func (s *Server) throttled(method string) (time.Duration, bool) {
	if s.opts.Throttle == nil {
		return 0, false
	}
	return s.opts.Throttle(method)
}

func splitMethod(full string) (svc, method string) {
	full = strings.TrimPrefix(full, "/")
	svc, method, _ = strings.Cut(full, "/")
	return svc, method
}

func (s *Server) locationName() string {
	return "projects/" + s.opts.Project + "/locations/" + s.opts.Location
}

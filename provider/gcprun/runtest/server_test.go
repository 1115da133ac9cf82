package runtest_test

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"cloud.google.com/go/functions/apiv2/functionspb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/slipway-dev/slipway/provider/gcprun/runtest"
)

// These tests check the emulator against the documented rules with raw
// gRPC calls through the generated stubs, not through the adapter. The
// sources are named per test (RUNPB = cloud.google.com/go/run/apiv2/runpb
// comments, FNPB = functions/apiv2/functionspb, MONPB =
// monitoring/apiv3/v2/monitoringpb; AIP = google.aip.dev; Cloud Run pages
// as in docs/platforms/gcp-cloud-run.md).

type fixture struct {
	t    *testing.T
	ctx  context.Context
	srv  *runtest.Server
	now  time.Time
	fns  functionspb.FunctionServiceClient
	svcs runpb.ServicesClient
	revs runpb.RevisionsClient
	ops  longrunningpb.OperationsClient
	mon  monitoringpb.MetricServiceClient
}

func newFixture(t *testing.T, opts runtest.Options) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: t.Context(), now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	opts.Now = func() time.Time { return f.now }
	f.srv = runtest.NewServer(opts)
	t.Cleanup(f.srv.Close)
	conn, err := f.srv.Conn()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	f.fns = functionspb.NewFunctionServiceClient(conn)
	f.svcs = runpb.NewServicesClient(conn)
	f.revs = runpb.NewRevisionsClient(conn)
	f.ops = longrunningpb.NewOperationsClient(conn)
	f.mon = monitoringpb.NewMetricServiceClient(conn)
	return f
}

func (f *fixture) svcName(id string) string {
	return "projects/" + f.srv.Project() + "/locations/" + f.srv.Location() + "/services/" + id
}

// deploys creates function id with n revisions (CreateFunction's first,
// then UpdateFunction with all_traffic_on_latest_revision false),
// returning the revision IDs oldest first.
func (f *fixture) deploys(id string, n int) []string {
	f.t.Helper()
	if err := f.srv.CreateFunction(id, runtest.FunctionSpec{Runtime: "go125"}); err != nil {
		f.t.Fatal(err)
	}
	for range n - 1 {
		f.update(id, false)
	}
	return f.revisions(id)
}

func (f *fixture) update(id string, allTraffic bool) *longrunningpb.Operation {
	f.t.Helper()
	name := "projects/" + f.srv.Project() + "/locations/" + f.srv.Location() + "/functions/" + id
	op, err := f.fns.UpdateFunction(f.ctx, &functionspb.UpdateFunctionRequest{
		Function:   &functionspb.Function{Name: name, ServiceConfig: &functionspb.ServiceConfig{AllTrafficOnLatestRevision: allTraffic, EnvironmentVariables: map[string]string{"N": time.Now().String()}}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"service_config"}},
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return f.wait(op)
}

func (f *fixture) wait(op *longrunningpb.Operation) *longrunningpb.Operation {
	f.t.Helper()
	for i := 0; !op.Done; i++ {
		if i > 10 {
			f.t.Fatalf("operation %s not done after %d polls", op.Name, i)
		}
		var err error
		if op, err = f.ops.GetOperation(f.ctx, &longrunningpb.GetOperationRequest{Name: op.Name}); err != nil {
			f.t.Fatal(err)
		}
	}
	return op
}

func (f *fixture) revisions(id string) []string {
	f.t.Helper()
	var out []string
	for tok := ""; ; {
		resp, err := f.revs.ListRevisions(f.ctx, &runpb.ListRevisionsRequest{Parent: f.svcName(id), PageToken: tok})
		if err != nil {
			f.t.Fatal(err)
		}
		for _, r := range resp.Revisions {
			out = append(out, r.Uid)
		}
		if tok = resp.NextPageToken; tok == "" {
			break
		}
	}
	slices.Reverse(out) // listed newest first
	return out
}

func (f *fixture) service(id string) *runpb.Service {
	f.t.Helper()
	s, err := f.svcs.GetService(f.ctx, &runpb.GetServiceRequest{Name: f.svcName(id)})
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

func rev(name string, pct int32) *runpb.TrafficTarget {
	return &runpb.TrafficTarget{Type: runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION, Revision: name, Percent: pct}
}

func tagged(name, tag string) *runpb.TrafficTarget {
	return &runpb.TrafficTarget{Type: runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION, Revision: name, Tag: tag}
}

func (f *fixture) setTraffic(id, etag string, ts ...*runpb.TrafficTarget) (*longrunningpb.Operation, error) {
	return f.svcs.UpdateService(f.ctx, &runpb.UpdateServiceRequest{
		Service:    &runpb.Service{Name: f.svcName(id), Etag: etag, Traffic: ts},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"traffic"}},
	})
}

func wantCode(t *testing.T, what string, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Errorf("%s: code %s (%v), want %s", what, got, err, want)
	}
}

// Traffic rules ("Rollbacks, gradual rollouts, and traffic migration";
// RUNPB TrafficTarget): integer percents summing to exactly 100, a
// REVISION target names an existing revision of the service, a LATEST
// target names none, tags are unique. Violations are INVALID_ARGUMENT and
// change nothing.
func TestTrafficRules(t *testing.T) {
	f := newFixture(t, runtest.Options{Polls: -1})
	r := f.deploys("svc", 3)
	other := f.deploys("other", 1)
	for _, c := range []struct {
		name    string
		traffic []*runpb.TrafficTarget
	}{
		{"sum 90", []*runpb.TrafficTarget{rev(r[0], 50), rev(r[1], 40)}},
		{"sum 110", []*runpb.TrafficTarget{rev(r[0], 60), rev(r[1], 50)}},
		{"negative", []*runpb.TrafficTarget{rev(r[0], 110), rev(r[1], -10)}},
		{"unknown revision", []*runpb.TrafficTarget{rev("svc-00099-zzz", 100)}},
		{"revision of another service", []*runpb.TrafficTarget{rev(other[0], 100)}},
		{"latest naming a revision", []*runpb.TrafficTarget{{Type: runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST, Revision: r[0], Percent: 100}}},
		{"duplicate tag", []*runpb.TrafficTarget{rev(r[0], 100), tagged(r[1], "blue"), tagged(r[2], "blue")}},
		{"tag not a DNS label", []*runpb.TrafficTarget{rev(r[0], 100), tagged(r[1], "Blue_1")}},
	} {
		before := f.service("svc")
		_, err := f.setTraffic("svc", "", c.traffic...)
		wantCode(t, c.name, err, codes.InvalidArgument)
		if after := f.service("svc"); after.Etag != before.Etag {
			t.Errorf("%s: etag changed from %s to %s on a refused update", c.name, before.Etag, after.Etag)
		}
	}
	// Any number of revisions may share the traffic.
	op, err := f.setTraffic("svc", "", rev(r[0], 34), rev(r[1], 33), rev(r[2], 33), tagged(r[2], "canary"))
	if err != nil {
		t.Fatal(err)
	}
	if !f.wait(op).Done {
		t.Fatal("not done")
	}
}

// AIP-154: a request with an etag that does not match the resource's is
// ABORTED; an empty etag is an unconditional update. Every change issues a
// new etag.
func TestStaleEtag(t *testing.T) {
	f := newFixture(t, runtest.Options{Polls: -1})
	r := f.deploys("svc", 2)
	e0 := f.service("svc").Etag
	if _, err := f.setTraffic("svc", e0, rev(r[0], 100)); err != nil {
		t.Fatal(err)
	}
	e1 := f.service("svc").Etag
	if e1 == e0 {
		t.Fatalf("etag %s did not change with the traffic", e0)
	}
	_, err := f.setTraffic("svc", e0, rev(r[1], 100))
	wantCode(t, "update with the stale etag", err, codes.Aborted)
	if got := f.service("svc").Traffic[0].Revision; got != r[0] {
		t.Errorf("traffic on %s after a refused update, want %s", got, r[0])
	}
	if _, err := f.setTraffic("svc", "", rev(r[1], 100)); err != nil {
		t.Errorf("unconditional update: %v", err)
	}
}

// RUNPB Service.reconciling: while reconciling, observed_generation and
// traffic_statuses lag; once it is false, traffic == traffic_statuses and
// observed_generation == generation. UpdateService is a long-running
// operation polled with google.longrunning.Operations/GetOperation whose
// response is the Service.
func TestReconcilingAndOperationPolling(t *testing.T) {
	f := newFixture(t, runtest.Options{Polls: 3})
	r := f.deploys("svc", 2)
	op, err := f.setTraffic("svc", "", rev(r[0], 90), rev(r[1], 10))
	if err != nil {
		t.Fatal(err)
	}
	if op.Done {
		t.Fatal("UpdateService returned a finished operation; want one to poll")
	}
	s := f.service("svc") // counts as one read
	if !s.Reconciling || s.ObservedGeneration == s.Generation || len(s.TrafficStatuses) != 1 || s.TrafficStatuses[0].Percent != 100 {
		t.Errorf("while reconciling: reconciling=%v generation=%d observed=%d statuses=%v; want the old split in force", s.Reconciling, s.Generation, s.ObservedGeneration, s.TrafficStatuses)
	}
	polls := 0
	for !op.Done {
		polls++
		if op, err = f.ops.GetOperation(f.ctx, &longrunningpb.GetOperationRequest{Name: op.Name}); err != nil {
			t.Fatal(err)
		}
	}
	if polls != 2 {
		t.Errorf("finished after %d GetOperation polls (+1 GetService), want 2", polls)
	}
	var done runpb.Service
	if err := op.GetResponse().UnmarshalTo(&done); err != nil {
		t.Fatal(err)
	}
	if done.Reconciling || done.ObservedGeneration != done.Generation || len(done.TrafficStatuses) != 2 || done.TrafficStatuses[1].Revision != r[1] || done.TrafficStatuses[1].Percent != 10 {
		t.Errorf("after the operation: %+v", &done)
	}
}

// "Manage revisions": a revision that can receive traffic (any percent, or
// a tag) or the latest revision cannot be deleted (FAILED_PRECONDITION);
// others can, and then are gone.
func TestDeleteRevisionRules(t *testing.T) {
	f := newFixture(t, runtest.Options{Polls: -1})
	r := f.deploys("svc", 4)
	if _, err := f.setTraffic("svc", "", rev(r[0], 100), tagged(r[1], "blue")); err != nil {
		t.Fatal(err)
	}
	del := func(id string) error {
		op, err := f.revs.DeleteRevision(f.ctx, &runpb.DeleteRevisionRequest{Name: f.svcName("svc") + "/revisions/" + id})
		if err == nil {
			f.wait(op)
		}
		return err
	}
	wantCode(t, "delete the serving revision", del(r[0]), codes.FailedPrecondition)
	wantCode(t, "delete the tagged revision", del(r[1]), codes.FailedPrecondition)
	wantCode(t, "delete the latest revision", del(r[3]), codes.FailedPrecondition)
	if err := del(r[2]); err != nil {
		t.Fatalf("delete an unused revision: %v", err)
	}
	wantCode(t, "delete it again", del(r[2]), codes.NotFound)
	_, err := f.revs.GetRevision(f.ctx, &runpb.GetRevisionRequest{Name: f.svcName("svc") + "/revisions/" + r[2]})
	wantCode(t, "get the deleted revision", err, codes.NotFound)
	_, err = f.setTraffic("svc", "", rev(r[2], 100))
	wantCode(t, "route to the deleted revision", err, codes.InvalidArgument)
}

// AIP-158 pagination: page_size caps a page, next_page_token is empty on
// the last page, pages neither repeat nor skip, and a token that was not
// issued for the collection is INVALID_ARGUMENT.
func TestListRevisionsPaging(t *testing.T) {
	f := newFixture(t, runtest.Options{Polls: -1, MaxPageSize: 4})
	want := f.deploys("svc", 11)
	var got []string
	tok, pages := "", 0
	for {
		resp, err := f.revs.ListRevisions(f.ctx, &runpb.ListRevisionsRequest{Parent: f.svcName("svc"), PageSize: 10, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(resp.Revisions) > 4 {
			t.Errorf("page of %d revisions, want at most MaxPageSize 4", len(resp.Revisions))
		}
		for _, r := range resp.Revisions {
			got = append(got, r.Uid)
		}
		if tok = resp.NextPageToken; tok == "" {
			break
		}
	}
	slices.Reverse(got)
	if !slices.Equal(got, want) || pages != 3 {
		t.Errorf("paged %d pages %v, want 3 pages of %v", pages, got, want)
	}
	f.deploys("other", 1)
	first, err := f.revs.ListRevisions(f.ctx, &runpb.ListRevisionsRequest{Parent: f.svcName("svc"), PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.revs.ListRevisions(f.ctx, &runpb.ListRevisionsRequest{Parent: f.svcName("other"), PageToken: first.NextPageToken})
	wantCode(t, "a token of another collection", err, codes.InvalidArgument)
	_, err = f.revs.ListRevisions(f.ctx, &runpb.ListRevisionsRequest{Parent: f.svcName("svc"), PageToken: "garbage"})
	wantCode(t, "a made-up token", err, codes.InvalidArgument)
}

// FNPB ServiceConfig.all_traffic_on_latest_revision: true makes the new
// revision serve 100% "ignoring any traffic split settings"; false keeps
// the split, so a pinned split gives the new revision no traffic
// ("Lifecycle of traffic splits").
func TestDeployKeepsOrOverridesSplit(t *testing.T) {
	f := newFixture(t, runtest.Options{Polls: -1})
	r := f.deploys("svc", 2)
	if _, err := f.setTraffic("svc", "", rev(r[0], 80), rev(r[1], 20), tagged(r[0], "stable")); err != nil {
		t.Fatal(err)
	}
	f.update("svc", false)
	s := f.service("svc")
	if len(s.Traffic) != 3 || s.Traffic[0].Percent != 80 || s.Traffic[1].Percent != 20 || shortName(s.LatestReadyRevision) == r[1] {
		t.Errorf("after a deploy with all_traffic_on_latest_revision=false: traffic %v, latest %s", s.Traffic, s.LatestReadyRevision)
	}
	f.update("svc", true)
	s = f.service("svc")
	latest := shortName(s.LatestReadyRevision)
	var served []string
	for _, st := range s.TrafficStatuses {
		if st.Percent > 0 {
			served = append(served, st.Revision)
		}
	}
	if !slices.Equal(served, []string{latest}) {
		t.Errorf("after a deploy with all_traffic_on_latest_revision=true: served by %v, want only %s", served, latest)
	}
}

func shortName(n string) string {
	for i := len(n) - 1; i >= 0; i-- {
		if n[i] == '/' {
			return n[i+1:]
		}
	}
	return n
}

// FNPB: UpdateFunction while an operation on the function runs is refused
// (ABORTED here; the code is not documented), and CreateFunction of an
// existing ID ends its operation with ALREADY_EXISTS.
func TestFunctionOperations(t *testing.T) {
	f := newFixture(t, runtest.Options{Polls: 2})
	f.deploys("svc", 1)
	name := "projects/" + f.srv.Project() + "/locations/" + f.srv.Location() + "/functions/svc"
	op, err := f.fns.UpdateFunction(f.ctx, &functionspb.UpdateFunctionRequest{Function: &functionspb.Function{Name: name}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"labels"}}})
	if err != nil || op.Done {
		t.Fatalf("UpdateFunction: %v, done %v; want a running operation", err, op.GetDone())
	}
	_, err = f.fns.UpdateFunction(f.ctx, &functionspb.UpdateFunctionRequest{Function: &functionspb.Function{Name: name}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"labels"}}})
	wantCode(t, "a second UpdateFunction while one runs", err, codes.Aborted)
	f.wait(op)
	up, err := f.fns.GenerateUploadUrl(f.ctx, &functionspb.GenerateUploadUrlRequest{Parent: "projects/" + f.srv.Project() + "/locations/" + f.srv.Location()})
	if err != nil {
		t.Fatal(err)
	}
	put(t, up.UploadUrl, "application/zip", "")
	cop, err := f.fns.CreateFunction(f.ctx, &functionspb.CreateFunctionRequest{
		Parent: "projects/" + f.srv.Project() + "/locations/" + f.srv.Location(), FunctionId: "svc",
		Function: &functionspb.Function{BuildConfig: &functionspb.BuildConfig{Runtime: "go125", Source: &functionspb.Source{Source: &functionspb.Source_StorageSource{StorageSource: up.StorageSource}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cop = f.wait(cop)
	if got := codes.Code(cop.GetError().GetCode()); got != codes.AlreadyExists {
		t.Errorf("CreateFunction of an existing ID ended with %s, want ALREADY_EXISTS", got)
	}
}

// FNPB GenerateUploadUrl: PUT the zip with content-type application/zip
// and no Authorization header; the emulator keeps the object.
func TestUploadURL(t *testing.T) {
	f := newFixture(t, runtest.Options{})
	up, err := f.fns.GenerateUploadUrl(f.ctx, &functionspb.GenerateUploadUrlRequest{Parent: "projects/" + f.srv.Project() + "/locations/" + f.srv.Location()})
	if err != nil {
		t.Fatal(err)
	}
	if got := put(t, up.UploadUrl, "application/octet-stream", ""); got != http.StatusBadRequest {
		t.Errorf("PUT with the wrong content-type: %d, want 400", got)
	}
	if got := put(t, up.UploadUrl, "application/zip", "Bearer x"); got != http.StatusBadRequest {
		t.Errorf("PUT with an Authorization header: %d, want 400", got)
	}
	if got := put(t, up.UploadUrl, "application/zip", ""); got != http.StatusOK {
		t.Fatalf("PUT: %d, want 200", got)
	}
	if b, ok := f.srv.Object(up.StorageSource.Bucket, up.StorageSource.Object); !ok || !bytes.HasPrefix(b, []byte("PK")) {
		t.Errorf("object gs://%s/%s not kept", up.StorageSource.Bucket, up.StorageSource.Object)
	}
}

func put(t *testing.T, url, ct, auth string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader([]byte("PK\x05\x06"+string(make([]byte, 18)))))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// AIP-193: quota errors are RESOURCE_EXHAUSTED with a google.rpc.RetryInfo
// detail; nothing changes.
func TestThrottle(t *testing.T) {
	f := newFixture(t, runtest.Options{Polls: -1, Throttle: func(m string) (time.Duration, bool) { return 3 * time.Second, m == "UpdateService" }})
	r := f.deploys("svc", 2)
	before := f.service("svc").Etag
	_, err := f.setTraffic("svc", "", rev(r[0], 100))
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted {
		t.Fatalf("code %s, want RESOURCE_EXHAUSTED", st.Code())
	}
	var delay time.Duration
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			delay = ri.RetryDelay.AsDuration()
		}
	}
	if delay != 3*time.Second {
		t.Errorf("RetryInfo delay %s, want 3s", delay)
	}
	if f.service("svc").Etag != before {
		t.Error("a throttled update changed the service")
	}
}

// RUNPB Service.annotations: keys in the run.googleapis.com,
// cloud.googleapis.com, serving.knative.dev and autoscaling.knative.dev
// namespaces are rejected.
func TestReservedAnnotations(t *testing.T) {
	f := newFixture(t, runtest.Options{Polls: -1})
	f.deploys("svc", 1)
	for _, k := range []string{"run.googleapis.com/ingress", "serving.knative.dev/creator", "autoscaling.knative.dev/maxScale", "cloud.googleapis.com/location"} {
		_, err := f.svcs.UpdateService(f.ctx, &runpb.UpdateServiceRequest{
			Service:    &runpb.Service{Name: f.svcName("svc"), Annotations: map[string]string{k: "x"}},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"annotations"}},
		})
		wantCode(t, "annotation "+k, err, codes.InvalidArgument)
	}
	if _, err := f.svcs.UpdateService(f.ctx, &runpb.UpdateServiceRequest{
		Service:    &runpb.Service{Name: f.svcName("svc"), Annotations: map[string]string{"slipway.dev/versions": "{}"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"annotations"}},
	}); err != nil {
		t.Errorf("a free annotation: %v", err)
	}
}

// MONPB: alignment_period must be at least 60 s; points come in reverse
// time order; a period becomes visible only MetricsDelay after it ends;
// page_size bounds the points of a page and next_page_token continues.
func TestListTimeSeries(t *testing.T) {
	f := newFixture(t, runtest.Options{Polls: -1, MetricsDelay: 2 * time.Minute})
	r := f.deploys("svc", 1)
	if err := f.srv.SetLoad("svc", 1); err != nil {
		t.Fatal(err)
	}
	start := f.now
	f.now = f.now.Add(10 * time.Minute)
	req := func(period time.Duration, tok string, size int32) *monitoringpb.ListTimeSeriesRequest {
		return &monitoringpb.ListTimeSeriesRequest{
			Name:        "projects/" + f.srv.Project(),
			Filter:      `metric.type = "run.googleapis.com/request_count" AND resource.type = "cloud_run_revision" AND resource.labels.revision_name = "` + r[0] + `"`,
			Interval:    &monitoringpb.TimeInterval{StartTime: timestamppb.New(start), EndTime: timestamppb.New(f.now)},
			Aggregation: &monitoringpb.Aggregation{AlignmentPeriod: durationpb.New(period), PerSeriesAligner: monitoringpb.Aggregation_ALIGN_DELTA},
			PageToken:   tok, PageSize: size,
		}
	}
	_, err := f.mon.ListTimeSeries(f.ctx, req(30*time.Second, "", 0))
	wantCode(t, "alignment_period 30s", err, codes.InvalidArgument)
	resp, err := f.mon.ListTimeSeries(f.ctx, req(time.Minute, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.TimeSeries) != 1 {
		t.Fatalf("%d series, want 1", len(resp.TimeSeries))
	}
	pts := resp.TimeSeries[0].Points
	if len(pts) != 8 {
		t.Errorf("%d points, want 8 (10 minutes less the 2-minute delay)", len(pts))
	}
	for i := 1; i < len(pts); i++ {
		if !pts[i].Interval.EndTime.AsTime().Before(pts[i-1].Interval.EndTime.AsTime()) {
			t.Errorf("points not newest first at %d", i)
		}
	}
	if got := pts[0].Value.GetInt64Value(); got != 60 {
		t.Errorf("a minute at 1 request/s = %d requests, want 60", got)
	}
	_, err = f.mon.ListTimeSeries(f.ctx, req(time.Minute, "garbage", 0))
	wantCode(t, "a made-up page token", err, codes.InvalidArgument)
}

// "Manage revisions": "There is a maximum of 1000 revisions per service:
// If you exceed that limit, older revisions are automatically deleted."
// Revisions that serve or are tagged stay (here with the limit lowered to
// 3).
func TestRevisionLimit(t *testing.T) {
	f := newFixture(t, runtest.Options{Polls: -1, MaxRevisions: 3})
	r := f.deploys("svc", 3)
	if _, err := f.setTraffic("svc", "", rev(r[0], 100), tagged(r[1], "blue")); err != nil {
		t.Fatal(err)
	}
	f.update("svc", false)
	f.update("svc", false)
	got := f.revisions("svc")
	if len(got) != 3 || got[0] != r[0] || got[1] != r[1] || slices.Contains(got, r[2]) {
		t.Errorf("revisions after 5 deploys with a limit of 3: %v; want %s and %s kept (serving, tagged), %s collected", got, r[0], r[1], r[2])
	}
}

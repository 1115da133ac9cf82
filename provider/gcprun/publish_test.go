package gcprun_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/functions/apiv2/functionspb"
	"cloud.google.com/go/iam/apiv1/iampb"
	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/gcprun"
	"github.com/slipway-dev/slipway/provider/gcprun/runtest"
)

func methods(reqs []runtest.Request) []string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = r.Method
	}
	return out
}

// TestPublishSequence: the first Publish creates the function from the
// uploaded zip; the next one takes the lease, uploads, updates the
// function and records the revision; the zip reaches the emulator's
// object store byte for byte; a retry of the same input makes no write.
func TestPublishSequence(t *testing.T) {
	e := newEnv(t, runtest.Options{Polls: 1})
	ctx := t.Context()
	in0 := input(0)
	v0, err := e.p.Publish(ctx, fn, in0)
	if err != nil {
		t.Fatal(err)
	}
	first := methods(e.srv.Requests())
	want := []string{"GetFunction", "GenerateUploadUrl", "CreateFunction", "GetOperation", "GetService", "UpdateService", "GetRevision"}
	if !slices.Equal(first, want) {
		t.Errorf("first Publish calls %v, want %v", first, want)
	}
	e.srv.ResetRequests()
	v1, err := e.p.Publish(ctx, fn, input(1))
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"GetFunction", "GetService", "UpdateService", "GenerateUploadUrl", "UpdateFunction", "GetOperation", "GetService", "UpdateService", "GetRevision"}
	if got := methods(e.srv.Requests()); !slices.Equal(got, want) {
		t.Errorf("second Publish calls %v, want %v", got, want)
	}
	if v0.ID == v1.ID || v1.Labels[provider.LabelSemver] != "1.0.1" || v1.CodeSHA256 == "" {
		t.Errorf("versions %+v and %+v", v0, v1)
	}
	found := false
	for i := 1; i < 10 && !found; i++ {
		b, ok := e.srv.Object("gcf-v2-uploads-000000000000-us-central1", "u00000"+string(rune('0'+i))+".zip")
		found = ok && bytes.Equal(b, input(1).Artifact.Zip)
	}
	if !found {
		t.Error("the second zip is not among the uploaded objects")
	}
	e.srv.ResetRequests()
	again, err := e.p.Publish(ctx, fn, input(1))
	if err != nil || again.ID != v1.ID {
		t.Fatalf("retried Publish = %v, %v; want %s", again.ID, err, v1.ID)
	}
	if got := methods(e.srv.Requests()); slices.Contains(got, "UpdateService") || slices.Contains(got, "UpdateFunction") {
		t.Errorf("retried Publish wrote: %v", got)
	}
}

// TestPublishKeepsTheSplit: once the split route names revisions, a new
// revision gets no traffic and the route and its token are unchanged (the
// adapter never sends all_traffic_on_latest_revision=true to an existing
// function; the emulator would replace the split if it did).
func TestPublishKeepsTheSplit(t *testing.T) {
	e := newEnv(t, runtest.Options{Polls: 2})
	ctx := t.Context()
	ids := e.publishN(t, 2)
	before, err := e.p.SetRoute(ctx, fn, provider.Split("live", ids[0], ids[1], 2000))
	if err != nil {
		t.Fatal(err)
	}
	v2, err := e.p.Publish(ctx, fn, input(2))
	if err != nil {
		t.Fatal(err)
	}
	after, err := e.p.Route(ctx, fn, "live")
	if err != nil {
		t.Fatal(err)
	}
	if after.Revision != before.Revision || !after.SameTraffic(before) || after.Share(v2.ID) != 0 {
		t.Errorf("live after publishing %s = %+v, want %+v", v2.ID, after, before)
	}
}

// TestPublishLease: a live lease of another publisher (one that died
// while deploying, written here with a raw UpdateService) is ErrConflict
// and nothing is deployed; once it expires it is broken.
func TestPublishLease(t *testing.T) {
	e := newEnv(t, runtest.Options{Polls: -1})
	ctx := t.Context()
	if _, err := e.p.Publish(ctx, fn, input(0)); err != nil {
		t.Fatal(err)
	}
	conn, err := e.srv.Conn()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	svcs := runpb.NewServicesClient(conn)
	name := "projects/" + e.srv.Project() + "/locations/" + e.srv.Location() + "/services/" + fn
	svc, err := svcs.GetService(ctx, &runpb.GetServiceRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	ann := svc.Annotations
	lease, _ := json.Marshal(gcprun.Lease{Holder: "someone-else", Until: e.clock.Now().Add(time.Minute)})
	ann[gcprun.AnnotationLease] = string(lease)
	if _, err := svcs.UpdateService(ctx, &runpb.UpdateServiceRequest{Service: &runpb.Service{Name: name, Annotations: ann, Etag: svc.Etag}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"annotations"}}}); err != nil {
		t.Fatal(err)
	}
	e.srv.ResetRequests()
	_, err = e.p.Publish(ctx, fn, input(1))
	if !errors.Is(err, provider.ErrConflict) {
		t.Fatalf("Publish under another's lease: %v, want ErrConflict", err)
	}
	if got := methods(e.srv.Requests()); slices.Contains(got, "UpdateFunction") || slices.Contains(got, "UpdateService") {
		t.Errorf("Publish under another's lease called %v", got)
	}
	e.clock.Advance(2 * time.Minute)
	if _, err := e.p.Publish(ctx, fn, input(1)); err != nil {
		t.Fatalf("Publish after the lease expired: %v", err)
	}
}

// TestOptionalPowers: the Eventarc trigger is listed without a qualifier,
// the run.invoker members are the permissions (allUsers public), Usage is
// empty; unknown functions are ErrNotFound.
func TestOptionalPowers(t *testing.T) {
	e := newEnv(t, runtest.Options{Polls: -1})
	ctx := t.Context()
	if _, err := e.p.Publish(ctx, fn, input(0)); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.SetEventTrigger(fn, &functionspb.EventTrigger{Trigger: "projects/p/locations/l/triggers/orders", EventType: "google.cloud.pubsub.topic.v1.messagePublished", PubsubTopic: "projects/p/topics/orders"}); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.SetIamPolicy(fn, &iampb.Policy{Bindings: []*iampb.Binding{
		{Role: "roles/run.invoker", Members: []string{"allUsers", "serviceAccount:ci@p.iam.gserviceaccount.com"}},
		{Role: "roles/viewer", Members: []string{"user:ann@example.com"}},
	}}); err != nil {
		t.Fatal(err)
	}
	src, err := e.p.EventSources(ctx, fn)
	if err != nil || len(src) != 1 || src[0].Source != "projects/p/topics/orders" || src[0].Qualifier != "" {
		t.Errorf("EventSources = %+v, %v", src, err)
	}
	perms, err := e.p.Permissions(ctx, fn, "")
	if err != nil || len(perms) != 2 || !perms[0].Public || perms[1].Public || perms[1].Principal != "serviceAccount:ci@p.iam.gserviceaccount.com" {
		t.Errorf("Permissions = %+v, %v", perms, err)
	}
	if u, err := e.p.Usage(ctx, fn); err != nil || len(u) != 0 {
		t.Errorf("Usage = %v, %v; want none", u, err)
	}
	for name, err := range map[string]error{
		"EventSources": func() error { _, err := e.p.EventSources(ctx, "absent"); return err }(),
		"Permissions":  func() error { _, err := e.p.Permissions(ctx, "absent", ""); return err }(),
		"Usage":        func() error { _, err := e.p.Usage(ctx, "absent"); return err }(),
	} {
		if !errors.Is(err, provider.ErrNotFound) {
			t.Errorf("%s of an unknown function: %v, want ErrNotFound", name, err)
		}
	}
}

// TestThrottledWrite: RESOURCE_EXHAUSTED on UpdateService reaches the
// caller of SetRoute as ErrThrottled with the RetryInfo delay, and
// provider.WithRetry retries it after that delay on the virtual clock.
func TestThrottledWrite(t *testing.T) {
	var n atomic.Int32
	e := newEnv(t, runtest.Options{Polls: -1, Throttle: func(m string) (time.Duration, bool) {
		if m != "UpdateService" {
			return 0, false
		}
		// The fourth UpdateService is the first SetRoute (each Publish
		// before it writes its record, the second one its lease too).
		return 4 * time.Second, n.Add(1) == 4
	}})
	ctx := t.Context()
	ids := e.publishN(t, 2)
	_, err := e.p.SetRoute(ctx, fn, provider.To("stage", ids[0]))
	if d, ok := provider.RetryAfter(err); !errors.Is(err, provider.ErrThrottled) || !ok || d != 4*time.Second {
		t.Fatalf("SetRoute: %v (retry after %s), want ErrThrottled after 4s", err, d)
	}
	start := e.clock.Now()
	rp := provider.WithRetry(e.p, provider.RetryPolicy{Sleep: e.clock.Sleep, Jitter: func() float64 { return 0 }})
	n.Store(3) // throttle the next UpdateService once more
	if _, err := rp.SetRoute(ctx, fn, provider.To("stage", ids[0])); err != nil {
		t.Fatalf("SetRoute with retries: %v", err)
	}
	if waited := e.clock.Now().Sub(start); waited < 4*time.Second {
		t.Errorf("retried after %s, want at least the 4s RetryInfo delay", waited)
	}
}

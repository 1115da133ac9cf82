package gcprun_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/functions/apiv2/functionspb"
	"cloud.google.com/go/run/apiv2/runpb"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/gcprun"
	"github.com/slipway-dev/slipway/provider/gcprun/runtest"
)

// TestForeignRevision: a revision deployed by other tools (here the
// function's first, created by the emulator's set-up helper) is a version
// without a code hash or labels, its configuration read from the
// revision's container.
func TestForeignRevision(t *testing.T) {
	e := newEnv(t, runtest.Options{Polls: -1})
	if err := e.srv.CreateFunction(fn, runtest.FunctionSpec{Runtime: "go125", Config: &functionspb.ServiceConfig{
		AvailableMemory: "512Mi", TimeoutSeconds: 30, EnvironmentVariables: map[string]string{"A": "1"}, ServiceAccountEmail: "sa@p.iam.gserviceaccount.com",
	}}); err != nil {
		t.Fatal(err)
	}
	var got []provider.Version
	for v, err := range e.p.Versions(t.Context(), fn) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if len(got) != 1 {
		t.Fatalf("Versions = %+v, want the one revision", got)
	}
	want := provider.Config{MemoryMB: 512, Timeout: 30 * time.Second, Environment: map[string]string{"A": "1"}, Role: "sa@p.iam.gserviceaccount.com"}
	if v := got[0]; v.CodeSHA256 != "" || v.Labels != nil || !v.Config.Equal(want) {
		t.Errorf("foreign revision = %+v, want no hash or labels and config %+v", v, want)
	}
}

// TestDeleteForgetsRecord: deleting a version drops its record from the
// service's annotation.
func TestDeleteForgetsRecord(t *testing.T) {
	e := newEnv(t, runtest.Options{Polls: -1})
	ctx := t.Context()
	ids := e.publishN(t, 2)
	if err := e.p.DeleteVersion(ctx, fn, ids[0]); err != nil {
		t.Fatal(err)
	}
	conn, err := e.srv.Conn()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	svc, err := runpb.NewServicesClient(conn).GetService(ctx, &runpb.GetServiceRequest{Name: "projects/" + e.srv.Project() + "/locations/" + e.srv.Location() + "/services/" + fn})
	if err != nil {
		t.Fatal(err)
	}
	recs := svc.Annotations[gcprun.AnnotationVersions]
	if !strings.Contains(recs, ids[1]) || strings.Contains(recs, ids[0]) {
		t.Errorf("records after deleting %s: %s", ids[0], recs)
	}
}

// TestCancelWhileWaiting: a context that ends while SetRoute polls the
// operation ends the wait with an error matching context.Canceled.
func TestCancelWhileWaiting(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	armed := make(chan struct{}, 1)
	e := newEnv(t, runtest.Options{Polls: 5, Fault: func(m string) error {
		if m == "GetOperation" {
			select {
			case <-armed:
				cancel()
			default:
			}
		}
		return nil
	}})
	ids := e.publishN(t, 2)
	armed <- struct{}{}
	_, err := e.p.SetRoute(ctx, fn, provider.To("stage", ids[0]))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("SetRoute with the context ending during the wait: %v, want context.Canceled", err)
	}
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Function != fn {
		t.Errorf("error %v is not a *provider.Error for %s", err, fn)
	}
}

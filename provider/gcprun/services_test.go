package gcprun_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/run/apiv2/runpb"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/gcprun"
	"github.com/slipway-dev/slipway/provider/gcprun/runtest"
	"github.com/slipway-dev/slipway/provider/providertest"
)

func newServicesEnv(t testing.TB, opts runtest.Options) *env {
	t.Helper()
	return newEnvOf(t, opts, true)
}

// image is the i-th container image, by digest.
func image(i int) provider.Artifact {
	sum := sha256.Sum256(fmt.Appendf(nil, "image %d", i))
	d := hex.EncodeToString(sum[:])
	return provider.Artifact{Image: "us-docker.pkg.dev/slipway-test/app/checkout@sha256:" + d, SHA256: d}
}

// TestConformanceServices runs the suite with Options.Services: functions
// are Cloud Run services managed directly, versions are revisions deployed
// from container images with UpdateService (CreateService first).
func TestConformanceServices(t *testing.T) {
	providertest.RunWith(t, func(t *testing.T) provider.Provider {
		return newServicesEnv(t, runtest.Options{Polls: 2}).p
	}, providertest.Options{Config: config, Artifact: image})
}

// TestPublishImageSequence: CreateService deploys and records the first
// revision in one call; a later image takes one UpdateService; the same
// image and configuration again take no write; a zip is ErrUnsupported
// before any call.
func TestPublishImageSequence(t *testing.T) {
	e := newServicesEnv(t, runtest.Options{Polls: 1})
	ctx := t.Context()
	in := provider.PublishInput{Artifact: image(0), Config: config(0), Labels: map[string]string{provider.LabelSemver: "1.0.0"}}
	v0, err := e.p.Publish(ctx, fn, in)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"GetService", "CreateService", "GetOperation", "GetRevision"}
	if got := methods(e.srv.Requests()); !slices.Equal(got, want) {
		t.Errorf("first Publish calls %v, want %v", got, want)
	}
	e.srv.ResetRequests()
	in.Artifact = image(1)
	v1, err := e.p.Publish(ctx, fn, in)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"GetService", "UpdateService", "GetOperation", "GetRevision"}
	if got := methods(e.srv.Requests()); !slices.Equal(got, want) {
		t.Errorf("second Publish calls %v, want %v", got, want)
	}
	if v0.ID == v1.ID || v1.CodeSHA256 != image(1).SHA256 || v1.Labels[provider.LabelSemver] != "1.0.0" {
		t.Errorf("versions %+v, %+v", v0, v1)
	}
	// The record is on the revision itself as well.
	conn, err := e.srv.Conn()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rev, err := runpb.NewRevisionsClient(conn).GetRevision(ctx, &runpb.GetRevisionRequest{Name: "projects/" + e.srv.Project() + "/locations/" + e.srv.Location() + "/services/" + fn + "/revisions/" + v1.ID})
	if err != nil {
		t.Fatal(err)
	}
	if a := rev.Annotations[gcprun.AnnotationVersion]; !strings.Contains(a, `"slipway.dev/semver":"1.0.0"`) || !strings.Contains(a, image(1).SHA256) {
		t.Errorf("revision annotation %s = %q, want the record", gcprun.AnnotationVersion, a)
	}
	e.srv.ResetRequests()
	again, err := e.p.Publish(ctx, fn, in)
	if err != nil || again.ID != v1.ID {
		t.Fatalf("republish: %v, %v; want %s", again.ID, err, v1.ID)
	}
	if got := methods(e.srv.Requests()); slices.Contains(got, "UpdateService") {
		t.Errorf("republish wrote: %v", got)
	}
	e.srv.ResetRequests()
	_, err = e.p.Publish(ctx, fn, input(0))
	if !errors.Is(err, provider.ErrUnsupported) || len(e.srv.Requests()) != 0 {
		t.Errorf("zip to a Cloud Run service: %v after %d calls, want ErrUnsupported before any", err, len(e.srv.Requests()))
	}
	if _, err := e.p.EventSources(ctx, fn); !errors.Is(err, provider.ErrUnsupported) {
		t.Errorf("EventSources of a Cloud Run service: %v, want ErrUnsupported", err)
	}
}

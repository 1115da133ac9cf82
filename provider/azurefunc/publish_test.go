package azurefunc_test

import (
	"context"
	"errors"
	"testing"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/azurefunc"
	"github.com/slipway-dev/slipway/provider/azurefunc/azuretest"
)

func TestPublishInputs(t *testing.T) {
	e := newEnv(t, azuretest.Options{})
	ctx := context.Background()
	noStore, err := azurefunc.New(azuretest.Subscription, azuretest.ResourceGroup, e.srv.Credential(), azurefunc.Options{}, e.srv.ClientOptions())
	must(t, err)
	const sha = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
	for _, tt := range []struct {
		name string
		p    *azurefunc.Provider
		in   provider.PublishInput
		want error
	}{
		{"zip without a package store", noStore, zipIn("x"), provider.ErrUnsupported},
		{"image", e.p, provider.PublishInput{Artifact: provider.Artifact{Image: "registry.example/checkout@sha256:" + sha}}, provider.ErrUnsupported},
		{"uri not https", e.p, provider.PublishInput{Artifact: provider.Artifact{URI: "s3://bucket/key.zip"}}, provider.ErrInvalid},
		{"managed setting", e.p, provider.PublishInput{Artifact: provider.Artifact{URI: "https://a.example/p.zip"}, Config: provider.Config{Environment: map[string]string{"WEBSITE_RUN_FROM_PACKAGE": "1"}}}, provider.ErrInvalid},
		{"zip hash mismatch", e.p, provider.PublishInput{Artifact: provider.Artifact{Zip: []byte("PK"), SHA256: sha}}, provider.ErrInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.srv.ResetOps()
			_, err := tt.p.Publish(ctx, fn, tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Publish: %v, want %v", err, tt.want)
			}
			if ops := e.srv.Ops(); len(ops) != 0 {
				t.Errorf("a refused Publish made calls: %v", ops)
			}
		})
	}

	// A URI is used as given; with no hash the URI is the code's identity.
	in := provider.PublishInput{Artifact: provider.Artifact{URI: "https://acct.blob.core.windows.net/pkgs/checkout.zip?sv=x"}, Labels: map[string]string{provider.LabelSemver: "1.0.0"}}
	v, err := e.p.Publish(ctx, fn, in)
	must(t, err)
	if v.CodeSHA256 != "" {
		t.Errorf("CodeSHA256 = %q for a URI without a hash", v.CodeSHA256)
	}
	// Content-addressed IDs: another adapter (another CI job) publishing
	// the same thing finds the same version.
	again, err := newProvider(t, e.srv, e.clock).Publish(ctx, fn, in)
	must(t, err)
	if again.ID != v.ID {
		t.Errorf("a second adapter published %s, want the existing %s", again.ID, v.ID)
	}
	r := e.set(t, provider.To("production", v.ID))
	if got := e.settings(t, "")["WEBSITE_RUN_FROM_PACKAGE"]; got != in.Artifact.URI {
		t.Errorf("production runs package %q, want the URI as given", got)
	}
	// Deleting a version whose package the adapter did not store leaves
	// the package alone: the emulator's package host refuses to delete a
	// URL that is not its own, so a DeleteVersion that tried would fail.
	w, err := e.p.Publish(ctx, fn, zipIn("next"))
	must(t, err)
	e.set(t, rev(provider.To("production", w.ID), r.Revision))
	must(t, e.p.DeleteVersion(ctx, fn, v.ID))
	if _, err := e.p.Version(ctx, fn, v.ID); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Version after delete: %v", err)
	}
	if err := e.srv.Packages().Delete(ctx, in.Artifact.URI); err == nil {
		t.Fatal("the emulator's package host deleted a foreign URL: the check above proves nothing")
	}
}

// DeleteVersion's cost is what Capabilities.DeleteRequests states, for an
// app with no slot besides production.
func TestDeleteRequests(t *testing.T) {
	e := newEnv(t, azuretest.Options{})
	v := e.publish(t, "v1", "v2")
	e.srv.ResetOps()
	must(t, e.p.DeleteVersion(context.Background(), fn, v[0]))
	if got, want := len(e.srv.Ops()), e.p.Capabilities().DeleteRequests; got != want {
		t.Errorf("DeleteVersion sent %d requests %v, Capabilities().DeleteRequests = %d", got, e.srv.Ops(), want)
	}
}

package release_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/release"
	"github.com/slipway-dev/slipway/semver"
)

const (
	schemaV1 = `{"type":"object","required":["orderId","customerId"],"properties":{"orderId":{"type":"string"},"customerId":{"type":"string"},"note":{"type":"string"}}}`
	// schemaV2 drops the required customerId.
	schemaV2 = `{"type":"object","required":["orderId"],"properties":{"orderId":{"type":"string"},"note":{"type":"string"}}}`
	// schemaV1b adds an optional property to schemaV1.
	schemaV1b = `{"type":"object","required":["orderId","customerId"],"properties":{"orderId":{"type":"string"},"customerId":{"type":"string"},"note":{"type":"string"},"channel":{"type":"string"}}}`
)

func TestPublishSchemaBump(t *testing.T) {
	ctx := context.Background()
	p := newMemory(t)
	minor := semver.Minor
	steps := []struct {
		name   string
		req    release.PublishRequest
		want   string
		reason string // substring of Published.Bump.Reason; "" = no decision
		err    error
	}{
		{name: "first release: nothing to compare", req: release.PublishRequest{Artifact: zipArtifact("a"), Commits: []string{"feat: hi"},
			Schema: &release.InputSchema{Candidate: []byte(schemaV1)}}, want: "0.1.0"},
		{name: "removed required field is major despite a fix commit", req: release.PublishRequest{Artifact: zipArtifact("b"), Commits: []string{"fix: tidy"},
			Schema: &release.InputSchema{Previous: []byte(schemaV1), Candidate: []byte(schemaV2)}},
			want: "1.0.0", reason: "major: the input schema breaks callers (property removed at customerId); the commits call for patch"},
		{name: "optional property lifts a fix to minor", req: release.PublishRequest{Artifact: zipArtifact("c"), Commits: []string{"fix: x"},
			Schema: &release.InputSchema{Previous: []byte(schemaV1), Candidate: []byte(schemaV1b)}},
			want: "1.1.0", reason: "minor: the input schema adds to what callers may send (optional property added at channel)"},
		{name: "explicit level is lifted by a breaking schema", req: release.PublishRequest{Artifact: zipArtifact("d"), Level: &minor,
			Schema: &release.InputSchema{Previous: []byte(schemaV1), Candidate: []byte(schemaV2)}},
			want: "2.0.0", reason: "major: the input schema overrides the requested minor"},
		{name: "unchanged schema and no release commits: no release", req: release.PublishRequest{Artifact: zipArtifact("e"), Commits: []string{"docs: x"},
			Schema: &release.InputSchema{Previous: []byte(schemaV2), Candidate: []byte(schemaV2)}}, err: semver.ErrNoRelease},
		{name: "candidate that is not a schema", req: release.PublishRequest{Artifact: zipArtifact("f"), Commits: []string{"fix: x"},
			Schema: &release.InputSchema{Previous: []byte(schemaV2), Candidate: []byte(`{"type":7}`)}}, err: provider.ErrInvalid},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			got, err := release.Publish(ctx, p, "fn", st.req)
			if st.err != nil {
				if !errors.Is(err, st.err) {
					t.Fatalf("err = %v, want %v", err, st.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Semver.String() != st.want {
				t.Errorf("semver = %s, want %s", got.Semver, st.want)
			}
			switch {
			case st.reason == "" && got.Bump != nil:
				t.Errorf("unexpected bump decision %+v", got.Bump)
			case st.reason != "" && (got.Bump == nil || !strings.Contains(got.Bump.Reason, st.reason)):
				t.Errorf("bump = %+v, want reason containing %q", got.Bump, st.reason)
			}
		})
	}
}

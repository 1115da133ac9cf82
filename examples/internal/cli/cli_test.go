package cli_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/examples/internal/cli"
	"github.com/slipway-dev/slipway/provider"
)

func TestLabels(t *testing.T) {
	for _, tt := range []struct {
		semver, commit string
		want           map[string]string
	}{
		{"", "", map[string]string{}},
		{"1.2.3", "", map[string]string{provider.LabelSemver: "1.2.3"}},
		{"", "abc", map[string]string{provider.LabelCommit: "abc"}},
		{"1.2.3", "abc", map[string]string{provider.LabelSemver: "1.2.3", provider.LabelCommit: "abc"}},
	} {
		if diff := cmp.Diff(tt.want, cli.Labels(tt.semver, tt.commit)); diff != "" {
			t.Errorf("Labels(%q, %q) (-want +got):\n%s", tt.semver, tt.commit, diff)
		}
	}
}

func TestPlan(t *testing.T) {
	steps := []canary.Step{{Weight: 1000, Bake: 5 * time.Minute}, {Weight: provider.AllTraffic}}
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	split := provider.Capabilities{Granularity: 1, SplitRoutes: []string{"live"}}
	if err := cli.Plan(log, split, "live", "1", "2", steps); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(buf.String(), "msg=plan"); got != 2 {
		t.Errorf("logged %d plan lines, want 2:\n%s", got, buf.String())
	}
	noSplit := provider.Capabilities{Granularity: 1, SplitRoutes: []string{"other"}}
	if err := cli.Plan(log, noSplit, "live", "1", "2", steps); !errors.Is(err, provider.ErrUnsupported) {
		t.Errorf("Plan on a route that may not split = %v, want ErrUnsupported", err)
	}
}

package retention_test

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/retention"
)

// t0 is the publication time of version "1" in the tables below; version n
// was published n-1 days later.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// versions returns versions "1".."n", one a day from t0, with the semver
// labels given (in order; "" for none).
func versions(n int, semvers ...string) []provider.Version {
	vs := make([]provider.Version, n)
	for i := range vs {
		vs[i] = provider.Version{ID: strconv.Itoa(i + 1), Created: t0.Add(time.Duration(i) * 24 * time.Hour)}
		if i < len(semvers) && semvers[i] != "" {
			vs[i].Labels = map[string]string{provider.LabelSemver: semvers[i]}
		}
	}
	return vs
}

func route(alias string, weights ...any) provider.Route {
	r := provider.Route{Alias: alias}
	for i := 0; i < len(weights); i += 2 {
		r.Weights = append(r.Weights, provider.Weight{Version: weights[i].(string), BasisPoints: weights[i+1].(int)})
	}
	return r
}

// lines renders a function plan one version a line: "ID action
// rule: detail | rule: detail", then "note: …" lines.
func lines(fp retention.FunctionPlan) []string {
	var out []string
	for _, d := range fp.Versions {
		rs := make([]string, len(d.Reasons))
		for i, r := range d.Reasons {
			rs[i] = string(r.Rule) + ": " + r.Detail
		}
		out = append(out, fmt.Sprintf("%s %s %s", d.Version, d.Action, strings.Join(rs, " | ")))
	}
	for _, n := range fp.Notes {
		out = append(out, "note: "+n)
	}
	return out
}

func TestDecideRules(t *testing.T) {
	now := t0.Add(10 * 24 * time.Hour) // version 6 is 5 days old
	tests := []struct {
		name string
		snap retention.Snapshot
		pol  retention.Policy
		want []string
	}{{
		name: "keep last 3",
		snap: retention.Snapshot{Versions: versions(6), UsageUnknown: true},
		pol:  retention.Policy{KeepLast: 3},
		want: []string{
			"1 delete none: older than the last 3",
			"2 delete none: older than the last 3",
			"3 delete none: older than the last 3",
			"4 keep last: #3 of the last 3",
			"5 keep last: #2 of the last 3",
			"6 keep newest: newest version | last: #1 of the last 3",
			"note: usage not checked: the provider cannot report versions in use outside routes",
		},
	}, {
		name: "keep last more than there are",
		snap: retention.Snapshot{Versions: versions(2)},
		pol:  retention.Policy{KeepLast: 5},
		want: []string{
			"1 keep last: #2 of the last 5",
			"2 keep newest: newest version | last: #1 of the last 5",
		},
	}, {
		name: "keep younger than 7 days",
		snap: retention.Snapshot{Versions: versions(6)},
		pol:  retention.Policy{KeepWithin: 7 * 24 * time.Hour},
		want: []string{
			"1 delete none: age 10d, over 7d",
			"2 delete none: age 9d, over 7d",
			"3 delete none: age 8d, over 7d",
			"4 delete none: age 7d, over 7d", // exactly 7 days is not younger
			"5 keep within: age 6d, within 7d",
			"6 keep newest: newest version | within: age 5d, within 7d",
		},
	}, {
		name: "route primary, weighted and zero-weight targets",
		snap: retention.Snapshot{
			Versions: versions(6),
			Routes:   []provider.Route{route("live", "4", 9000, "2", 1000), route("canary", "3", 10000, "1", 0)},
		},
		pol: retention.Policy{AllowDeleteAllUnreferenced: true},
		want: []string{
			"1 keep route: alias canary (0%)",
			"2 keep route: alias live (10%)",
			"3 keep route: alias canary (100%)",
			"4 keep route: alias live (90%)",
			"5 delete none: not routed, pinned, a rollback point or in use",
			"6 keep newest: newest version",
		},
	}, {
		name: "a route naming a version that does not exist keeps nothing",
		snap: retention.Snapshot{Versions: versions(3), Routes: []provider.Route{route("live", "9", 9950, "1", 50)}},
		pol:  retention.Policy{AllowDeleteAllUnreferenced: true},
		want: []string{
			"1 keep route: alias live (0.5%)",
			"2 delete none: not routed, pinned, a rollback point or in use",
			"3 keep newest: newest version",
		},
	}, {
		name: "pinned",
		snap: retention.Snapshot{Function: "orders", Versions: versions(4)},
		pol:  retention.Policy{KeepLast: 1, Pinned: map[string][]string{"orders": {"2", "99"}, "other": {"1"}}},
		want: []string{
			"1 delete none: older than the last 1",
			"2 keep pinned: pinned",
			"3 delete none: older than the last 1",
			"4 keep newest: newest version | last: #1 of the last 1",
			"note: pinned version 99 does not exist",
		},
	}, {
		name: "last K rollback points of each alias",
		snap: retention.Snapshot{
			Function: "orders",
			Versions: versions(8),
			Routes:   []provider.Route{route("live", "7", 10000), route("beta", "8", 10000)},
		},
		pol: retention.Policy{
			KeepLast: 1,
			RollbackPoints: map[string]retention.RouteHistory{"orders": {
				"live": {"6", "5", "6", "4", "3"}, // 6 again does not count twice
				"beta": {"12", "2"},               // 12 is gone, and still counts
			}},
			KeepRollbackPoints: 2,
		},
		want: []string{
			"1 delete none: older than the last 1",
			"2 keep rollback: rollback point 2 of alias beta",
			"3 delete none: older than the last 1",
			"4 delete none: older than the last 1",
			"5 keep rollback: rollback point 2 of alias live",
			"6 keep rollback: rollback point 1 of alias live",
			"7 keep route: alias live (100%)",
			"8 keep route: alias beta (100%) | newest: newest version | last: #1 of the last 1",
			"note: rollback point 1 of alias beta, version 12, no longer exists",
		},
	}, {
		name: "every rollback point when K is 0",
		snap: retention.Snapshot{Function: "f", Versions: versions(5)},
		pol:  retention.Policy{KeepLast: 1, RollbackPoints: map[string]retention.RouteHistory{"f": {"live": {"4", "3", "2", "1"}}}},
		want: []string{
			"1 keep rollback: rollback point 4 of alias live",
			"2 keep rollback: rollback point 3 of alias live",
			"3 keep rollback: rollback point 2 of alias live",
			"4 keep rollback: rollback point 1 of alias live",
			"5 keep newest: newest version | last: #1 of the last 1",
		},
	}, {
		name: "rollback points of other functions only",
		snap: retention.Snapshot{Function: "f", Versions: versions(2)},
		pol:  retention.Policy{KeepLast: 1, RollbackPoints: map[string]retention.RouteHistory{"g": {"live": {"1"}}}},
		want: []string{
			"1 delete none: older than the last 1",
			"2 keep newest: newest version | last: #1 of the last 1",
			"note: no rollback points supplied for this function",
		},
	}, {
		name: "usage reported by the provider",
		snap: retention.Snapshot{Versions: versions(4), Usage: []provider.Usage{
			{Version: "1", Reason: "provisioned concurrency 5"},
			{Version: "2", Reason: "event source arn:aws:sqs:eu-west-1:1:q"},
		}},
		pol: retention.Policy{KeepLast: 1},
		want: []string{
			"1 keep usage: in use: provisioned concurrency 5",
			"2 keep usage: in use: event source arn:aws:sqs:eu-west-1:1:q",
			"3 delete none: older than the last 1",
			"4 keep newest: newest version | last: #1 of the last 1",
		},
	}, {
		name: "semver range: every 1.x (prereleases excluded, non-semver ignored)",
		snap: retention.Snapshot{Versions: versions(7, "0.9.0", "1.0.0", "1.1.0", "1.2.0-rc.1", "not-semver", "", "2.0.0")},
		pol:  retention.Policy{KeepLabels: []retention.LabelRule{{Range: "1.x"}}},
		want: []string{
			"1 delete none: no label rule matches",
			`2 keep label: semver 1.0.0 in "1.x"`,
			`3 keep label: semver 1.1.0 in "1.x"`,
			"4 delete none: no label rule matches",
			"5 delete none: no label rule matches",
			"6 delete none: no label rule matches",
			"7 keep newest: newest version",
		},
	}, {
		name: "latest patch of each minor",
		snap: retention.Snapshot{Versions: versions(8, "1.0.0", "1.0.1", "1.1.0", "1.1.2", "1.1.1", "1.1.2", "v2.0.0", "1.0.0")},
		pol:  retention.Policy{KeepLabels: []retention.LabelRule{{Latest: retention.LatestOfMinor}}},
		want: []string{
			"1 delete none: no label rule matches",
			"2 keep label: semver 1.0.1 is the latest of 1.0.x",
			"3 delete none: no label rule matches",
			"4 delete none: no label rule matches", // 1.1.2 again later: the later one is the latest
			"5 delete none: no label rule matches", // published after 1.1.2, yet lower
			"6 keep label: semver 1.1.2 is the latest of 1.1.x",
			"7 keep label: semver v2.0.0 is the latest of 2.0.x",
			"8 keep newest: newest version",
		},
	}, {
		name: "latest of each major within a range",
		snap: retention.Snapshot{Versions: versions(6, "1.0.0", "1.4.0", "2.0.0", "2.1.0", "3.0.0", "0.1.0")},
		pol:  retention.Policy{KeepLabels: []retention.LabelRule{{Range: "<3", Latest: retention.LatestOfMajor}}},
		want: []string{
			"1 delete none: no label rule matches",
			`2 keep label: semver 1.4.0 in "<3" is the latest of 1.x`,
			"3 delete none: no label rule matches",
			`4 keep label: semver 2.1.0 in "<3" is the latest of 2.x`,
			"5 delete none: no label rule matches",
			`6 keep newest: newest version | label: semver 0.1.0 in "<3" is the latest of 0.x`,
		},
	}, {
		name: "latest of each release keeps the release over its prereleases",
		snap: retention.Snapshot{Versions: versions(5, "1.0.0-rc.1", "1.0.0", "1.0.1-rc.1", "1.0.1-rc.2", "")},
		pol:  retention.Policy{KeepLabels: []retention.LabelRule{{Latest: retention.LatestOfPatch}}},
		want: []string{
			"1 delete none: no label rule matches",
			"2 keep label: semver 1.0.0 is the latest of 1.0.0",
			"3 delete none: no label rule matches",
			"4 keep label: semver 1.0.1-rc.2 is the latest of 1.0.1",
			"5 keep newest: newest version",
		},
	}, {
		name: "label by key and value, and by key alone",
		snap: func() retention.Snapshot {
			vs := versions(4)
			vs[0].Labels = map[string]string{"env": "prod"}
			vs[1].Labels = map[string]string{"env": "dev"}
			vs[2].Labels = map[string]string{"hold": ""}
			return retention.Snapshot{Versions: vs}
		}(),
		pol: retention.Policy{KeepLabels: []retention.LabelRule{{Key: "env", Equals: "prod"}, {Key: "hold"}}},
		want: []string{
			"1 keep label: label env=prod",
			"2 delete none: no label rule matches",
			"3 keep label: label hold=",
			"4 keep newest: newest version",
		},
	}, {
		name: "every reason is listed and the deletion reason names every rule",
		snap: retention.Snapshot{
			Function: "f",
			Versions: versions(5, "1.0.0", "1.1.0", "2.0.0", "2.0.1", "2.0.2"),
			Routes:   []provider.Route{route("live", "2", 10000)},
			Usage:    []provider.Usage{{Version: "2", Reason: "provisioned concurrency 1"}},
		},
		pol: retention.Policy{
			KeepLast: 1, KeepWithin: 6 * 24 * time.Hour,
			KeepLabels: []retention.LabelRule{{Range: "^1"}},
			Pinned:     map[string][]string{"f": {"2"}},
		},
		want: []string{
			`1 keep label: semver 1.0.0 in "^1"`,
			`2 keep route: alias live (100%) | pinned: pinned | usage: in use: provisioned concurrency 1 | label: semver 1.1.0 in "^1"`,
			"3 delete none: older than the last 1; age 8d, over 6d; no label rule matches",
			"4 delete none: older than the last 1; age 7d, over 6d; no label rule matches",
			"5 keep newest: newest version | last: #1 of the last 1", // 6 days old: not within 6 days
		},
	}, {
		name: "no versions",
		snap: retention.Snapshot{Function: "empty"},
		pol:  retention.Policy{KeepLast: 1},
		want: nil,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.pol.Validate(); err != nil {
				t.Fatalf("policy does not validate: %v", err)
			}
			got := lines(retention.Decide(tt.snap, tt.pol, now))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decide (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDecideDeterministic: the plan does not depend on the order in which
// the provider lists versions and routes, nor on map iteration.
func TestDecideDeterministic(t *testing.T) {
	now := t0.Add(30 * 24 * time.Hour)
	vs := versions(20, "1.0.0", "1.0.1", "1.1.0", "1.2.0", "1.2.1", "2.0.0", "2.0.1", "2.1.0")
	snap := retention.Snapshot{
		Function: "f",
		Versions: vs,
		Routes:   []provider.Route{route("live", "9", 9000, "3", 1000), route("beta", "12", 10000), route("a", "5", 10000)},
		Usage:    []provider.Usage{{Version: "4", Reason: "provisioned concurrency"}, {Version: "1", Reason: "event source q"}},
	}
	pol := retention.Policy{
		KeepLast:   3,
		KeepWithin: 14 * 24 * time.Hour,
		KeepLabels: []retention.LabelRule{{Latest: retention.LatestOfMinor}, {Range: "^2"}},
		Pinned:     map[string][]string{"f": {"7", "6"}},
		RollbackPoints: map[string]retention.RouteHistory{"f": {
			"live": {"8", "2"}, "beta": {"11", "10"}, "a": {"13", "9"}, "z": {"14"},
		}},
		KeepRollbackPoints: 1,
	}
	want := retention.Decide(snap, pol, now)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		s := snap
		s.Versions = append([]provider.Version(nil), snap.Versions...)
		s.Routes = append([]provider.Route(nil), snap.Routes...)
		s.Usage = append([]provider.Usage(nil), snap.Usage...)
		rng.Shuffle(len(s.Versions), func(i, j int) { s.Versions[i], s.Versions[j] = s.Versions[j], s.Versions[i] })
		rng.Shuffle(len(s.Routes), func(i, j int) { s.Routes[i], s.Routes[j] = s.Routes[j], s.Routes[i] })
		rng.Shuffle(len(s.Usage), func(i, j int) { s.Usage[i], s.Usage[j] = s.Usage[j], s.Usage[i] })
		got := retention.Decide(s, pol, now)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("Decide after shuffling the input (-want +got):\n%s", diff)
		}
	}
}

// BenchmarkDecide plans one function of 100 versions under a policy that
// uses every rule.
func BenchmarkDecide(b *testing.B) {
	semvers := make([]string, 100)
	for i := range semvers {
		semvers[i] = fmt.Sprintf("1.%d.%d", i/10, i%10)
	}
	snap := retention.Snapshot{
		Function: "f",
		Versions: versions(100, semvers...),
		Routes:   []provider.Route{route("live", "98", 9000, "100", 1000), route("beta", "99", 10000)},
		Usage:    []provider.Usage{{Version: "50", Reason: "provisioned concurrency"}},
	}
	pol := retention.Policy{
		KeepLast: 5, KeepWithin: 30 * 24 * time.Hour,
		KeepLabels:     []retention.LabelRule{{Latest: retention.LatestOfMinor}, {Range: "^1.9"}},
		Pinned:         map[string][]string{"f": {"7"}},
		RollbackPoints: map[string]retention.RouteHistory{"f": {"live": {"97", "96", "95"}}},
	}
	now := t0.Add(200 * 24 * time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		retention.Decide(snap, pol, now)
	}
}

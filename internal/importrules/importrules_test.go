package importrules_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/slipway-dev/slipway/internal/importrules"
)

// goList returns, for every package of the module and its test variants,
// its dependencies (transitive: go list's Deps, what `go list -deps`
// prints for it).
func goList(t *testing.T) map[string][]string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	cmd := exec.Command("go", "list", "-test", "-json=ImportPath,Deps,Error", "./...")
	cmd.Dir = "../.." // the module's root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	graph := map[string][]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Deps       []string
			Error      *struct{ Err string }
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.Error != nil {
			t.Fatalf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		graph[p.ImportPath] = p.Deps
	}
	return graph
}

// The module's packages, their tests included, keep every rule.
func TestModuleKeepsTheRules(t *testing.T) {
	graph := goList(t)
	for _, want := range []string{"provider", "canary", "semver", "journal", "notify", "release", "retention"} {
		if _, ok := graph[importrules.Module+"/"+want]; !ok {
			t.Fatalf("go list did not list package %s: the check would prove nothing", want)
		}
	}
	for _, v := range importrules.Check(graph, importrules.Rules) {
		t.Error(v)
	}
}

// Check finds each kind of violation in a synthetic graph, and passes the
// imports the rules allow.
func TestCheck(t *testing.T) {
	m := func(p string) string { return importrules.Module + "/" + p }
	tests := []struct {
		name  string
		pkg   string   // as go list prints it
		deps  []string // as go list prints them
		wants []string // "pkg -> dep" of each violation
	}{
		{"adapter imports the contract", m("provider/awslambda"), []string{m("provider"), "github.com/aws/aws-sdk-go-v2/aws"}, nil},
		{"adapter imports canary", m("provider/awslambda"), []string{m("provider"), m("canary")}, []string{"provider/awslambda -> canary"}},
		{"adapter test imports retention", m("provider/awslambda_test") + " [" + m("provider/awslambda.test") + "]", []string{m("retention"), m("semver")},
			[]string{"provider/awslambda -> retention"}},
		{"adapter test binary imports release", m("provider/gcprun.test"), []string{m("release")}, []string{"provider/gcprun -> release"}},
		{"contract imports the journal", m("provider"), []string{m("journal")}, []string{"provider -> journal"}},
		{"adapter imports cmd", m("provider/azurefunc"), []string{m("cmd/slipway")}, []string{"provider/azurefunc -> cmd/slipway"}},
		{"canary imports release", m("canary"), []string{m("provider"), m("release")}, []string{"canary -> release"}},
		{"canary imports its statistics", m("canary"), []string{m("canary/stats"), m("provider")}, nil},
		{"retention imports release", m("retention"), []string{m("release")}, []string{"retention -> release"}},
		{"retention imports semver", m("retention"), []string{m("semver"), m("provider")}, nil},
		{"semver imports the contract", m("semver"), []string{m("provider")}, []string{"semver -> provider"}},
		{"semver imports the standard library", m("semver"), []string{"strings", "strconv"}, nil},
		{"journal imports the contract", m("journal"), []string{m("provider"), "encoding/json"}, nil},
		{"journal imports release", m("journal"), []string{m("provider"), m("release")}, []string{"journal -> release"}},
		{"journal imports canary", m("journal"), []string{m("canary")}, []string{"journal -> canary"}},
		{"journal's tests import its suite", m("journal_test") + " [" + m("journal.test") + "]", []string{m("journal/journaltest"), m("provider")}, nil},
		{"journal suite imports memory", m("journal/journaltest"), []string{m("provider/memory")}, []string{"journal/journaltest -> provider/memory"}},
		{"notify imports release", m("notify"), []string{m("provider"), m("release")}, []string{"notify -> release"}},
		{"notify imports the contract", m("notify"), []string{m("provider")}, nil},
		{"statistics import canary", m("canary/stats"), []string{m("canary")}, []string{"canary/stats -> canary"}},
		{"statistics import the contract", m("canary/stats"), []string{m("provider")}, []string{"canary/stats -> provider"}},
		{"release imports everything below it", m("release"), []string{m("canary"), m("journal"), m("notify"), m("retention"), m("semver"), m("provider")}, nil},
		{"release imports fleet", m("release"), []string{m("fleet")}, []string{"release -> fleet"}},
		{"canary imports fleet", m("canary"), []string{m("fleet")}, []string{"canary -> fleet"}},
		{"fleet imports release, canary, the journal", m("fleet"), []string{m("release"), m("canary"), m("journal"), m("provider")}, nil},
		{"metric source imports the contract", m("metrics/prometheus"), []string{m("provider"), m("provider/providertest")}, nil},
		{"metric source imports canary", m("metrics/datadog"), []string{m("provider"), m("canary")}, []string{"metrics/datadog -> canary"}},
		{"emulator support imports the contract", m("provider/internal/httpfn"), []string{m("provider"), "net/http"}, nil},
		{"emulator support imports an adapter", m("provider/internal/httpfn"), []string{m("provider/gcprun")}, []string{"provider/internal/httpfn -> provider/gcprun"}},
		{"metric sources share an internal package", m("metrics/datadog"), []string{m("metrics/internal/templates"), m("provider")}, nil},
		{"a package outside the module", "example.com/other", []string{m("release")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, v := range importrules.Check(map[string][]string{tt.pkg: tt.deps}, importrules.Rules) {
				got = append(got, v.Pkg+" -> "+v.Dep)
				if !strings.Contains(v.String(), v.Rule.Why) {
					t.Errorf("%q does not say why", v.String())
				}
			}
			if diff := cmp.Diff(tt.wants, got); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	for _, tt := range []struct {
		pattern, rel string
		want         bool
	}{
		{"provider/...", "provider", true},
		{"provider/...", "provider/memory", true},
		{"provider/...", "providers", false},
		{"provider", "provider/memory", false},
		{"journal", "journal", true},
	} {
		if got := importrules.Match(tt.pattern, tt.rel); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.rel, got, tt.want)
		}
	}
}

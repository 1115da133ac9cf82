// Package importrules states the "never" rules of the module's package
// graph (see the root doc.go) as data, and checks a graph against them.
// Its test runs the check over `go list -deps -test ./...`, so CI fails
// when an import breaks a rule.
package importrules

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Module is the module path the rules' package patterns are relative to.
const Module = "github.com/slipway-dev/slipway"

// Rule restricts what the packages matching Pkg may depend on, directly
// or not. A pattern is a package path relative to Module; a trailing
// "/..." matches the package and every package under it.
type Rule struct {
	// Pkg is the pattern of the packages the rule restricts.
	Pkg string
	// Never lists patterns of packages they must not depend on.
	Never []string
	// Only, when not nil, lists patterns of the module's packages they
	// may depend on; every other package of the module is forbidden
	// (packages outside the module are not restricted). A package always
	// may depend on the packages its own Pkg pattern matches.
	Only []string
	// Why says what the rule protects, for the failure message.
	Why string
}

// Rules are the module's rules, from the package graph in doc.go.
var Rules = []Rule{
	{Pkg: "provider/...", Never: []string{"canary/...", "retention/...", "release/...", "journal/...", "notify/...", "cmd/...", "fleet/...", "internal/..."},
		Why: "adapters implement the contract and know nothing of what drives them"},
	{Pkg: "canary/...", Never: []string{"release/...", "retention/...", "journal/...", "notify/...", "cmd/...", "fleet/..."},
		Why: "the canary machine and runner know routes and metrics, not the release workflow"},
	{Pkg: "retention/...", Never: []string{"release/...", "canary/...", "journal/...", "notify/...", "cmd/...", "fleet/..."},
		Why: "retention plans and prunes versions on the contract alone"},
	{Pkg: "release/...", Never: []string{"fleet/...", "cmd/..."},
		Why: "fleet composes releases of many targets; one release knows nothing of the fleet"},
	{Pkg: "semver/...", Only: []string{},
		Why: "semver is a leaf: version numbers need nothing else"},
	{Pkg: "canary/stats/...", Only: []string{},
		Why: "the statistics are a leaf library the checks import"},
	{Pkg: "journal/...", Only: []string{"provider"},
		Why: "the journal stores routes (provider) and nothing of the workflow"},
	{Pkg: "notify/...", Only: []string{"provider"},
		Why: "notifications know nothing above the provider contract"},
	{Pkg: "metrics/...", Only: []string{"provider", "provider/providertest"},
		Why: "a metric source implements provider.Metrics over its service's API and knows nothing of what reads it"},
	{Pkg: "provider", Only: []string{},
		Why: "the contract imports nothing of the module"},
	{Pkg: "provider/internal/...", Only: []string{"provider"},
		Why: "what the adapters and emulators share knows nothing above the provider contract"},
	{Pkg: "metrics/...", Only: []string{"provider/..."},
		Why: "a metric source implements provider.Metrics and depends on provider only (its tests on providertest)"},
}

// Violation is one dependency a rule forbids.
type Violation struct {
	Pkg, Dep string // relative to Module
	Rule     Rule
}

func (v Violation) String() string {
	return fmt.Sprintf("%s depends on %s: rule for %s (%s)", v.Pkg, v.Dep, v.Rule.Pkg, v.Rule.Why)
}

// Match reports whether the relative package path rel matches pattern.
func Match(pattern, rel string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return rel == base || strings.HasPrefix(rel, base+"/")
	}
	return rel == pattern
}

// Normalize turns a path printed by `go list -test` into the module
// relative path of the package it belongs to, and false for a package
// outside the module: "M/p_test [M/p.test]" and "M/p.test" are p.
func Normalize(path string) (string, bool) {
	path, _, _ = strings.Cut(path, " ")
	path = strings.TrimSuffix(path, ".test")
	path = strings.TrimSuffix(path, "_test")
	if path == Module {
		return "", true
	}
	rel, ok := strings.CutPrefix(path, Module+"/")
	return rel, ok
}

// Check returns the dependencies of graph that rules forbid, sorted, each
// once (with the first rule it breaks).
// graph maps each package to its dependencies (transitive, as go list
// -deps gives them), both as printed by go list: import paths, test
// variants included.
func Check(graph map[string][]string, rules []Rule) []Violation {
	var out []Violation
	seen := map[string]bool{}
	for pkg, deps := range graph {
		rel, ok := Normalize(pkg)
		if !ok {
			continue
		}
		for _, d := range deps {
			drel, ok := Normalize(d)
			if !ok || drel == rel {
				continue
			}
			for _, r := range rules {
				if !Match(r.Pkg, rel) || Match(r.Pkg, drel) {
					continue
				}
				bad := slices.ContainsFunc(r.Never, func(p string) bool { return Match(p, drel) })
				if r.Only != nil && !slices.ContainsFunc(r.Only, func(p string) bool { return Match(p, drel) }) {
					bad = true
				}
				key := rel + "\x00" + drel // one report per dependency, by the first rule it breaks
				if bad && !seen[key] {
					seen[key] = true
					out = append(out, Violation{Pkg: rel, Dep: drel, Rule: r})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Pkg != b.Pkg {
			return a.Pkg < b.Pkg
		}
		if a.Dep != b.Dep {
			return a.Dep < b.Dep
		}
		return a.Rule.Pkg < b.Rule.Pkg
	})
	return out
}

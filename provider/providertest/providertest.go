package providertest

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// Options adjusts the suite to a platform. The zero value suits the
// in-memory provider.
type Options struct {
	// Function is the prefix of the function names the suite uses; "" means
	// "conformance". Each subtest uses Function + "-" + its own name in
	// lower case, so subtests sharing one emulator or account do not meet.
	Function string
	// Setup, when set, is called once for every function a subtest uses,
	// before the subtest's first call, for example to create the function on
	// a platform where Publish needs an existing one. It is not called for
	// the function name the suite uses to check ErrNotFound.
	Setup func(t *testing.T, p provider.Provider, fn string)
	// Artifact returns the i-th artifact (i ≥ 0). Distinct i must give
	// distinct code. Nil means a small zip archive holding a file
	// "bootstrap" whose contents name i, with its SHA256 set.
	Artifact func(i int) provider.Artifact
	// Config returns a valid configuration for the platform. Nil means
	// Runtime "provided.al2023", Handler "bootstrap", MemoryMB 128 and
	// Timeout 3s for every i. The suite derives further distinct
	// configurations from Config(i) by adding an environment variable.
	Config func(i int) provider.Config
	// Versions is how many versions the paging clause publishes; 0 means
	// 120, more than two pages of the platforms' usual page size of 50.
	Versions int
	// SkipSlow skips the paging clause and the concurrency clauses.
	SkipSlow bool
}

// Run runs the conformance suite against the providers newProvider returns,
// with the default Options. newProvider is called once per subtest with the
// subtest's t and must return a fresh, empty provider (or a client of a
// shared platform: every subtest uses its own function names).
func Run(t *testing.T, newProvider func(t *testing.T) provider.Provider) {
	t.Helper()
	RunWith(t, newProvider, Options{})
}

// RunWith is Run with Options.
func RunWith(t *testing.T, newProvider func(t *testing.T) provider.Provider, opts Options) {
	t.Helper()
	s := &suite{
		opts:        opts,
		newProvider: func(t tester) provider.Provider { return newProvider(t.(realT).T) },
	}
	if opts.Setup != nil {
		s.setup = func(t tester, p provider.Provider, fn string) { opts.Setup(t.(realT).T, p, fn) }
	}
	s.run(realT{t})
}

// tester is the part of *testing.T the suite uses. Run passes a realT; the
// package's own tests pass a recorder, so they can show that the suite fails
// a broken provider without failing themselves.
type tester interface {
	Helper()
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	Cleanup(f func())
	Parallel()
	Name() string
	Context() context.Context
	// run runs f as a subtest named name and reports whether it passed.
	run(name string, f func(t tester)) bool
}

// realT adapts *testing.T to tester.
type realT struct{ *testing.T }

func (r realT) run(name string, f func(t tester)) bool {
	return r.T.Run(name, func(t *testing.T) { f(realT{t}) })
}

// suite is one run of the conformance suite.
type suite struct {
	opts        Options
	newProvider func(t tester) provider.Provider
	setup       func(t tester, p provider.Provider, fn string)
}

// clause is one subtest: one rule of the contract.
type clause struct {
	name string
	slow bool
	f    func(e *env)
}

// group is a named set of clauses.
type group struct {
	name    string
	clauses []clause
}

func (s *suite) groups() []group {
	return []group{
		{"Capabilities", capabilityClauses()},
		{"Publish", publishClauses()},
		{"Versions", versionClauses()},
		{"Routes", routeClauses()},
		{"Weights", weightClauses()},
		{"DeleteVersion", deleteClauses()},
		{"Cancel", cancelClauses()},
		{"Invoke", invokeClauses()},
	}
}

func (s *suite) run(t tester) {
	t.Helper()
	for _, g := range s.groups() {
		t.run(g.name, func(t tester) {
			for _, c := range g.clauses {
				t.run(c.name, func(t tester) {
					t.Parallel()
					if c.slow && s.opts.SkipSlow {
						t.Skipf("slow clause skipped: Options.SkipSlow is set")
					}
					c.f(s.env(t, g.name, c.name))
				})
			}
		})
	}
}

// env is what a clause works with: a fresh provider and a function name of
// its own.
type env struct {
	t    tester
	ctx  context.Context
	p    provider.Provider
	caps provider.Capabilities
	s    *suite
	fn   string
}

func (s *suite) env(t tester, groupName, clauseName string) *env {
	p := s.newProvider(t)
	if p == nil {
		t.Fatalf("newProvider returned nil")
	}
	e := &env{t: t, ctx: t.Context(), p: p, caps: p.Capabilities(), s: s}
	e.fn = s.function(strings.ToLower(groupName + "-" + clauseName))
	if s.setup != nil {
		s.setup(t, p, e.fn)
	}
	return e
}

func (s *suite) function(suffix string) string {
	prefix := s.opts.Function
	if prefix == "" {
		prefix = "conformance"
	}
	return prefix + "-" + suffix
}

// second returns a second function for the clause, set up like the first.
func (e *env) second() string {
	fn := e.fn + "-b"
	if e.s.setup != nil {
		e.s.setup(e.t, e.p, fn)
	}
	return fn
}

// missingFunction is a function name no subtest creates.
func (e *env) missingFunction() string { return e.s.function("absent") }

func (s *suite) artifact(i int) provider.Artifact {
	if s.opts.Artifact != nil {
		return s.opts.Artifact(i)
	}
	return zipArtifact(fmt.Sprintf("#!/bin/sh\n# slipway conformance artifact %d\n", i))
}

// zipArtifact returns a zip archive holding one executable file "bootstrap".
// The archive is deterministic: equal contents give equal bytes.
func zipArtifact(contents string) provider.Artifact {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err == nil {
		_, err = w.Write([]byte(contents))
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		// Writing to a bytes.Buffer cannot fail.
		panic("providertest: building a zip artifact: " + err.Error())
	}
	sum := sha256.Sum256(buf.Bytes())
	return provider.Artifact{Zip: buf.Bytes(), SHA256: hex.EncodeToString(sum[:])}
}

func (s *suite) config(i int) provider.Config {
	if s.opts.Config != nil {
		return s.opts.Config(i)
	}
	return provider.Config{Runtime: "provided.al2023", Handler: "bootstrap", MemoryMB: 128, Timeout: 3 * time.Second}
}

// variant returns Config(i) with an extra environment variable, a
// configuration every platform accepts and that differs from Config(i).
func (s *suite) variant(i int, value string) provider.Config {
	c := s.config(i)
	env := make(map[string]string, len(c.Environment)+1)
	for k, v := range c.Environment {
		env[k] = v
	}
	env["SLIPWAY_CONFORMANCE"] = value
	c.Environment = env
	return c
}

// input returns the publish request for the i-th artifact with Config(i).
func (e *env) input(i int) provider.PublishInput {
	return provider.PublishInput{
		Artifact:    e.s.artifact(i),
		Config:      e.s.config(i),
		Description: fmt.Sprintf("conformance version %d", i),
		Labels:      map[string]string{provider.LabelSemver: fmt.Sprintf("1.0.%d", i), provider.LabelCommit: fmt.Sprintf("c%07d", i)},
	}
}

// publish publishes in and fails the clause on error.
func (e *env) publish(in provider.PublishInput) provider.Version {
	e.t.Helper()
	v, err := e.p.Publish(e.ctx, e.fn, in)
	if err != nil {
		e.t.Fatalf("Publish(%q): %v", e.fn, err)
	}
	if v.ID == "" {
		e.t.Fatalf("Publish(%q) returned a version with an empty ID", e.fn)
	}
	return v
}

// publishN publishes n distinct versions (artifacts 0..n-1) and returns
// their IDs in publish order.
func (e *env) publishN(n int) []string {
	e.t.Helper()
	ids := make([]string, n)
	for i := range n {
		ids[i] = e.publish(e.input(i)).ID
	}
	return ids
}

// list collects every version of fn, failing the clause on error.
func (e *env) list(fn string) []provider.Version {
	e.t.Helper()
	var vs []provider.Version
	for v, err := range e.p.Versions(e.ctx, fn) {
		if err != nil {
			e.t.Fatalf("Versions(%q): %v after %d versions", fn, err, len(vs))
		}
		vs = append(vs, v)
	}
	return vs
}

func ids(vs []provider.Version) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.ID
	}
	return out
}

// routes returns every route of e.fn, failing the clause on error.
func (e *env) routes() []provider.Route {
	e.t.Helper()
	rs, err := e.p.Routes(e.ctx, e.fn)
	if err != nil {
		e.t.Fatalf("Routes(%q): %v", e.fn, err)
	}
	return rs
}

// route reads one route, failing the clause on error.
func (e *env) route(alias string) provider.Route {
	e.t.Helper()
	r, err := e.p.Route(e.ctx, e.fn, alias)
	if err != nil {
		e.t.Fatalf("Route(%q, %q): %v", e.fn, alias, err)
	}
	return r
}

// put sets r whether or not the route exists yet: it reads the current
// revision first (a platform may have created the route with the function,
// as Cloud Run does for its traffic split).
func (e *env) put(r provider.Route) provider.Route {
	e.t.Helper()
	cur, err := e.p.Route(e.ctx, e.fn, r.Alias)
	switch {
	case err == nil:
		r.Revision = cur.Revision
	case errors.Is(err, provider.ErrNotFound):
		r.Revision = ""
	default:
		e.t.Fatalf("Route(%q, %q): %v", e.fn, r.Alias, err)
	}
	got, err := e.p.SetRoute(e.ctx, e.fn, r)
	if err != nil {
		e.t.Fatalf("SetRoute(%q, %s): %v", e.fn, routeText(r), err)
	}
	if got.Revision == "" {
		e.t.Errorf("SetRoute(%q, %s) returned an empty revision", e.fn, routeText(r))
	}
	if !got.SameTraffic(r) || got.Alias != r.Alias {
		e.t.Errorf("SetRoute(%q, %s) returned %s", e.fn, routeText(r), routeText(got))
	}
	return got
}

// splitAlias is a route that may split traffic on this platform.
func (e *env) splitAlias() string {
	if e.caps.SplitRoutes != nil {
		if len(e.caps.SplitRoutes) == 0 {
			return ""
		}
		return e.caps.SplitRoutes[0]
	}
	return "live"
}

// pinnedAlias is a route that does not split traffic here, or "" when
// every route may.
func (e *env) pinnedAlias() string {
	if e.caps.SplitRoutes == nil {
		return ""
	}
	for _, a := range []string{"pinned", "pinned-a", "pinned-b"} {
		if !e.caps.CanSplit(a) {
			return a
		}
	}
	return ""
}

// canaryBP is a canary weight the platform can express, or 0 when no route
// may split across two versions.
func (e *env) canaryBP() int {
	if e.splitAlias() == "" || e.caps.MaxRouteVersions == 1 {
		return 0
	}
	g := max(e.caps.Granularity, 1)
	bp := 1000 / g * g
	if bp == 0 {
		bp = g
	}
	if bp >= provider.AllTraffic {
		return 0
	}
	return bp
}

// wantErr checks that err matches target under errors.Is and is (or wraps)
// a *provider.Error naming an operation and the function fn.
func (e *env) wantErr(call string, err, target error, fn string) {
	e.t.Helper()
	if err == nil {
		e.t.Errorf("%s: got no error, want one matching %v", call, target)
		return
	}
	if !errors.Is(err, target) {
		e.t.Errorf("%s: got error %q, want one matching %v under errors.Is", call, err, target)
		return
	}
	var pe *provider.Error
	if !errors.As(err, &pe) {
		e.t.Errorf("%s: error %q is not a *provider.Error (errors.As found none)", call, err)
		return
	}
	if pe.Op == "" || pe.Function != fn {
		e.t.Errorf("%s: *provider.Error{Op: %q, Function: %q}, want a non-empty Op and Function %q", call, pe.Op, pe.Function, fn)
	}
}

// sentinel returns the sentinel of this package err matches.
func sentinel(err error) error {
	for _, s := range []error{provider.ErrInvalid, provider.ErrUnsupported, provider.ErrNotFound, provider.ErrConflict, provider.ErrInUse} {
		if errors.Is(err, s) {
			return s
		}
	}
	return err
}

// routeText renders a route for a failure message: its alias, then
// provider.Route.String.
func routeText(r provider.Route) string { return fmt.Sprintf("%q %s", r.Alias, r) }

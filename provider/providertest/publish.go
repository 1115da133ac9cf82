package providertest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider"
)

func capabilityClauses() []clause {
	return []clause{
		{name: "Stable", f: func(e *env) {
			if diff := cmp.Diff(e.caps, e.p.Capabilities()); diff != "" {
				e.t.Errorf("Capabilities() changed between calls (-first +second):\n%s", diff)
			}
			c := e.caps
			if c.MaxRouteVersions < 0 {
				e.t.Errorf("Capabilities().MaxRouteVersions = %d, want ≥ 0", c.MaxRouteVersions)
			}
			if c.Granularity < 0 || c.Granularity > provider.AllTraffic || provider.AllTraffic%max(c.Granularity, 1) != 0 {
				e.t.Errorf("Capabilities().Granularity = %d, want 0 or a divisor of %d", c.Granularity, provider.AllTraffic)
			}
			for i, a := range c.SplitRoutes {
				if a == "" || slices.Index(c.SplitRoutes, a) != i {
					e.t.Errorf("Capabilities().SplitRoutes = %q: names must be non-empty and distinct", c.SplitRoutes)
				}
			}
		}},
	}
}

func publishClauses() []clause {
	return []clause{
		{name: "Fields", f: publishFields},
		{name: "Idempotent", f: publishIdempotent},
		{name: "IdempotentOlder", f: publishIdempotentOlder},
		{name: "NewVersionOnChange", f: publishNewVersionOnChange},
		{name: "Immutable", f: publishImmutable},
		{name: "Invalid", f: publishInvalid},
		{name: "ConcurrentDistinct", slow: true, f: publishConcurrentDistinct},
		{name: "ConcurrentSame", slow: true, f: publishConcurrentSame},
	}
}

// checkPublished compares a version Publish returned with its input.
func (e *env) checkPublished(in provider.PublishInput, v provider.Version) {
	e.t.Helper()
	if in.Artifact.SHA256 != "" && v.CodeSHA256 != in.Artifact.SHA256 {
		e.t.Errorf("version %s: CodeSHA256 = %q, want the artifact's %q", v.ID, v.CodeSHA256, in.Artifact.SHA256)
	}
	if !v.Config.Equal(in.Config) {
		e.t.Errorf("version %s: Config = %+v, want %+v", v.ID, v.Config, in.Config)
	}
	if v.Description != in.Description {
		e.t.Errorf("version %s: Description = %q, want %q", v.ID, v.Description, in.Description)
	}
	if !maps.Equal(v.Labels, in.Labels) {
		e.t.Errorf("version %s: Labels = %v, want %v", v.ID, v.Labels, in.Labels)
	}
	if v.Created.IsZero() {
		e.t.Errorf("version %s: Created is zero", v.ID)
	}
}

// readBack checks that Version(want.ID) equals want.
func (e *env) readBack(want provider.Version) {
	e.t.Helper()
	got, err := e.p.Version(e.ctx, e.fn, want.ID)
	if err != nil {
		e.t.Errorf("Version(%q, %q): %v", e.fn, want.ID, err)
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		e.t.Errorf("Version(%q, %q) differs from what Publish returned (-published +read):\n%s", e.fn, want.ID, diff)
	}
}

func publishFields(e *env) {
	in := e.input(0)
	v := e.publish(in)
	e.checkPublished(in, v)
	e.readBack(v)
	if got := e.list(e.fn); len(got) != 1 || got[0].ID != v.ID {
		e.t.Errorf("Versions(%q) after one Publish = %q, want [%q]", e.fn, ids(got), v.ID)
	}
}

func publishIdempotent(e *env) {
	in := e.input(0)
	first := e.publish(in)

	again := e.input(0)
	again.Description = "a retried CI step"
	again.Labels = map[string]string{provider.LabelSemver: "9.9.9"}
	second := e.publish(again)
	if second.ID != first.ID {
		e.t.Errorf("Publish of the same code and configuration: got version %q, want the existing %q", second.ID, first.ID)
	}
	if diff := cmp.Diff(first, second); diff != "" {
		e.t.Errorf("an idempotent Publish must return the existing version unchanged, with its own description and labels (-first +second):\n%s", diff)
	}

	// A nil and an empty Environment are the same configuration.
	alike := e.input(0)
	if len(alike.Config.Environment) == 0 {
		if alike.Config.Environment == nil {
			alike.Config.Environment = map[string]string{}
		} else {
			alike.Config.Environment = nil
		}
		if third := e.publish(alike); third.ID != first.ID {
			e.t.Errorf("Publish with an empty instead of a nil Environment: got version %q, want the existing %q", third.ID, first.ID)
		}
	}
	if got := e.list(e.fn); len(got) != 1 {
		e.t.Errorf("Versions(%q) after repeated identical publishes = %q, want only %q", e.fn, ids(got), first.ID)
	}
}

func publishIdempotentOlder(e *env) {
	a := e.publish(e.input(0))
	b := e.publish(e.input(1))
	again := e.publish(e.input(0))
	if again.ID != a.ID {
		e.t.Errorf("Publish of version %q's code and configuration after %q was published: got %q, want the existing %q", a.ID, b.ID, again.ID, a.ID)
	}
	if got := e.list(e.fn); !slices.Equal(ids(got), []string{a.ID, b.ID}) {
		e.t.Errorf("Versions(%q) = %q, want [%q %q]", e.fn, ids(got), a.ID, b.ID)
	}
}

func publishNewVersionOnChange(e *env) {
	base := e.input(0)
	v0 := e.publish(base)

	changedConfig := e.input(0)
	changedConfig.Config = e.s.variant(0, "changed")
	v1 := e.publish(changedConfig)
	e.checkPublished(changedConfig, v1)

	changedCode := e.input(1)
	changedCode.Config = base.Config
	v2 := e.publish(changedCode)
	e.checkPublished(changedCode, v2)

	if v1.ID == v0.ID {
		e.t.Errorf("Publish with a changed configuration returned the existing version %q, want a new one", v0.ID)
	}
	if v2.ID == v0.ID || v2.ID == v1.ID {
		e.t.Errorf("Publish with changed code returned the existing version %q, want a new one", v2.ID)
	}
	// The first version is as it was published: nothing overwrites it.
	e.readBack(v0)
	e.checkPublished(base, v0)
	if got := e.list(e.fn); !slices.Equal(ids(got), []string{v0.ID, v1.ID, v2.ID}) {
		e.t.Errorf("Versions(%q) = %q, want [%q %q %q] (oldest first)", e.fn, ids(got), v0.ID, v1.ID, v2.ID)
	}
}

func publishImmutable(e *env) {
	in := e.input(0)
	in.Config = e.s.variant(0, "original")
	want := e.input(0)
	want.Config = e.s.variant(0, "original")

	in.Artifact.Zip = slices.Clone(in.Artifact.Zip) // mutated below: never the caller's bytes
	v := e.publish(in)
	published := v.Clone()

	// Mutate the request after Publish returned.
	in.Labels[provider.LabelSemver] = "mutated"
	in.Labels["extra"] = "mutated"
	in.Config.Environment["SLIPWAY_CONFORMANCE"] = "mutated"
	for i := range in.Artifact.Zip {
		in.Artifact.Zip[i] ^= 0xff
	}
	// Mutate what Publish returned.
	v.Labels[provider.LabelCommit] = "mutated"
	v.Config.Environment["EXTRA"] = "mutated"

	got, err := e.p.Version(e.ctx, e.fn, published.ID)
	if err != nil {
		e.t.Fatalf("Version(%q, %q): %v", e.fn, published.ID, err)
	}
	if diff := cmp.Diff(published, got); diff != "" {
		e.t.Errorf("mutating the Publish request or its result changed the stored version (-published +stored):\n%s", diff)
	}
	e.checkPublished(want, got)

	// Mutate what Version and Versions returned.
	got.Labels["extra"] = "mutated"
	got.Config.Environment["EXTRA"] = "mutated"
	for v, err := range e.p.Versions(e.ctx, e.fn) {
		if err != nil {
			e.t.Fatalf("Versions(%q): %v", e.fn, err)
		}
		if v.Labels != nil {
			v.Labels["extra"] = "mutated"
		}
		if v.Config.Environment != nil {
			v.Config.Environment["EXTRA"] = "mutated"
		}
	}
	e.readBack(published)
	if vs := e.list(e.fn); len(vs) != 1 {
		e.t.Errorf("Versions(%q) = %q, want only %q", e.fn, ids(vs), published.ID)
	} else if diff := cmp.Diff(published, vs[0]); diff != "" {
		e.t.Errorf("mutating returned versions changed what Versions yields (-published +listed):\n%s", diff)
	}

	// Publishing the original request again is still idempotent: the
	// stored code hash and configuration were not disturbed.
	if again := e.publish(want); again.ID != published.ID {
		e.t.Errorf("Publish of the original request after the mutations: got version %q, want %q", again.ID, published.ID)
	}
}

func publishInvalid(e *env) {
	good := e.input(0)
	cases := []struct {
		name string
		fn   string
		in   func() provider.PublishInput
	}{
		{"empty function name", "", func() provider.PublishInput { return good }},
		{"no artifact", e.fn, func() provider.PublishInput {
			in := good
			in.Artifact = provider.Artifact{}
			return in
		}},
		{"two artifact sources", e.fn, func() provider.PublishInput {
			in := good
			in.Artifact.URI = "s3://bucket/conformance.zip"
			in.Artifact.Image = "registry.example/conformance@sha256:" + fmt.Sprintf("%064d", 0)
			return in
		}},
		{"malformed sha256", e.fn, func() provider.PublishInput {
			in := good
			in.Artifact.SHA256 = "not-a-sha256"
			return in
		}},
		{"negative memory", e.fn, func() provider.PublishInput {
			in := good
			in.Config.MemoryMB = -1
			return in
		}},
		{"negative timeout", e.fn, func() provider.PublishInput {
			in := good
			in.Config.Timeout = -1
			return in
		}},
		{"empty environment variable name", e.fn, func() provider.PublishInput {
			in := good
			in.Config = e.s.variant(0, "x")
			in.Config.Environment[""] = "x"
			return in
		}},
	}
	if good.Artifact.Zip != nil {
		cases = append(cases,
			struct {
				name string
				fn   string
				in   func() provider.PublishInput
			}{"empty zip", e.fn, func() provider.PublishInput {
				in := good
				in.Artifact = provider.Artifact{Zip: []byte{}}
				return in
			}},
			struct {
				name string
				fn   string
				in   func() provider.PublishInput
			}{"zip not matching its sha256", e.fn, func() provider.PublishInput {
				in := good
				in.Artifact.SHA256 = e.s.artifact(1).SHA256
				if in.Artifact.SHA256 == "" || in.Artifact.SHA256 == good.Artifact.SHA256 {
					in.Artifact.SHA256 = fmt.Sprintf("%064x", 1)
				}
				return in
			}})
	}
	for _, c := range cases {
		_, err := e.p.Publish(e.ctx, c.fn, c.in())
		call := fmt.Sprintf("Publish(%q) with %s", c.fn, c.name)
		if c.fn == "" {
			if !errors.Is(err, provider.ErrInvalid) {
				e.t.Errorf("%s: got %v, want an error matching %v", call, err, provider.ErrInvalid)
			}
			continue
		}
		e.wantErr(call, err, provider.ErrInvalid, e.fn)
	}
	// Nothing was created: the function has no versions, or does not exist.
	n := 0
	for v, err := range e.p.Versions(e.ctx, e.fn) {
		if err != nil {
			if !errors.Is(err, provider.ErrNotFound) {
				e.t.Errorf("Versions(%q) after invalid publishes: %v", e.fn, err)
			}
			break
		}
		n++
		e.t.Errorf("an invalid Publish created version %q", v.ID)
	}
	if n == 0 {
		// The function still works.
		e.checkPublished(good, e.publish(good))
	}
}

func publishConcurrentDistinct(e *env) {
	const n = 8
	type result struct {
		v   provider.Version
		err error
	}
	res := make([]result, n)
	inputs := make([]provider.PublishInput, n)
	for i := range inputs {
		inputs[i] = e.input(i)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			v, err := e.p.Publish(e.ctx, e.fn, inputs[i])
			res[i] = result{v, err}
		})
	}
	close(start)
	wg.Wait()

	seen := map[string]int{}
	ok := 0
	for i, r := range res {
		if r.err != nil {
			e.wantErr(fmt.Sprintf("concurrent Publish #%d", i), r.err, provider.ErrConflict, e.fn)
			continue
		}
		ok++
		if j, dup := seen[r.v.ID]; dup {
			e.t.Errorf("concurrent publishes #%d and #%d of distinct artifacts both got version %q", j, i, r.v.ID)
		}
		seen[r.v.ID] = i
		e.checkPublished(inputs[i], r.v)
		e.readBack(r.v)
	}
	if ok == 0 {
		e.t.Fatalf("every one of %d concurrent publishes failed", n)
	}
	listed := ids(e.list(e.fn))
	for id := range seen {
		if !slices.Contains(listed, id) {
			e.t.Errorf("version %q from a concurrent Publish is missing from Versions(%q) = %q", id, e.fn, listed)
		}
	}
	if len(listed) != ok {
		e.t.Errorf("Versions(%q) lists %d versions after %d successful publishes: %q", e.fn, len(listed), ok, listed)
	}
}

func publishConcurrentSame(e *env) {
	const n = 8
	in := e.input(0)
	res := make([]provider.Version, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			res[i], errs[i] = e.p.Publish(e.ctx, e.fn, in)
		})
	}
	close(start)
	wg.Wait()

	id := ""
	for i := range n {
		if errs[i] != nil {
			e.wantErr(fmt.Sprintf("concurrent Publish #%d", i), errs[i], provider.ErrConflict, e.fn)
			continue
		}
		if id == "" {
			id = res[i].ID
		}
		if res[i].ID != id {
			e.t.Errorf("concurrent publishes of one artifact got versions %q and %q, want one version", id, res[i].ID)
		}
	}
	if id == "" {
		e.t.Fatalf("every one of %d concurrent publishes failed", n)
	}
	if got := e.list(e.fn); !slices.Equal(ids(got), []string{id}) {
		e.t.Errorf("Versions(%q) after concurrent publishes of one artifact = %q, want [%q]", e.fn, ids(got), id)
	}
}

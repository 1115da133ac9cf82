package providertest

import (
	"fmt"
	"slices"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider"
)

// unknownVersion is a version ID no clause publishes: numeric, so it is
// well-formed on platforms that number their versions.
const unknownVersion = "999999"

func versionClauses() []clause {
	return []clause{
		{name: "NotFound", f: versionsNotFound},
		{name: "Order", f: versionsOrder},
		{name: "EarlyBreak", f: versionsEarlyBreak},
		{name: "Paging", slow: true, f: versionsPaging},
	}
}

func versionsNotFound(e *env) {
	v := e.publish(e.input(0))

	_, err := e.p.Version(e.ctx, e.fn, unknownVersion)
	e.wantErr(fmt.Sprintf("Version(%q, %q)", e.fn, unknownVersion), err, provider.ErrNotFound, e.fn)

	missing := e.missingFunction()
	_, err = e.p.Version(e.ctx, missing, v.ID)
	e.wantErr(fmt.Sprintf("Version(%q, %q) of a function that does not exist", missing, v.ID), err, provider.ErrNotFound, missing)

	_, err = e.p.Version(e.ctx, e.fn, "")
	e.wantErr(fmt.Sprintf("Version(%q, \"\")", e.fn), err, provider.ErrInvalid, e.fn)

	n := 0
	for got, err := range e.p.Versions(e.ctx, missing) {
		n++
		if n > 1 {
			e.t.Errorf("Versions(%q) of a function that does not exist yielded again after its error", missing)
			break
		}
		e.wantErr(fmt.Sprintf("Versions(%q) of a function that does not exist", missing), err, provider.ErrNotFound, missing)
		if diff := cmp.Diff(provider.Version{}, got); diff != "" {
			e.t.Errorf("Versions(%q) yielded a non-zero Version with its error:\n%s", missing, diff)
		}
	}
	if n == 0 {
		e.t.Errorf("Versions(%q) of a function that does not exist yielded nothing, want ErrNotFound", missing)
	}
}

// publishAll publishes n distinct versions and returns them as Publish
// returned them, checking each against its input.
func (e *env) publishAll(n int) []provider.Version {
	e.t.Helper()
	vs := make([]provider.Version, n)
	for i := range n {
		in := e.input(i)
		vs[i] = e.publish(in)
		e.checkPublished(in, vs[i])
	}
	return vs
}

// checkListing checks that Versions yields exactly want, in order, and
// that each listed version reads back equal.
func (e *env) checkListing(want []provider.Version) {
	e.t.Helper()
	got := e.list(e.fn)
	seen := make(map[string]bool, len(got))
	for _, v := range got {
		if seen[v.ID] {
			e.t.Errorf("Versions(%q) yielded version %q twice", e.fn, v.ID)
		}
		seen[v.ID] = true
	}
	if !slices.Equal(ids(got), ids(want)) {
		e.t.Fatalf("Versions(%q) yielded %d versions %q,\nwant the %d published, oldest first: %q", e.fn, len(got), ids(got), len(want), ids(want))
	}
	for i, v := range got {
		if diff := cmp.Diff(want[i], v); diff != "" {
			e.t.Errorf("Versions(%q) yielded version %q differing from what Publish returned (-published +listed):\n%s", e.fn, v.ID, diff)
		}
		e.readBack(v)
	}
}

func versionsOrder(e *env) {
	e.checkListing(e.publishAll(5))
}

// takeFirst calls seq with a yield that asks to stop after k versions, and
// reports an error if the sequence calls yield again after that.
func (e *env) takeFirst(k int, want []string) {
	e.t.Helper()
	var got []string
	stopped := false
	seq := e.p.Versions(e.ctx, e.fn)
	seq(func(v provider.Version, err error) bool {
		if stopped {
			e.t.Errorf("Versions(%q) called yield again after it returned false (break after %d)", e.fn, k)
			return false
		}
		if err != nil {
			e.t.Errorf("Versions(%q): %v", e.fn, err)
			stopped = true
			return false
		}
		got = append(got, v.ID)
		stopped = len(got) == k
		return !stopped
	})
	if !slices.Equal(got, want[:k]) {
		e.t.Errorf("Versions(%q) with a break after %d yielded %q, want %q", e.fn, k, got, want[:k])
	}
}

func versionsEarlyBreak(e *env) {
	want := ids(e.publishAll(3))
	e.takeFirst(1, want)
	e.takeFirst(2, want)
	// A sequence may be ranged again, from the start.
	seq := e.p.Versions(e.ctx, e.fn)
	for range 2 {
		var got []string
		for v, err := range seq {
			if err != nil {
				e.t.Fatalf("Versions(%q): %v", e.fn, err)
			}
			got = append(got, v.ID)
		}
		if !slices.Equal(got, want) {
			e.t.Errorf("ranging one Versions(%q) sequence again yielded %q, want %q", e.fn, got, want)
		}
	}
}

func versionsPaging(e *env) {
	n := e.s.opts.Versions
	if n <= 0 {
		n = 120
	}
	vs := e.publishAll(n)
	e.checkListing(vs)
	want := ids(vs)
	for _, k := range []int{1, n / 2, n - 1} {
		if k > 0 {
			e.takeFirst(k, want)
		}
	}
}

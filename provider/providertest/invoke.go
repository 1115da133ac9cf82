package providertest

import (
	"errors"
	"fmt"

	"github.com/slipway-dev/slipway/provider"
)

// The Invoker clauses run when the provider implements provider.Invoker
// (skipped otherwise; a qualifier the platform cannot reach directly, such
// as an untagged Cloud Run revision, skips with ErrUnsupported). They use no handler of the caller's: whatever the
// version's code answers, the invocation must reach the version or alias
// named, and the errors are the contract's.
func invokeClauses() []clause {
	return []clause{
		{name: "Version", f: invokeVersion},
		{name: "Alias", f: invokeAlias},
		{name: "NotFound", f: invokeNotFound},
		{name: "EmptyQualifier", f: invokeEmptyQualifier},
	}
}

func (e *env) invoker() provider.Invoker {
	e.t.Helper()
	iv, ok := e.p.(provider.Invoker)
	if !ok {
		e.t.Skipf("the provider is not a provider.Invoker")
	}
	return iv
}

// invoked checks an invocation that must have run q, answered by version
// want (when the platform names the version that ran).
func (e *env) invoked(iv provider.Invoker, q, want string) {
	e.t.Helper()
	out, err := iv.Invoke(e.ctx, e.fn, provider.InvokeInput{Qualifier: q, Payload: []byte(`{}`)})
	if errors.Is(err, provider.ErrUnsupported) {
		e.t.Skipf("Invoke(%q, %q): the platform cannot reach it: %v", e.fn, q, err)
	}
	if err != nil {
		e.t.Fatalf("Invoke(%q, %q): %v", e.fn, q, err)
	}
	if out.Status < 200 || out.Status > 299 {
		e.t.Errorf("Invoke(%q, %q): status %d, want 2xx", e.fn, q, out.Status)
	}
	if out.ExecutedVersion != "" && out.ExecutedVersion != want {
		e.t.Errorf("Invoke(%q, %q) ran version %q, want %q", e.fn, q, out.ExecutedVersion, want)
	}
}

func invokeVersion(e *env) {
	iv := e.invoker()
	ids := e.publishN(2)
	e.invoked(iv, ids[0], ids[0])
	e.invoked(iv, ids[1], ids[1])
}

func invokeAlias(e *env) {
	iv := e.invoker()
	ids := e.publishN(2)
	if _, err := e.p.SetRoute(e.ctx, e.fn, provider.To("live", ids[0])); err != nil {
		e.t.Fatalf("SetRoute: %v", err)
	}
	e.invoked(iv, "live", ids[0])
}

func invokeNotFound(e *env) {
	iv := e.invoker()
	ids := e.publishN(1)
	for _, c := range []struct{ fn, q, what string }{
		{e.fn, "nosuchalias", "a missing alias"},
		{e.fn, "9" + ids[0] + "9", "a missing version"},
		{e.missingFunction(), ids[0], "a missing function"},
	} {
		_, err := iv.Invoke(e.ctx, c.fn, provider.InvokeInput{Qualifier: c.q})
		e.wantErr(fmt.Sprintf("Invoke(%q, %q) of %s", c.fn, c.q, c.what), err, provider.ErrNotFound, c.fn)
	}
}

func invokeEmptyQualifier(e *env) {
	iv := e.invoker()
	e.publishN(1)
	_, err := iv.Invoke(e.ctx, e.fn, provider.InvokeInput{})
	e.wantErr(fmt.Sprintf("Invoke(%q) without a qualifier", e.fn), err, provider.ErrInvalid, e.fn)
}

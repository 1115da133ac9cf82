package provider

import (
	"fmt"
	"slices"
	"strings"
)

// Capabilities are a platform's limits, reported by Provider.Capabilities.
// The zero value means "no limits": any number of versions per route,
// 1-basis-point granularity, every route may split, versions not deletable.
type Capabilities struct {
	// MaxRouteVersions is how many versions one route may split across
	// (Lambda: 2, a primary and one additional version). 0 means unlimited.
	MaxRouteVersions int `json:"maxRouteVersions,omitempty"`
	// Granularity is the smallest weight step in basis points: every weight
	// must be a multiple of it (Lambda: 1; Cloud Run: 100, whole percents).
	// 0 is taken as 1.
	Granularity int `json:"granularity,omitempty"`
	// DeleteVersions reports whether DeleteVersion is supported.
	DeleteVersions bool `json:"deleteVersions,omitempty"`
	// SplitRoutes names the only routes that may split traffic across more
	// than one version; every other route pins one version (Cloud Run: the
	// service's traffic split; Azure: production with its ramp-up slot).
	// Nil means every route may split.
	SplitRoutes []string `json:"splitRoutes,omitempty"`
	// UsageRequests is how many platform API requests one Usage call
	// (provider.UsageReporter) sends at least, for callers that budget
	// requests against the platform's rate limit (Lambda: 2,
	// ListProvisionedConcurrencyConfigs and ListEventSourceMappings, each
	// one page). 0 is taken as 1.
	UsageRequests int `json:"usageRequests,omitempty"`
	// DeleteRequests is how many platform API requests one DeleteVersion
	// call sends at least against that rate limit (Lambda: 2, ListAliases
	// to refuse a routed version and DeleteFunction). 0 is taken as 1.
	DeleteRequests int `json:"deleteRequests,omitempty"`
	// InvokesObserved reports whether an invocation made through this
	// provider's Invoker by version ID appears in the series its own
	// Observe returns for that version in a query naming a route
	// (Query.Alias, as a canary's windows do), in the period the
	// invocation was made. True on Cloud Run: a tag URL reaches the
	// revision, and request_count, which has no route or tag label, counts
	// every request reaching it. False on Lambda (an invocation by version
	// lands under Resource=fn:N, not in the alias's series), on Azure (the
	// adapter invokes a version through a slot that runs it alone, the
	// staging slot for a canary's candidate, not the ramp-up slot whose
	// metrics the production route's series are) and in memory (its
	// modelled metrics do not count invocations).
	//
	// Where it is true, an Invoke that returned an InvokeOutput counts as
	// one of Invocations, and as one of Errors when its Status is 500 or
	// more; a failed Invoke (an error: the request refused or never sent)
	// counts as none, except a throttled one (*ThrottleError), which the
	// platform counts its own way (Cloud Run: one of Throttles).
	// Synthetic traffic (package release) subtracts what it invoked from
	// such series to tell organic traffic apart.
	InvokesObserved bool `json:"invokesObserved,omitempty"`
}

// CanSplit reports whether the route named alias may send traffic to more
// than one version.
func (c Capabilities) CanSplit(alias string) bool {
	return c.SplitRoutes == nil || slices.Contains(c.SplitRoutes, alias)
}

// CheckWeight reports whether bp basis points can be expressed on this
// platform, with ErrUnsupported when it is not a multiple of Granularity.
func (c Capabilities) CheckWeight(bp int) error {
	g := max(c.Granularity, 1)
	if bp%g != 0 {
		return fmt.Errorf("%w: weight %d basis points is not a multiple of the platform's granularity %d", ErrUnsupported, bp, g)
	}
	return nil
}

// CheckRoute validates r (see Route.Validate) and then checks it against the
// capabilities: ErrInvalid for a malformed route, ErrUnsupported for one the
// platform cannot express (too many versions, a weight finer than
// Granularity, a split on a route that may not split).
func (c Capabilities) CheckRoute(r Route) error {
	if err := r.Validate(); err != nil {
		return err
	}
	n := 0
	for _, w := range r.Weights {
		if w.BasisPoints > 0 {
			n++
		}
		if err := c.CheckWeight(w.BasisPoints); err != nil {
			return fmt.Errorf("route %q: %w", r.Alias, err)
		}
	}
	if c.MaxRouteVersions > 0 && len(r.Weights) > c.MaxRouteVersions {
		return fmt.Errorf("%w: route %q names %d versions, the platform allows %d", ErrUnsupported, r.Alias, len(r.Weights), c.MaxRouteVersions)
	}
	if n > 1 && !c.CanSplit(r.Alias) {
		return fmt.Errorf("%w: route %q may not split traffic on this platform (only %s may)", ErrUnsupported, r.Alias, strings.Join(c.SplitRoutes, ", "))
	}
	return nil
}

// Validate checks the platform-independent rules of a route: a non-empty
// alias, at least one weight, every version named once and non-empty, every
// weight within 0..10000 and the weights summing to 10000, and a primary
// (first) weight above zero. It returns an error wrapping ErrInvalid that
// names the offending field.
func (r Route) Validate() error {
	if r.Alias == "" {
		return invalid("route", "alias", "is empty")
	}
	if len(r.Weights) == 0 {
		return invalid("route "+quote(r.Alias), "weights", "is empty")
	}
	sum := 0
	for i, w := range r.Weights {
		// The field's name is made only for an error: Validate runs on
		// every route write and every state the canary machine takes.
		field := func(sub string) string { return fmt.Sprintf("weights[%d].%s", i, sub) }
		if w.Version == "" {
			return invalid("route "+quote(r.Alias), field("version"), "is empty")
		}
		if w.BasisPoints < 0 || w.BasisPoints > AllTraffic {
			return invalid("route "+quote(r.Alias), field("basisPoints"), fmt.Sprintf("is %d, outside 0..%d", w.BasisPoints, AllTraffic))
		}
		for _, o := range r.Weights[:i] {
			if o.Version == w.Version {
				return invalid("route "+quote(r.Alias), field("version"), fmt.Sprintf("%q appears twice", w.Version))
			}
		}
		sum += w.BasisPoints
	}
	if sum != AllTraffic {
		return invalid("route "+quote(r.Alias), "weights", fmt.Sprintf("sum to %d basis points, not %d", sum, AllTraffic))
	}
	if r.Weights[0].BasisPoints == 0 {
		return invalid("route "+quote(r.Alias), "weights[0].basisPoints", "is 0: the primary version must receive traffic")
	}
	return nil
}

// Validate checks a publish request: exactly one artifact source, a
// well-formed SHA256 when given, non-negative memory and timeout. Errors wrap
// ErrInvalid and name the field.
func (in PublishInput) Validate() error {
	a := in.Artifact
	n := 0
	if a.Zip != nil {
		n++
		if len(a.Zip) == 0 {
			return invalid("publish", "artifact.zip", "is empty")
		}
	}
	if a.URI != "" {
		n++
	}
	if a.Image != "" {
		n++
	}
	switch n {
	case 0:
		return invalid("publish", "artifact", "is missing: set one of zip, uri, image")
	case 1:
	default:
		return invalid("publish", "artifact", "sets more than one of zip, uri, image")
	}
	if a.SHA256 != "" && !isHexSHA256(a.SHA256) {
		return invalid("publish", "artifact.sha256", fmt.Sprintf("%q is not 64 lowercase hex digits", a.SHA256))
	}
	if in.Config.MemoryMB < 0 {
		return invalid("publish", "config.memoryMB", "is negative")
	}
	if in.Config.Timeout < 0 {
		return invalid("publish", "config.timeout", "is negative")
	}
	for k := range in.Config.Environment {
		if k == "" {
			return invalid("publish", "config.environment", "has an empty variable name")
		}
	}
	return nil
}

// CheckName returns an ErrInvalid error naming field when name is empty.
// Providers call it for function names, aliases and version IDs before any
// state changes.
func CheckName(field, name string) error {
	if name == "" {
		return invalid("", field, "is empty")
	}
	return nil
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

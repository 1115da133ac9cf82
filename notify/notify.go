package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// Notifier tells people about a release's outcome: a promotion, a
// rollback, a failure. The workflow calls Notify after the outcome is
// journalled; a notification that fails does not change the outcome, and
// the workflow reports its error alongside.
//
// Implementations must be safe for concurrent use and must return when ctx
// ends.
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}

// NotifierFunc adapts a function to Notifier, as http.HandlerFunc does.
type NotifierFunc func(ctx context.Context, n Notification) error

// Notify calls f.
func (f NotifierFunc) Notify(ctx context.Context, n Notification) error { return f(ctx, n) }

// Kind is what a notification announces.
type Kind string

const (
	// Promoted: the alias now sends all traffic to the candidate.
	Promoted Kind = "promoted"
	// RolledBack: the alias is back on the stable version, after a
	// failed check, a failed hook, a cancellation or an operator's abort.
	RolledBack Kind = "rolled back"
	// Failed: the release stopped without completing (a platform
	// error, a blocked deploy window, a conflict with another writer);
	// Reason says why and where traffic was left.
	Failed Kind = "failed"
)

// Notification is one release outcome, as sent. Its JSON form is the body
// a Webhook posts.
type Notification struct {
	Kind     Kind      `json:"kind"`
	Time     time.Time `json:"time"`
	Function string    `json:"function"`
	Alias    string    `json:"alias,omitempty"`
	// Release identifies the release run (see journal.Entry.Release).
	Release string `json:"release,omitempty"`
	// Candidate is the version ID being released, Stable the one it
	// replaces (or that traffic went back to); Semver is the candidate's
	// semantic version.
	Candidate string `json:"candidate,omitempty"`
	Stable    string `json:"stable,omitempty"`
	Semver    string `json:"semver,omitempty"`
	Actor     string `json:"actor,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// URL links to more: the CI run, a dashboard.
	URL string `json:"url,omitempty"`
}

// Validate checks n: a known Kind, a Time and a Function. Errors wrap
// provider.ErrInvalid and name the field.
func (n Notification) Validate() error {
	switch {
	case n.Kind != Promoted && n.Kind != RolledBack && n.Kind != Failed:
		return provider.Invalid("notification", "kind", fmt.Sprintf("%q is not a known kind", n.Kind))
	case n.Time.IsZero():
		return provider.Invalid("notification", "time", "is zero")
	case n.Function == "":
		return provider.Invalid("notification", "function", "is empty")
	}
	return nil
}

// Text is n in one line of plain text, such as
//
//	orders production: promoted 1.1.0 (version 7), replacing version 6: all checks passed
func (n Notification) Text() string {
	var b strings.Builder
	b.WriteString(n.Function)
	if n.Alias != "" {
		b.WriteString(" " + n.Alias)
	}
	b.WriteString(": " + string(n.Kind))
	if what := n.what(); what != "" {
		b.WriteString(" " + what)
	}
	switch {
	case n.Stable == "":
	case n.Kind == Promoted:
		b.WriteString(", replacing version " + n.Stable)
	case n.Kind == RolledBack:
		b.WriteString(", back on version " + n.Stable)
	default:
		b.WriteString(", stable version " + n.Stable)
	}
	if n.Reason != "" {
		b.WriteString(": " + n.Reason)
	}
	return b.String()
}

// what names the candidate: "1.1.0 (version 7)", "version 7", "1.1.0".
func (n Notification) what() string {
	switch {
	case n.Semver != "" && n.Candidate != "":
		return n.Semver + " (version " + n.Candidate + ")"
	case n.Candidate != "":
		return "version " + n.Candidate
	}
	return n.Semver
}

// Multi sends each notification to every notifier in it, concurrently, and
// waits for all of them. It returns nil when all succeeded, else the
// failures joined with errors.Join in the order of the notifiers (each
// wrapped with its index); one failing notifier does not stop the others.
type Multi []Notifier

var _ Notifier = Multi(nil)

// Notify calls every notifier with n.
func (m Multi) Notify(ctx context.Context, n Notification) error {
	errs := make([]error, len(m))
	var wg sync.WaitGroup
	for i, nt := range m {
		wg.Go(func() {
			if err := nt.Notify(ctx, n); err != nil {
				errs[i] = fmt.Errorf("notifier %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

package release

import (
	"errors"
	"fmt"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// Sentinel errors of the release package. Failures of the platform keep the
// sentinels of package provider (provider.ErrNotFound, ErrConflict, …) in
// their chain; these name the release package's own refusals.
var (
	// ErrBlocked: a deploy policy (a window or a freeze) does not allow a
	// release or a traffic increase now. The error is a *BlockedError
	// that says why and until when.
	ErrBlocked = errors.New("blocked by deploy policy")
)

// BlockedError is the refusal of a DeployPolicy. It matches ErrBlocked
// under errors.Is.
type BlockedError struct {
	// Reason says what blocks: outside every deploy window, or the name
	// and reason of a freeze.
	Reason string `json:"reason"`
	// Freeze names the freeze that blocks, "" when the block is being
	// outside every window.
	Freeze string `json:"freeze,omitempty"`
	// Until is the first instant at which the policy allows a release
	// again; the zero time when no opening was found within a year.
	Until time.Time `json:"until,omitzero"`
}

func (e *BlockedError) Error() string {
	msg := "release: blocked: " + e.Reason
	if !e.Until.IsZero() {
		msg += " until " + e.Until.Format(time.RFC3339)
	}
	return msg
}

// Is makes errors.Is(err, ErrBlocked) true.
func (e *BlockedError) Is(target error) bool { return target == ErrBlocked }

// VersionExistsError refuses to publish a semantic version that a version of
// the function already carries. It matches provider.ErrConflict under
// errors.Is: nothing was published.
type VersionExistsError struct {
	Function string `json:"function"`
	Semver   string `json:"semver"`
	// Version is the ID of the version that already carries Semver.
	Version string `json:"version"`
}

func (e *VersionExistsError) Error() string {
	return fmt.Sprintf("release: %s: semver %s is already version %s: %v", e.Function, e.Semver, e.Version, provider.ErrConflict)
}

// Is makes errors.Is(err, provider.ErrConflict) true.
func (e *VersionExistsError) Is(target error) bool { return target == provider.ErrConflict }

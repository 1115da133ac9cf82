package semver

import (
	"errors"
	"strconv"
)

// Sentinel errors. Match them with [errors.Is]; the errors this package
// returns wrap one of them and say what was wrong and where.
var (
	// ErrInvalid means a version, range, prerelease identifier, build
	// metadata or level was malformed. Parse errors are *[ParseError]
	// values whose Unwrap returns ErrInvalid.
	ErrInvalid = errors.New("semver: invalid input")

	// ErrOverflow means a bump would take a version number past
	// math.MaxUint64.
	ErrOverflow = errors.New("semver: version number overflows uint64")

	// ErrNoRelease means no commit message called for a release: every
	// message was a chore, docs, refactor, test … change, or not a
	// Conventional Commit at all. See [LevelFromCommits].
	ErrNoRelease = errors.New("semver: no release needed")
)

// A ParseError reports malformed input to [Parse], [ParseTolerant],
// [ParseRange], [ParseLevel] or to a method that validates identifiers.
// It unwraps to [ErrInvalid].
//
// Its message has the form
//
//	semver: "1.2.03": patch version has a leading zero
type ParseError struct {
	Input string // the text that was rejected, verbatim
	Msg   string // what was wrong and where
}

func (e *ParseError) Error() string {
	return "semver: " + strconv.Quote(e.Input) + ": " + e.Msg
}

// Unwrap returns [ErrInvalid].
func (e *ParseError) Unwrap() error { return ErrInvalid }

func parseError(input, msg string) error {
	return &ParseError{Input: input, Msg: msg}
}

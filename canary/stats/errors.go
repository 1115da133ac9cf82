package stats

import (
	"errors"
	"fmt"
	"math"
)

// ErrInvalid is the sentinel of every error of this package: an argument
// or configuration that cannot be computed with (a confidence level outside
// (0, 1), an infinite value, an unknown enum). The package imports nothing
// of slipway's, so it has its own sentinel; package canary wraps these
// errors so that errors.Is(err, provider.ErrInvalid) holds there too.
var ErrInvalid = errors.New("stats: invalid argument")

// InvalidError is an ErrInvalid failure naming the configuration field at
// fault, as provider.InvalidError does for provider arguments.
type InvalidError struct {
	What  string // the configuration, e.g. "kayenta"
	Field string // e.g. "confidence"
	Msg   string
}

func (e *InvalidError) Error() string {
	s := "stats: invalid argument: "
	if e.What != "" {
		s += e.What + ": "
	}
	return s + e.Field + " " + e.Msg
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

func checkInvalid(what, field, format string, args ...any) error {
	return &InvalidError{What: what, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func judgeCheckFinite(what, field string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return checkInvalid(what, field, "is %v, not a finite non-negative number", v)
	}
	return nil
}

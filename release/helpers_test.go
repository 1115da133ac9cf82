package release_test

import "time"

// t0 is the instant the tests' fixed clocks start at.
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

package semver

import (
	"strconv"
	"strings"
	"testing"
)

// refComparePrerelease is semver.org §11 spelled out, identifier by
// identifier: the oracle for comparePrerelease's one-pass version.
func refComparePrerelease(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return 1
	case b == "":
		return -1
	}
	x, y := strings.Split(a, "."), strings.Split(b, ".")
	for k := 0; k < len(x) && k < len(y); k++ {
		nx, ex := strconv.ParseUint(x[k], 10, 64)
		ny, ey := strconv.ParseUint(y[k], 10, 64)
		switch {
		case ex == nil && ey == nil:
			if nx != ny {
				if nx < ny {
					return -1
				}
				return 1
			}
		case ex == nil:
			return -1
		case ey == nil:
			return 1
		default:
			if c := strings.Compare(x[k], y[k]); c != 0 {
				return c
			}
		}
	}
	switch {
	case len(x) < len(y):
		return -1
	case len(x) > len(y):
		return 1
	}
	return 0
}

// Every pair of prerelease lists of up to three identifiers drawn from a
// set that meets each case (numbers of one and two digits, prefixes of one
// another, letters, hyphens, mixed): comparePrerelease agrees with the
// oracle, and Compare with it through whole versions. (It found the
// one-pass version reading past the end of "rc.1" against "rc.1.1".)
func TestComparePrereleaseAgreesWithOracle(t *testing.T) {
	ids := []string{"0", "1", "2", "9", "10", "11", "99", "a", "b", "ab", "abc", "a1", "1a", "-", "a-b", "B", "rc"}
	var lists []string
	var build func(prefix string, depth int)
	build = func(prefix string, depth int) {
		if prefix != "" {
			lists = append(lists, prefix)
		}
		if depth == 3 {
			return
		}
		for _, id := range ids {
			p := id
			if prefix != "" {
				p = prefix + "." + id
			}
			build(p, depth+1)
		}
	}
	build("", 0)
	lists = append(lists, "")
	// All pairs of lists of up to two identifiers, and every 29th pair
	// with three: about half a million comparisons.
	n := 0
	for i := range lists {
		for j := range lists {
			a, b := lists[i], lists[j]
			if (strings.Count(a, ".") == 2 || strings.Count(b, ".") == 2) && (i*len(lists)+j)%29 != 0 {
				continue
			}
			want := refComparePrerelease(a, b)
			if got := comparePrerelease(a, b); got != want {
				t.Fatalf("comparePrerelease(%q, %q) = %d, want %d", a, b, got, want)
			}
			va, vb := Version{major: 1, pre: a}, Version{major: 1, pre: b}
			if got := Compare(va, vb); got != want {
				t.Fatalf("Compare(%s, %s) = %d, want %d", va, vb, got, want)
			}
			n++
		}
	}
	t.Logf("%d pairs", n)
}

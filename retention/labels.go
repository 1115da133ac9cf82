package retention

import (
	"fmt"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/semver"
)

func parseRange(s string) (semver.Range, error) { return semver.ParseRange(s) }

// labelKeeps applies the label rules to the versions of one function (in
// creation order) and returns, per version index, the details of every rule
// that keeps it. Rules with a malformed range (which Validate rejects) match
// nothing.
func labelKeeps(rules []LabelRule, vs []provider.Version) [][]string {
	out := make([][]string, len(vs))
	for _, r := range rules {
		var rng semver.Range
		if r.Range != "" {
			var err error
			if rng, err = parseRange(r.Range); err != nil {
				continue
			}
		}
		needSemver := r.Range != "" || r.Latest != ""
		key := r.key()
		type cand struct {
			i int
			v semver.Version
		}
		var cands []cand
		for i, v := range vs {
			val, ok := v.Labels[key]
			if !ok || r.Equals != "" && val != r.Equals {
				continue
			}
			var sv semver.Version
			if needSemver {
				var err error
				if sv, err = semver.ParseTolerant(val); err != nil {
					continue
				}
				if r.Range != "" && !rng.Contains(sv) {
					continue
				}
			}
			cands = append(cands, cand{i, sv})
		}
		if r.Latest != "" {
			// Keep the greatest semantic version of each group; on a tie
			// the later candidate (published later) wins.
			best := map[string]cand{}
			var order []string
			for _, c := range cands {
				g := group(c.v, r.Latest)
				b, seen := best[g]
				if !seen {
					order = append(order, g)
				}
				if !seen || semver.Compare(c.v, b.v) >= 0 {
					best[g] = c
				}
			}
			cands = cands[:0]
			for _, g := range order {
				cands = append(cands, best[g])
			}
		}
		for _, c := range cands {
			out[c.i] = append(out[c.i], labelDetail(r, vs[c.i].Labels[key], c.v))
		}
	}
	return out
}

func group(v semver.Version, by string) string {
	switch by {
	case LatestOfMajor:
		return fmt.Sprintf("%d.x", v.Major())
	case LatestOfMinor:
		return fmt.Sprintf("%d.%d.x", v.Major(), v.Minor())
	default:
		return fmt.Sprintf("%d.%d.%d", v.Major(), v.Minor(), v.Patch())
	}
}

func labelDetail(r LabelRule, val string, sv semver.Version) string {
	s := "label " + r.key() + "=" + val
	if r.key() == provider.LabelSemver {
		s = "semver " + val
	}
	if r.Range != "" {
		s += fmt.Sprintf(" in %q", r.Range)
	}
	if r.Latest != "" {
		s += " is the latest of " + group(sv, r.Latest)
	}
	return s
}

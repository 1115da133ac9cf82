package provider

import (
	"strconv"
	"strings"
)

// Percent renders basis points as a percentage, without trailing zeros:
// 10000 is "100%", 1000 "10%", 1250 "12.5%", 125 "1.25%", 1 "0.01%". It is
// the one spelling of a share of traffic in messages, summaries and logs.
func Percent(bp int) string {
	var buf [24]byte
	return string(AppendPercent(buf[:0], bp))
}

// AppendPercent appends Percent(bp) to b and returns the extended slice,
// for callers that build a longer text without an allocation per part.
func AppendPercent(b []byte, bp int) []byte {
	if bp < 0 {
		b = append(b, '-')
		bp = -bp
	}
	b = strconv.AppendInt(b, int64(bp/100), 10)
	if f := bp % 100; f != 0 {
		b = append(b, '.', byte('0'+f/10))
		if f%10 != 0 {
			b = append(b, byte('0'+f%10))
		}
	}
	return append(b, '%')
}

// Traffic renders r's weights in percent, in order, as "1=90% 2=10%"; ""
// for a route without weights.
func (r Route) Traffic() string {
	var b strings.Builder
	for i, w := range r.Weights {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w.Version + "=" + Percent(w.BasisPoints))
	}
	return b.String()
}

// String renders r's traffic and revision, as "1=90% 2=10% (rev 7)"
// (Traffic, then the revision when there is one). It leaves the alias to
// the sentence around it, which names it: "production: 1=90% 2=10% (rev
// 7)".
func (r Route) String() string {
	if r.Revision == "" {
		return r.Traffic()
	}
	return r.Traffic() + " (rev " + r.Revision + ")"
}

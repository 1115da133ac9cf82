package retention

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// String returns the plan as WriteTo prints it.
func (p Plan) String() string {
	var b strings.Builder
	_, _ = p.WriteTo(&b) // a strings.Builder does not fail
	return b.String()
}

// WriteTo prints the plan for a person: an aligned table with one row per
// version (function, version, publication time in UTC, semver label,
// action, reasons), then one summary line per function with its notes, and
// a total.
func (p Plan) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	tw := tabwriter.NewWriter(cw, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FUNCTION\tVERSION\tPUBLISHED\tSEMVER\tACTION\tWHY")
	for _, f := range p.Functions {
		for _, d := range f.Versions {
			why := make([]string, len(d.Reasons))
			for i, r := range d.Reasons {
				why[i] = r.Detail
			}
			semver := d.Semver
			if semver == "" {
				semver = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", f.Function, d.Version,
				d.Created.UTC().Format("2006-01-02 15:04"), semver, d.Action, strings.Join(why, "; "))
		}
	}
	if err := tw.Flush(); err != nil {
		return cw.n, err
	}
	if len(p.Functions) > 0 {
		fmt.Fprintln(cw)
	}
	total, kept, deleted := 0, 0, 0
	for _, f := range p.Functions {
		if f.Error != "" {
			fmt.Fprintf(cw, "%s: not planned, nothing will be deleted: %s\n", f.Function, f.Error)
		} else {
			k, d := 0, 0
			for _, v := range f.Versions {
				if v.Action == Delete {
					d++
				} else {
					k++
				}
			}
			total, kept, deleted = total+k+d, kept+k, deleted+d
			fmt.Fprintf(cw, "%s: %d versions, keep %d, delete %d\n", f.Function, k+d, k, d)
		}
		for _, n := range f.Notes {
			fmt.Fprintf(cw, "  note: %s\n", n)
		}
	}
	fns := "functions"
	if len(p.Functions) == 1 {
		fns = "function"
	}
	fmt.Fprintf(cw, "total: %d %s, %d versions, keep %d, delete %d\n", len(p.Functions), fns, total, kept, deleted)
	return cw.n, cw.err
}

// countingWriter counts bytes and keeps the first error, after which it
// writes nothing.
type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) Write(b []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(b)
	c.n += int64(n)
	c.err = err
	return n, err
}

// String returns the report as WriteTo prints it.
func (r Report) String() string {
	var b strings.Builder
	_, _ = r.WriteTo(&b) // a strings.Builder does not fail
	return b.String()
}

// WriteTo prints the report for a person: per function, the versions
// deleted, then one line per version skipped (with the reason), failed
// (with the error) or canceled, and a total.
func (r Report) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	for _, f := range r.Functions {
		if f.Error != "" {
			fmt.Fprintf(cw, "%s: not planned: %s\n", f.Function, f.Error)
			continue
		}
		deleted := "none"
		if len(f.Deleted) > 0 {
			deleted = strings.Join(f.Deleted, ", ")
		}
		fmt.Fprintf(cw, "%s: %d planned, deleted %s\n", f.Function, f.Planned, deleted)
		for _, s := range f.Skipped {
			fmt.Fprintf(cw, "  skipped %s: %s\n", s.Version, s.Reason)
		}
		for _, fl := range f.Failed {
			doubt := ""
			if fl.InDoubt {
				doubt = " (it may or may not exist)"
			}
			fmt.Fprintf(cw, "  failed %s%s: %v\n", fl.Version, doubt, fl.Err)
		}
		if len(f.Canceled) > 0 {
			fmt.Fprintf(cw, "  canceled %s\n", strings.Join(f.Canceled, ", "))
		}
	}
	t := r.Totals()
	fmt.Fprintf(cw, "total: %d planned, %d deleted, %d skipped, %d failed, %d canceled\n",
		t.Planned, t.Deleted, t.Skipped, t.Failed, t.Canceled)
	return cw.n, cw.err
}

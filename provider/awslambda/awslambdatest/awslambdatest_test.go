package awslambdatest_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/provider/awslambda"
	"github.com/slipway-dev/slipway/provider/awslambda/awslambdatest"
	"github.com/slipway-dev/slipway/provider/awslambda/lambdatest"
)

// New gives an adapter on the emulator with Function created, an empty
// request log, and one clock: the adapter's Sleep moves the emulator's Now.
func TestNew(t *testing.T) {
	e := awslambdatest.New(t, lambdatest.Options{}, awslambda.Options{})
	if ops := e.Ops(); len(ops) != 0 {
		t.Errorf("request log after New = %v, want empty", ops)
	}
	if err := e.Clock.Sleep(context.Background(), time.Minute); err != nil {
		t.Fatal(err)
	}
	v, err := e.Provider.Publish(context.Background(), awslambdatest.Function, awslambdatest.Zip("code"))
	if err != nil {
		t.Fatal(err)
	}
	// The emulator stamps the version with the clock the sleep moved
	// (plus the virtual seconds Publish waits for the update to settle),
	// not with the wall clock.
	if lo, hi := awslambdatest.Start.Add(time.Minute), awslambdatest.Start.Add(2*time.Minute); v.Created.Before(lo) || !v.Created.Before(hi) {
		t.Errorf("version published at %v, want in [%v, %v): one clock for adapter and emulator", v.Created, lo, hi)
	}
	e.Ops()
	if _, err := e.Provider.Route(context.Background(), awslambdatest.Function, "live"); err == nil {
		t.Error("a route that was never created was found")
	}
	if ops := e.Ops(); !slices.Equal(ops, []string{"GetAlias"}) {
		t.Errorf("request log = %v, want [GetAlias]", ops)
	}
	if ops := e.Ops(); len(ops) != 0 {
		t.Errorf("Ops did not reset the log: %v", ops)
	}
}

// PublishN publishes versions 1..n, each a new code hash, and leaves the
// request log empty.
func TestPublishN(t *testing.T) {
	e := awslambdatest.New(t, lambdatest.Options{}, awslambda.Options{})
	e.PublishN(t, 3)
	if ops := e.Ops(); len(ops) != 0 {
		t.Errorf("request log after PublishN = %v, want empty", ops)
	}
	var ids []string
	hashes := map[string]bool{}
	for v, err := range e.Provider.Versions(context.Background(), awslambdatest.Function) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
		hashes[v.CodeSHA256] = true
	}
	if !slices.Equal(ids, []string{"1", "2", "3"}) || len(hashes) != 3 {
		t.Errorf("versions %v with %d distinct hashes, want [1 2 3] with 3", ids, len(hashes))
	}
}

// recorder stands in for a test so OpsEqual's failure can be observed.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
}

func TestOpsEqual(t *testing.T) {
	r := &recorder{TB: t}
	awslambdatest.OpsEqual(r, "same", []string{"GetAlias", "UpdateAlias"}, "GetAlias", "UpdateAlias")
	if r.failed != "" {
		t.Errorf("equal lists failed: %s", r.failed)
	}
	for _, got := range [][]string{{"UpdateAlias", "GetAlias"}, {"GetAlias"}, nil} {
		r := &recorder{TB: t}
		awslambdatest.OpsEqual(r, "differ", got, "GetAlias", "UpdateAlias")
		if r.failed == "" {
			t.Errorf("OpsEqual(%v, [GetAlias UpdateAlias]) did not fail", got)
		}
	}
}

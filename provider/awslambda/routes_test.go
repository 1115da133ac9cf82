package awslambda_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/awslambda"
	"github.com/slipway-dev/slipway/provider/awslambda/awslambdatest"
	"github.com/slipway-dev/slipway/provider/awslambda/lambdatest"
)

func TestSetRoute_CreateUpdateAndCompareAndSwap(t *testing.T) {
	e := awslambdatest.New(t, lambdatest.Options{SettlePolls: -1}, awslambda.Options{})
	ctx := context.Background()
	e.PublishN(t, 3)

	created, err := e.Provider.SetRoute(ctx, fn, provider.To("live", "1"))
	if err != nil {
		t.Fatal(err)
	}
	awslambdatest.OpsEqual(t, "create", e.Ops(), "CreateAlias")
	if created.Revision == "" || created.Primary() != "1" {
		t.Fatalf("created = %+v", created)
	}
	if _, err := e.Provider.SetRoute(ctx, fn, provider.To("live", "2")); !errors.Is(err, provider.ErrConflict) {
		t.Fatalf("create over an existing alias = %v, want ErrConflict", err)
	}
	var rce *types.ResourceConflictException
	if _, err := e.Provider.SetRoute(ctx, fn, provider.To("live", "2")); !errors.As(err, &rce) {
		t.Fatalf("the SDK error is not in the chain: %v", err)
	}
	e.Ops()

	canary := provider.Split("live", "1", "2", 1000)
	canary.Revision = created.Revision
	step, err := e.Provider.SetRoute(ctx, fn, canary)
	if err != nil {
		t.Fatal(err)
	}
	awslambdatest.OpsEqual(t, "update", e.Ops(), "UpdateAlias")
	if !step.SameTraffic(canary) || step.Revision == created.Revision {
		t.Fatalf("canary step = %+v", step)
	}
	read, err := e.Provider.Route(ctx, fn, "live")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(step, read); diff != "" {
		t.Fatalf("Route after SetRoute (-set +read):\n%s", diff)
	}

	// A stale revision: ErrConflict and nothing changes.
	stale := provider.To("live", "3")
	stale.Revision = created.Revision
	_, err = e.Provider.SetRoute(ctx, fn, stale)
	var pfe *types.PreconditionFailedException
	if !errors.Is(err, provider.ErrConflict) || !errors.As(err, &pfe) {
		t.Fatalf("stale SetRoute = %v, want ErrConflict with PreconditionFailedException", err)
	}
	if now, _ := e.Provider.Route(ctx, fn, "live"); !now.SameTraffic(canary) {
		t.Fatalf("route changed by a stale write: %+v", now)
	}

	// Promotion clears the routing.
	promote := provider.To("live", "2")
	promote.Revision = step.Revision
	done, err := e.Provider.SetRoute(ctx, fn, promote)
	if err != nil || len(done.Weights) != 1 || done.Primary() != "2" {
		t.Fatalf("promote = %+v, %v", done, err)
	}

	// A zero-weight second version is kept, so it reads back as written.
	zero := provider.Route{Alias: "live", Weights: []provider.Weight{{Version: "2", BasisPoints: 10000}, {Version: "3", BasisPoints: 0}}, Revision: done.Revision}
	z, err := e.Provider.SetRoute(ctx, fn, zero)
	if err != nil || !cmp.Equal(z.Weights, zero.Weights) {
		t.Fatalf("zero-weight route = %+v, %v", z, err)
	}
}

func TestSetRoute_RefusedBeforeAnyCall(t *testing.T) {
	e := awslambdatest.New(t, lambdatest.Options{SettlePolls: -1}, awslambda.Options{})
	e.PublishN(t, 3)
	tests := []struct {
		name  string
		r     provider.Route
		want  error
		field string
	}{
		{"latest", provider.To("live", "$LATEST"), provider.ErrInvalid, "weights[0].version"},
		{"alias as version", provider.Split("live", "1", "prod", 500), provider.ErrInvalid, "weights[1].version"},
		{"three versions", provider.Route{Alias: "live", Weights: []provider.Weight{{Version: "1", BasisPoints: 5000}, {Version: "2", BasisPoints: 2500}, {Version: "3", BasisPoints: 2500}}}, provider.ErrUnsupported, ""},
		{"bad sum", provider.Route{Alias: "live", Weights: []provider.Weight{{Version: "1", BasisPoints: 5000}}}, provider.ErrInvalid, "weights"},
		{"no alias", provider.To("", "1"), provider.ErrInvalid, "alias"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.Provider.SetRoute(context.Background(), fn, tt.r)
			if !errors.Is(err, tt.want) {
				t.Fatalf("SetRoute = %v, want %v", err, tt.want)
			}
			var ie *provider.InvalidError
			if tt.field != "" && (!errors.As(err, &ie) || ie.Field != tt.field) {
				t.Fatalf("SetRoute = %v, want the field %q named", err, tt.field)
			}
			if calls := e.Ops(); len(calls) != 0 {
				t.Fatalf("calls made: %v", calls)
			}
		})
	}
}

func TestSetRoute_MissingThings(t *testing.T) {
	e := awslambdatest.New(t, lambdatest.Options{SettlePolls: -1}, awslambda.Options{})
	ctx := context.Background()
	e.PublishN(t, 2)
	// A version that was never published: ErrInvalid naming it.
	_, err := e.Provider.SetRoute(ctx, fn, provider.Split("live", "1", "9", 100))
	var ie *provider.InvalidError
	if !errors.As(err, &ie) || ie.Field != "weights[1].version" {
		t.Fatalf("SetRoute to version 9 = %v, want ErrInvalid naming weights[1].version", err)
	}
	if errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("SetRoute to version 9 = %v, should not also be ErrNotFound", err)
	}
	// A missing function: ErrNotFound.
	if _, err := e.Provider.SetRoute(ctx, "nope", provider.To("live", "1")); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("SetRoute on a missing function = %v, want ErrNotFound", err)
	}
	// An update of an alias that does not exist.
	gone := provider.To("gone", "1")
	gone.Revision = "00000000-0000-4000-8000-000000000001"
	if _, err := e.Provider.SetRoute(ctx, fn, gone); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("update of a missing alias = %v, want ErrNotFound", err)
	}
	if _, err := e.Provider.Route(ctx, fn, "gone"); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("Route of a missing alias = %v, want ErrNotFound", err)
	}
}

func TestSetRoute_ConcurrentWritersExactlyOneWins(t *testing.T) {
	e := awslambdatest.New(t, lambdatest.Options{SettlePolls: -1}, awslambda.Options{})
	ctx := context.Background()
	e.PublishN(t, 9)
	base, err := e.Provider.SetRoute(ctx, fn, provider.To("live", "1"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			r := provider.Split("live", "1", strconv.Itoa(i+2), 100*(i+1))
			r.Revision = base.Revision
			_, errs[i] = e.Provider.SetRoute(ctx, fn, r)
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, provider.ErrConflict):
			t.Fatalf("loser error = %v, want ErrConflict", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d writers won, want exactly 1", wins)
	}
}

func TestRoutes_PagedAndSorted(t *testing.T) {
	e := awslambdatest.New(t, lambdatest.Options{SettlePolls: -1}, awslambda.Options{})
	ctx := context.Background()
	e.PublishN(t, 2)
	for i := range 60 {
		if _, err := e.Provider.SetRoute(ctx, fn, provider.Split(fmt.Sprintf("stage-%02d", 59-i), "1", "2", i)); err != nil {
			t.Fatal(err)
		}
	}
	e.Ops()
	rs, err := e.Provider.Routes(ctx, fn)
	if err != nil {
		t.Fatal(err)
	}
	awslambdatest.OpsEqual(t, "routes", e.Ops(), "ListAliases", "ListAliases")
	if len(rs) != 60 || rs[0].Alias != "stage-00" || rs[59].Alias != "stage-59" {
		t.Fatalf("Routes = %d routes, first %q", len(rs), rs[0].Alias)
	}
	if rs[0].Share("2") != 59 || rs[59].Share("1") != 10000 {
		t.Fatalf("weights read back wrong: %+v, %+v", rs[0], rs[59])
	}
}

func TestDeleteVersion(t *testing.T) {
	e := awslambdatest.New(t, lambdatest.Options{SettlePolls: -1}, awslambda.Options{})
	ctx := context.Background()
	e.PublishN(t, 5)
	if _, err := e.Provider.SetRoute(ctx, fn, provider.To("prod", "2")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Provider.SetRoute(ctx, fn, provider.Split("live", "2", "3", 500)); err != nil {
		t.Fatal(err)
	}
	e.Ops()

	tests := []struct {
		id   string
		want error
		ops  []string
	}{
		{"5", provider.ErrInUse, []string{"GetFunction", "ListVersionsByFunction"}},                // newest: no version 6, so the listing
		{"2", provider.ErrInUse, []string{"GetFunction", "ListAliases"}},                           // primary of prod and live; version 3 exists
		{"3", provider.ErrInUse, []string{"GetFunction", "ListAliases"}},                           // additional version of live
		{"9", provider.ErrNotFound, []string{"GetFunction", "ListVersionsByFunction"}},             // never published
		{"$LATEST", provider.ErrNotFound, nil},                                                     // not a version
		{"1", nil, []string{"GetFunction", "ListAliases", "DeleteFunction"}},                       // unused; version 2 exists
		{"1", provider.ErrNotFound, []string{"GetFunction", "ListAliases", "DeleteFunction"}},      // already deleted: Lambda's 404
		{"4", nil, []string{"GetFunction", "ListAliases", "DeleteFunction"}},                       // unused; version 5 exists
		{"3", provider.ErrInUse, []string{"GetFunction", "ListVersionsByFunction", "ListAliases"}}, // version 4 is gone: the listing
	}
	for _, tt := range tests {
		err := e.Provider.DeleteVersion(ctx, fn, tt.id)
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("DeleteVersion(%s) = %v, want %v", tt.id, err, tt.want)
		}
		awslambdatest.OpsEqual(t, "delete "+tt.id, e.Ops(), tt.ops...)
	}
}

func TestDeleteVersion_LambdaRefusalIsInUse(t *testing.T) {
	// An alias created between the check and the call: Lambda's 409 is
	// ErrInUse too.
	e := awslambdatest.New(t, lambdatest.Options{SettlePolls: -1, Fault: func(op string) *lambdatest.Fault {
		if op == "DeleteFunction" {
			return &lambdatest.Fault{Status: 409, Code: "ResourceConflictException", Message: "Unable to delete version because the following aliases reference it: [late]"}
		}
		return nil
	}}, awslambda.Options{})
	e.PublishN(t, 2)
	err := e.Provider.DeleteVersion(context.Background(), fn, "1")
	var rce *types.ResourceConflictException
	if !errors.Is(err, provider.ErrInUse) || !errors.As(err, &rce) {
		t.Fatalf("DeleteVersion = %v, want ErrInUse with ResourceConflictException", err)
	}
}

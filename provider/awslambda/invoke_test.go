package awslambda_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/awslambda"
	"github.com/slipway-dev/slipway/provider/awslambda/awslambdatest"
	"github.com/slipway-dev/slipway/provider/awslambda/lambdatest"
)

func TestInvoke(t *testing.T) {
	e := awslambdatest.New(t, lambdatest.Options{SettlePolls: -1}, awslambda.Options{})
	ctx := context.Background()
	e.PublishN(t, 2)
	_, err := e.Provider.SetRoute(ctx, fn, provider.To("live", "1"))
	must(t, err)
	e.Server.SetHandler(fn, "1", func(_ context.Context, p []byte) ([]byte, error) {
		return append([]byte(`{"v1":`), append(p, '}')...), nil
	})
	e.Server.SetHandler(fn, "2", func(context.Context, []byte) ([]byte, error) {
		return nil, &lambdatest.FunctionError{Type: "Boom", Message: "v2 rejects everything"}
	})
	e.Ops()

	got, err := e.Provider.Invoke(ctx, fn, provider.InvokeInput{Qualifier: "live", Payload: []byte(`{"a":1}`)})
	must(t, err)
	if diff := cmp.Diff(provider.InvokeOutput{Status: 200, Body: []byte(`{"v1":{"a":1}}`), ExecutedVersion: "1"}, got); diff != "" {
		t.Errorf("alias invoke (-want +got):\n%s", diff)
	}
	got, err = e.Provider.Invoke(ctx, fn, provider.InvokeInput{Qualifier: "2", Payload: []byte(`{}`)})
	must(t, err)
	if got.FunctionError != "Unhandled" || !got.Failed() || got.Status != 200 || !bytes.Contains(got.Body, []byte(`"errorType":"Boom"`)) {
		t.Errorf("failing version: %+v body %s", got, got.Body)
	}
	awslambdatest.OpsEqual(t, "invoke", e.Ops(), "Invoke", "Invoke")

	if _, err := e.Provider.Invoke(ctx, fn, provider.InvokeInput{Qualifier: "9"}); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("missing version: %v", err)
	}
	if _, err := e.Provider.Invoke(ctx, fn, provider.InvokeInput{Qualifier: "1", Payload: []byte("{nope")}); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("non-JSON payload: %v", err)
	}
	e.Ops()
	big := bytes.Repeat([]byte(" "), awslambda.MaxInvokePayload+1)
	if _, err := e.Provider.Invoke(ctx, fn, provider.InvokeInput{Qualifier: "1", Payload: big}); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("payload over the limit: %v", err)
	}
	if _, err := e.Provider.Invoke(ctx, fn, provider.InvokeInput{}); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("no qualifier: %v", err)
	}
	awslambdatest.OpsEqual(t, "refused before any call", e.Ops())
}

func TestRemovePermission(t *testing.T) {
	e := awslambdatest.New(t, lambdatest.Options{SettlePolls: -1}, awslambda.Options{})
	ctx := context.Background()
	e.PublishN(t, 1)
	must(t, e.Server.AddPermission(fn, "1", lambdatest.Permission{Sid: "public", Principal: "*"}))
	must(t, e.Server.AddPermission(fn, "1", lambdatest.Permission{Sid: "partner", Principal: "210987654321"}))
	must(t, e.Provider.RemovePermission(ctx, fn, "1", "public"))
	ps, err := e.Provider.Permissions(ctx, fn, "1")
	must(t, err)
	if len(ps) != 1 || ps[0].ID != "partner" {
		t.Errorf("after removal: %+v", ps)
	}
	err = e.Provider.RemovePermission(ctx, fn, "1", "public")
	var nf *types.ResourceNotFoundException
	if !errors.Is(err, provider.ErrNotFound) || !errors.As(err, &nf) {
		t.Errorf("second removal: %v", err)
	}
}

func TestUpdateEventSource(t *testing.T) {
	e := awslambdatest.New(t, lambdatest.Options{SettlePolls: -1}, awslambda.Options{})
	ctx := context.Background()
	e.PublishN(t, 2)
	_, err := e.Provider.SetRoute(ctx, fn, provider.To("live", "2"))
	must(t, err)
	id, err := e.Server.AddEventSourceMapping(fn, "1", "arn:aws:sqs:us-east-1:123456789012:orders")
	must(t, err)
	e.Ops()
	got, err := e.Provider.UpdateEventSource(ctx, fn, id, "live")
	must(t, err)
	awslambdatest.OpsEqual(t, "update", e.Ops(), "GetEventSourceMapping", "UpdateEventSourceMapping")
	if diff := cmp.Diff(provider.EventSource{ID: id, Source: "arn:aws:sqs:us-east-1:123456789012:orders", Qualifier: "live", State: "Updating"}, got); diff != "" {
		t.Errorf("UpdateEventSource (-want +got):\n%s", diff)
	}
	es, err := e.Provider.EventSources(ctx, fn)
	must(t, err)
	if len(es) != 1 || es[0].Qualifier != "live" {
		t.Errorf("EventSources after = %+v", es)
	}
	if _, err := e.Provider.UpdateEventSource(ctx, fn, id, "staging"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("missing alias: %v", err)
	}
	if _, err := e.Provider.UpdateEventSource(ctx, fn, "00000000-0000-4000-8000-ffffffffffff", "live"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("missing mapping: %v", err)
	}
	must(t, e.Server.SetEventSourceMappingState(id, "Creating"))
	if _, err := e.Provider.UpdateEventSource(ctx, fn, id, "1"); !errors.Is(err, provider.ErrConflict) {
		t.Errorf("busy mapping: %v", err)
	}
}

package awslambda

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/slipway-dev/slipway/provider"
)

var (
	_ provider.Invoker            = (*Provider)(nil)
	_ provider.PermissionRemover  = (*Provider)(nil)
	_ provider.EventSourceUpdater = (*Provider)(nil)
)

// MaxInvokePayload is the largest request body of a synchronous Invoke:
// "For synchronous invocations, the maximum payload size is 6 MB" (Lambda
// API reference, Invoke); the service counts 6 MiB (its refusal reads
// "Request must be smaller than 6291456 bytes for the InvokeFunction
// operation").
const MaxInvokePayload = 6 << 20

// Invoke calls Lambda's Invoke synchronously (InvocationType
// RequestResponse) with Qualifier in.Qualifier. A payload over
// MaxInvokePayload is refused with ErrInvalid before any call. The
// function's own failure is not an error: FunctionError carries the
// X-Amz-Function-Error header ("Unhandled") and Body the error document;
// ExecutedVersion is X-Amz-Executed-Version. Errors translate as for every
// operation (RequestTooLargeException and InvalidRequestContentException →
// ErrInvalid, ResourceNotFoundException → ErrNotFound,
// TooManyRequestsException → ErrThrottled); other invoke-time failures
// (ENI, KMS, EFS, SnapStart refusals) keep the SDK error only, or
// ErrUnavailable for the 5xx ones.
func (p *Provider) Invoke(ctx context.Context, fn string, in provider.InvokeInput) (provider.InvokeOutput, error) {
	const op = "invoke"
	if err := checkFunction(op, fn); err != nil {
		return provider.InvokeOutput{}, err
	}
	if err := in.Validate(); err != nil {
		return provider.InvokeOutput{}, fail(op, fn, err)
	}
	if err := in.CheckPayload(MaxInvokePayload, "a synchronous Lambda invocation"); err != nil {
		return provider.InvokeOutput{}, fail(op, fn, err)
	}
	out, err := p.lc.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(fn),
		Qualifier:      aws.String(in.Qualifier),
		InvocationType: types.InvocationTypeRequestResponse,
		Payload:        in.Payload,
	})
	if err != nil {
		return provider.InvokeOutput{}, fail(op, fn, translate(err, conflictIsConflict))
	}
	return provider.InvokeOutput{
		Status:          int(out.StatusCode),
		FunctionError:   aws.ToString(out.FunctionError),
		Body:            out.Payload,
		ExecutedVersion: aws.ToString(out.ExecutedVersion),
	}, nil
}

// RemovePermission removes statement id from the resource policy of fn or
// of one qualifier (RemovePermission with Qualifier). Errors:
// ResourceNotFoundException (no such function, qualifier or statement) →
// ErrNotFound; PreconditionFailedException → ErrConflict.
func (p *Provider) RemovePermission(ctx context.Context, fn, qualifier, id string) error {
	const op = "remove permission"
	if err := checkFunction(op, fn); err != nil {
		return err
	}
	if err := provider.CheckName("statement id", id); err != nil {
		return fail(op, fn, err)
	}
	in := &lambda.RemovePermissionInput{FunctionName: aws.String(fn), StatementId: aws.String(id)}
	if qualifier != "" {
		in.Qualifier = aws.String(qualifier)
	}
	if _, err := p.lc.RemovePermission(ctx, in); err != nil {
		return fail(op, fn, translate(err, conflictIsConflict))
	}
	return nil
}

// UpdateEventSource points event-source mapping id at fn:qualifier (or at
// the unqualified fn) with UpdateEventSourceMapping; it first reads the
// mapping (GetEventSourceMapping) to refuse one that belongs to another
// function (ErrNotFound). ResourceInUseException (a mapping being created,
// updated or deleted) → ErrConflict.
func (p *Provider) UpdateEventSource(ctx context.Context, fn, id, qualifier string) (provider.EventSource, error) {
	const op = "update event source"
	if err := checkFunction(op, fn); err != nil {
		return provider.EventSource{}, err
	}
	if err := provider.CheckName("event source id", id); err != nil {
		return provider.EventSource{}, fail(op, fn, err)
	}
	cur, err := p.lc.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: aws.String(id)})
	if err != nil {
		return provider.EventSource{}, fail(op, fn, translate(err, conflictIsConflict))
	}
	if name := functionNameOf(aws.ToString(cur.FunctionArn)); name != fn {
		return provider.EventSource{}, fail(op, fn, fmt.Errorf("%w: event source mapping %s invokes function %q", provider.ErrNotFound, id, name))
	}
	target := fn
	if qualifier != "" {
		target += ":" + qualifier
	}
	out, err := p.lc.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: aws.String(id), FunctionName: aws.String(target)})
	if err != nil {
		var inUse *types.ResourceInUseException
		if errors.As(err, &inUse) {
			return provider.EventSource{}, fail(op, fn, fmt.Errorf("%w: %w", provider.ErrConflict, err))
		}
		return provider.EventSource{}, fail(op, fn, translate(err, conflictIsConflict))
	}
	return provider.EventSource{
		ID:        aws.ToString(out.UUID),
		Source:    aws.ToString(out.EventSourceArn),
		Qualifier: qualifierOf(aws.ToString(out.FunctionArn)),
		State:     aws.ToString(out.State),
	}, nil
}

// functionNameOf returns the function name of a function ARN.
func functionNameOf(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) >= 7 {
		return parts[6]
	}
	return arn
}

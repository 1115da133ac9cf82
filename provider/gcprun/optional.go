package gcprun

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"cloud.google.com/go/functions/apiv2/functionspb"
	"cloud.google.com/go/iam/apiv1/iampb"

	"github.com/slipway-dev/slipway/provider"
)

// EventSources lists the function's Eventarc trigger (GetFunction,
// Function.event_trigger): its trigger name as ID, the Pub/Sub topic or
// else the event type as Source, and no qualifier — a trigger invokes the
// function's service, whatever its traffic split, never one revision.
// A function without a trigger has none.
func (p *Provider) EventSources(ctx context.Context, fn string) ([]provider.EventSource, error) {
	const op = "event sources"
	if err := checkFunction(ctx, op, fn); err != nil {
		return nil, err
	}
	if p.opts.Services {
		return nil, fail(op, fn, fmt.Errorf("%w: Eventarc triggers of a Cloud Run service are listed by the Eventarc API, which this adapter does not call", provider.ErrUnsupported))
	}
	f, err := p.c.Functions.GetFunction(ctx, &functionspb.GetFunctionRequest{Name: p.functionName(fn)})
	if err != nil {
		return nil, fail(op, fn, fmt.Errorf("get function: %w", translate(ctx, err, conflictIsConflict)))
	}
	t := f.GetEventTrigger()
	if t == nil {
		return nil, nil
	}
	src := t.PubsubTopic
	if src == "" {
		src = t.EventType
	}
	id := t.Trigger
	if id == "" {
		id = t.EventType
	}
	return []provider.EventSource{{ID: id, Source: src}}, nil
}

// invoker reports whether an IAM role grants run.routes.invoke on a
// service (the predefined Cloud Run roles and the basic roles).
func invoker(role string) bool {
	switch role {
	case "roles/run.invoker", "roles/run.admin", "roles/run.developer", "roles/run.servicesInvoker", "roles/owner", "roles/editor":
		return true
	}
	return false
}

// Permissions lists who may invoke the function's service: the members of
// the invoker roles in the service's IAM policy (Run GetIamPolicy). Tags
// and revisions have no policy of their own, so qualifier only names
// which URL is asked about and the answer is the service's. allUsers and
// allAuthenticatedUsers are public.
func (p *Provider) Permissions(ctx context.Context, fn, qualifier string) ([]provider.Permission, error) {
	const op = "permissions"
	if err := checkFunction(ctx, op, fn); err != nil {
		return nil, err
	}
	svcName, err := p.serviceOf(ctx, fn)
	if err != nil {
		return nil, fail(op, fn, err)
	}
	pol, err := p.c.Services.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: svcName})
	if err != nil {
		return nil, fail(op, fn, fmt.Errorf("get IAM policy: %w", translate(ctx, err, conflictIsConflict)))
	}
	var out []provider.Permission
	for _, b := range pol.GetBindings() {
		if !invoker(b.Role) {
			continue
		}
		for _, m := range b.Members {
			out = append(out, provider.Permission{
				ID: b.Role + " " + m, Principal: m, Action: "run.routes.invoke",
				Public: (m == "allUsers" || m == "allAuthenticatedUsers") && b.GetCondition() == nil,
			})
		}
	}
	slices.SortFunc(out, func(a, b provider.Permission) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Usage reports versions in use for reasons other than a route. On Cloud
// Run nothing else pins a revision: triggers and IAM apply to the
// service, and a revision serves only through the traffic list, which the
// routes are. It reads the function (GetFunction) to report ErrNotFound
// for an unknown one and returns no usages.
func (p *Provider) Usage(ctx context.Context, fn string) ([]provider.Usage, error) {
	const op = "usage"
	if err := checkFunction(ctx, op, fn); err != nil {
		return nil, err
	}
	if p.opts.Services {
		if _, err := p.service(ctx, fn); err != nil {
			return nil, fail(op, fn, err)
		}
		return nil, nil
	}
	if _, err := p.c.Functions.GetFunction(ctx, &functionspb.GetFunctionRequest{Name: p.functionName(fn)}); err != nil {
		return nil, fail(op, fn, fmt.Errorf("get function: %w", translate(ctx, err, conflictIsConflict)))
	}
	return nil, nil
}

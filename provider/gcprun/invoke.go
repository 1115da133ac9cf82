package gcprun

import (
	"context"
	"errors"
	"fmt"

	"cloud.google.com/go/run/apiv2/runpb"

	"github.com/slipway-dev/slipway/provider"
)

var _ provider.Invoker = (*Provider)(nil)

// MaxInvokeRequest is the largest request body Invoke sends: Cloud Run's
// limit for HTTP/1 requests is 32 MiB ("Cloud Run quotas and limits",
// maximum HTTP/1 request size).
const MaxInvokeRequest = 32 << 20

// Invoke POSTs in.Payload (Content-Type application/json) to the URL that
// reaches in.Qualifier, with Options.InvokeClient:
//
//   - the split route (Options.Route, "live"): the service's URL
//     (Service.uri), where the traffic split picks a revision;
//   - a traffic tag: the tag's URL (TrafficTargetStatus.uri,
//     https://TAG---SERVICE…), which reaches its revision only;
//   - a revision ID: the URL of a tag that pins it. Cloud Run reaches one
//     revision only through a tag, so an untagged revision is
//     ErrUnsupported (tag it with a route first).
//
// A 2xx answer is success; 429 is *provider.ThrottleError (with
// Retry-After); 401 and 403 are errors (the client may not invoke:
// roles/run.invoker); any other status is the function's failure,
// reported as FunctionError "HTTP <status>" with the body. ExecutedVersion
// is the revision a tag pins, "" for the split (Cloud Run does not say
// which revision answered). ErrNotFound for a missing function, route or
// revision; ErrInvalid for an empty qualifier or a payload over
// MaxInvokeRequest.
func (p *Provider) Invoke(ctx context.Context, fn string, in provider.InvokeInput) (provider.InvokeOutput, error) {
	const op = "invoke"
	if err := checkFunction(ctx, op, fn); err != nil {
		return provider.InvokeOutput{}, err
	}
	if err := in.Validate(); err != nil {
		return provider.InvokeOutput{}, fail(op, fn, err)
	}
	if err := in.CheckPayload(MaxInvokeRequest, "Cloud Run"); err != nil {
		return provider.InvokeOutput{}, fail(op, fn, err)
	}
	svc, err := p.service(ctx, fn)
	if err != nil {
		return provider.InvokeOutput{}, fail(op, fn, err)
	}
	url, version, err := p.invokeURL(ctx, fn, svc, in.Qualifier)
	if err != nil {
		return provider.InvokeOutput{}, fail(op, fn, err)
	}
	out, err := provider.InvokeHTTP(ctx, p.opts.InvokeClient, url, in.Payload, MaxInvokeRequest,
		"the caller needs roles/run.invoker and an ID token: set Options.InvokeClient")
	if err != nil {
		return provider.InvokeOutput{}, fail(op, fn, err)
	}
	out.ExecutedVersion = version
	return out, nil
}

// invokeURL returns the URL that reaches qualifier and the revision it
// pins ("" for the split).
func (p *Provider) invokeURL(ctx context.Context, fn string, svc *runpb.Service, qualifier string) (string, string, error) {
	routes := p.routesOf(svc)
	if qualifier == p.opts.Route {
		if _, ok := routes[qualifier]; !ok || svc.GetUri() == "" {
			return "", "", fmt.Errorf("%w: route %q", provider.ErrNotFound, qualifier)
		}
		return svc.GetUri(), "", nil
	}
	for _, st := range svc.GetTrafficStatuses() {
		if st.GetTag() == qualifier && st.GetUri() != "" {
			return st.GetUri(), st.GetRevision(), nil
		}
	}
	if _, ok := routes[qualifier]; ok {
		return "", "", fmt.Errorf("%w: route %q has no URL yet", provider.ErrUnavailable, qualifier)
	}
	for _, st := range svc.GetTrafficStatuses() {
		if st.GetRevision() == qualifier && st.GetTag() != "" && st.GetUri() != "" {
			return st.GetUri(), qualifier, nil
		}
	}
	if _, err := p.Version(ctx, fn, qualifier); err != nil {
		var pe *provider.Error
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", "", err
	}
	return "", "", fmt.Errorf("%w: revision %s has no traffic tag: Cloud Run reaches one revision only through a tag's URL", provider.ErrUnsupported, qualifier)
}

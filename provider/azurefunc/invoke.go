package azurefunc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/slipway-dev/slipway/provider"
)

var _ provider.Invoker = (*Provider)(nil)

// MaxInvokeRequest is the largest request body Invoke sends: the Functions
// host's default HTTP request limit is 100 MB (FUNCTIONS_REQUEST_BODY_SIZE_LIMIT,
// "Azure Functions HTTP trigger", limits; unverified, see docs/release-steps.md).
const MaxInvokeRequest = 100 << 20

// Invoke POSTs in.Payload (Content-Type application/json) to
// https://HOST + Options.InvokePath with Options.InvokeClient, where HOST
// is the default host name of the slot that in.Qualifier reaches:
//
//   - the production route: the app's host (APP.azurewebsites.net), where
//     the ramp-up rule sends its share to the ramp-up slot;
//   - another route: its slot's host (APP-SLOT.azurewebsites.net), the
//     staging slot host for "staging";
//   - a version ID: the host of a route that runs only that version (Azure
//     runs a version only in a slot, so a version no slot runs is
//     ErrUnsupported).
//
// ExecutedVersion is the version the slot runs, "" while production
// splits. A 2xx answer is success; 429 is *provider.ThrottleError; 401 and
// 403 are errors (set a function key with Options.InvokeClient); any other
// status is the function's failure (FunctionError "HTTP <status>").
// ErrUnsupported without Options.InvokePath (the adapter does not know the
// HTTP function's route); ErrNotFound for a missing app, route or version.
func (p *Provider) Invoke(ctx context.Context, fn string, in provider.InvokeInput) (provider.InvokeOutput, error) {
	const op = "invoke"
	if err := checkFunction(op, fn); err != nil {
		return provider.InvokeOutput{}, err
	}
	if err := in.Validate(); err != nil {
		return provider.InvokeOutput{}, fail(op, fn, err)
	}
	if p.opts.InvokePath == "" {
		return provider.InvokeOutput{}, fail(op, fn, fmt.Errorf("%w: Options.InvokePath names no HTTP function to invoke", provider.ErrUnsupported))
	}
	if err := in.CheckPayload(MaxInvokeRequest, "the Functions host"); err != nil {
		return provider.InvokeOutput{}, fail(op, fn, err)
	}
	host, version, err := p.invokeHost(ctx, fn, in.Qualifier)
	if err != nil {
		return provider.InvokeOutput{}, fail(op, fn, err)
	}
	url := "https://" + host + "/" + strings.TrimPrefix(p.opts.InvokePath, "/")
	out, err := provider.InvokeHTTP(ctx, p.opts.InvokeClient, url, in.Payload, MaxInvokeRequest,
		"a function key is needed: set Options.InvokeClient")
	if err != nil {
		return provider.InvokeOutput{}, fail(op, fn, err)
	}
	out.ExecutedVersion = version
	return out, nil
}

// invokeHost returns the host that reaches qualifier and the version it
// runs ("" while production splits).
func (p *Provider) invokeHost(ctx context.Context, fn, qualifier string) (string, string, error) {
	unwrap := func(err error) error {
		var pe *provider.Error
		if errors.As(err, &pe) {
			return pe.Err
		}
		return err
	}
	routes, err := p.Routes(ctx, fn)
	if err != nil {
		return "", "", unwrap(err)
	}
	hostOf := func(r provider.Route) (string, string, error) {
		version := ""
		if len(r.Weights) == 1 {
			version = r.Primary()
		}
		if r.Alias == p.prod {
			site, err := p.web.Get(ctx, p.resourceGroup, fn, nil)
			if err != nil {
				return "", "", fmt.Errorf("get site: %w", translate(err))
			}
			if site.Properties == nil || site.Properties.DefaultHostName == nil {
				return "", "", fmt.Errorf("%w: the app has no default host name", provider.ErrUnavailable)
			}
			return *site.Properties.DefaultHostName, version, nil
		}
		host, err := p.slotHost(ctx, fn, r.Alias)
		return host, version, err
	}
	for _, r := range routes {
		if r.Alias == qualifier {
			return hostOf(r)
		}
	}
	for _, r := range routes {
		if len(r.Weights) == 1 && r.Primary() == qualifier {
			return hostOf(r)
		}
	}
	if _, err := p.Version(ctx, fn, qualifier); err != nil {
		if errors.Is(err, provider.ErrNotFound) {
			return "", "", fmt.Errorf("%w: no route or version %q", provider.ErrNotFound, qualifier)
		}
		return "", "", unwrap(err)
	}
	return "", "", fmt.Errorf("%w: no slot runs version %s alone: Azure runs a version only in a slot", provider.ErrUnsupported, qualifier)
}

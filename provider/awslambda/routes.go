package awslambda

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/slipway-dev/slipway/provider"
)

// Route returns alias of fn (GetAlias). Weights[0] is the alias's
// FunctionVersion with the traffic the additional version does not take;
// the additional version of RoutingConfig follows. Revision is the alias's
// RevisionId.
func (p *Provider) Route(ctx context.Context, fn, alias string) (provider.Route, error) {
	const op = "route"
	if err := checkFunction(op, fn); err != nil {
		return provider.Route{}, err
	}
	if err := provider.CheckName("alias", alias); err != nil {
		return provider.Route{}, fail(op, fn, err)
	}
	out, err := p.lc.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(fn), Name: aws.String(alias)})
	if err != nil {
		return provider.Route{}, fail(op, fn, fmt.Errorf("get alias %s: %w", alias, translate(err, conflictIsConflict)))
	}
	return routeOf(aws.ToString(out.Name), aws.ToString(out.FunctionVersion), out.RoutingConfig, aws.ToString(out.RevisionId)), nil
}

// Routes returns every alias of fn ordered by name (ListAliases, paged).
func (p *Provider) Routes(ctx context.Context, fn string) ([]provider.Route, error) {
	const op = "routes"
	if err := checkFunction(op, fn); err != nil {
		return nil, err
	}
	aliases, err := p.aliases(ctx, fn)
	if err != nil {
		return nil, fail(op, fn, err)
	}
	routes := make([]provider.Route, 0, len(aliases))
	for _, a := range aliases {
		routes = append(routes, routeOf(aws.ToString(a.Name), aws.ToString(a.FunctionVersion), a.RoutingConfig, aws.ToString(a.RevisionId)))
	}
	slices.SortFunc(routes, func(a, b provider.Route) int { return strings.Compare(a.Alias, b.Alias) })
	return routes, nil
}

func (p *Provider) aliases(ctx context.Context, fn string) ([]types.AliasConfiguration, error) {
	var all []types.AliasConfiguration
	pg := lambda.NewListAliasesPaginator(p.lc, &lambda.ListAliasesInput{FunctionName: aws.String(fn)})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list aliases: %w", translate(err, conflictIsConflict))
		}
		all = append(all, out.Aliases...)
	}
	return all, nil
}

// SetRoute writes alias r.Alias of fn: CreateAlias when r.Revision is
// empty (ErrConflict when the alias exists), otherwise UpdateAlias with
// r.Revision as RevisionId (ErrConflict when stale). Weights[0] becomes
// FunctionVersion and a second weight becomes the one entry of
// RoutingConfig.AdditionalVersionWeights as BasisPoints/10000 (a weight of
// zero is kept, so the route reads back as written and the version stays
// referenced); an UpdateAlias to a single version sends an empty map, which
// clears the routing. The alias's description is left as it is.
//
// Checked before any call: r.Validate and Capabilities().CheckRoute
// (ErrInvalid, ErrUnsupported), and every version is a version number —
// a route never points at $LATEST or an alias (ErrInvalid). A version that
// does not exist is reported as ErrInvalid after Lambda refuses it.
//
// API calls: one CreateAlias or UpdateAlias. Only when Lambda answers
// ResourceNotFoundException does SetRoute read the named versions
// (GetFunctionConfiguration) to tell a missing function (ErrNotFound), a
// missing version (ErrInvalid) and a missing alias (ErrNotFound, when
// r.Revision names one to update) apart.
func (p *Provider) SetRoute(ctx context.Context, fn string, r provider.Route) (provider.Route, error) {
	const op = "set route"
	if err := checkFunction(op, fn); err != nil {
		return provider.Route{}, err
	}
	if err := p.caps.CheckRoute(r); err != nil {
		return provider.Route{}, fail(op, fn, err)
	}
	if len(r.Weights) > 2 {
		// Lambda's own limit, whatever Options.Capabilities says.
		return provider.Route{}, fail(op, fn, fmt.Errorf("%w: route %q names %d versions; a Lambda alias routes to at most 2", provider.ErrUnsupported, r.Alias, len(r.Weights)))
	}
	for i, w := range r.Weights {
		if !isVersionNumber(w.Version) {
			return provider.Route{}, fail(op, fn, provider.Invalid(fmt.Sprintf("route %q", r.Alias), fmt.Sprintf("weights[%d].version", i),
				fmt.Sprintf("%q is not a published version number (a route never points at $LATEST or an alias)", w.Version)))
		}
	}
	primary := r.Weights[0].Version
	weights := map[string]float64{}
	for _, w := range r.Weights[1:] {
		weights[w.Version] = WeightOf(w.BasisPoints)
	}

	var (
		out *types.AliasConfiguration
		err error
	)
	if r.Revision == "" {
		in := &lambda.CreateAliasInput{FunctionName: aws.String(fn), Name: aws.String(r.Alias), FunctionVersion: aws.String(primary)}
		if len(weights) > 0 {
			in.RoutingConfig = &types.AliasRoutingConfiguration{AdditionalVersionWeights: weights}
		}
		p.debug(ctx, "set route: create alias", "function", fn, "alias", r.Alias, "weights", r.Weights)
		var o *lambda.CreateAliasOutput
		if o, err = p.lc.CreateAlias(ctx, in); err == nil {
			out = &types.AliasConfiguration{Name: o.Name, FunctionVersion: o.FunctionVersion, RoutingConfig: o.RoutingConfig, RevisionId: o.RevisionId}
		}
	} else {
		in := &lambda.UpdateAliasInput{
			FunctionName: aws.String(fn), Name: aws.String(r.Alias), FunctionVersion: aws.String(primary),
			RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: weights},
			RevisionId:    aws.String(r.Revision),
		}
		p.debug(ctx, "set route: update alias", "function", fn, "alias", r.Alias, "weights", r.Weights)
		var o *lambda.UpdateAliasOutput
		if o, err = p.lc.UpdateAlias(ctx, in); err == nil {
			out = &types.AliasConfiguration{Name: o.Name, FunctionVersion: o.FunctionVersion, RoutingConfig: o.RoutingConfig, RevisionId: o.RevisionId}
		}
	}
	if err != nil {
		verb := "update"
		if r.Revision == "" {
			verb = "create"
		}
		terr := translate(err, conflictIsConflict)
		if errors.Is(terr, provider.ErrNotFound) {
			terr = p.explainNotFound(ctx, fn, r, err, terr)
		}
		return provider.Route{}, fail(op, fn, fmt.Errorf("%s alias %s: %w", verb, r.Alias, terr))
	}
	return routeOf(aws.ToString(out.Name), aws.ToString(out.FunctionVersion), out.RoutingConfig, aws.ToString(out.RevisionId)), nil
}

// explainNotFound tells apart what a ResourceNotFoundException from
// CreateAlias/UpdateAlias was about (Lambda names it only in the message).
// sdkErr is Lambda's error and translated its translation.
func (p *Provider) explainNotFound(ctx context.Context, fn string, r provider.Route, sdkErr, translated error) error {
	for i, w := range r.Weights {
		_, err := p.lc.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(fn), Qualifier: aws.String(w.Version)})
		if err == nil {
			continue
		}
		if !errors.Is(translate(err, conflictIsConflict), provider.ErrNotFound) {
			return translated
		}
		if _, ferr := p.lc.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(fn)}); ferr != nil {
			return translated // the function itself is missing (or unreadable)
		}
		return errors.Join(provider.Invalid(fmt.Sprintf("route %q", r.Alias), fmt.Sprintf("weights[%d].version", i), fmt.Sprintf("version %s is not published", w.Version)), sdkErr)
	}
	return translated
}

// DeleteVersion deletes version id of fn with DeleteFunction and the
// version as Qualifier. Before that call it refuses, with ErrInUse, the
// newest published version and any version an alias routes to (primary or
// additional, zero weight included) — Lambda would refuse the latter too
// (ResourceConflictException, also mapped to ErrInUse, which covers an
// alias created between the check and the call). ErrNotFound when the
// version does not exist; an ID that is not a version number ("$LATEST")
// is never deletable this way and is ErrNotFound too.
//
// API calls: GetFunction of the next version number (a newer version
// exists, so id is not the newest; GetFunction has its own quota, outside
// the control plane's 15 requests per second), else ListVersionsByFunction
// (all pages, to find the newest version); then ListAliases and
// DeleteFunction. So a delete of an old version costs two control-plane
// requests (Capabilities.DeleteRequests) where the versions after it are
// numbered without gaps, as they are until a prune leaves gaps.
func (p *Provider) DeleteVersion(ctx context.Context, fn, id string) error {
	const op = "delete version"
	if err := checkFunction(op, fn); err != nil {
		return err
	}
	if err := provider.CheckName("version", id); err != nil {
		return fail(op, fn, err)
	}
	if !isVersionNumber(id) {
		return fail(op, fn, fmt.Errorf("%w: version %q: Lambda version IDs are numbers", provider.ErrNotFound, id))
	}
	newer, err := p.newerExists(ctx, fn, id)
	if err != nil {
		return fail(op, fn, err)
	}
	if !newer {
		found, newest := false, 0
		for c, err := range p.versionConfigs(ctx, fn) {
			if err != nil {
				return fail(op, fn, err)
			}
			v := aws.ToString(c.Version)
			n, _ := strconv.Atoi(v)
			newest = max(newest, n)
			found = found || v == id
		}
		if !found {
			return fail(op, fn, fmt.Errorf("%w: version %s", provider.ErrNotFound, id))
		}
		if n, _ := strconv.Atoi(id); n == newest {
			return fail(op, fn, fmt.Errorf("%w: version %s is the newest version, which is never deleted", provider.ErrInUse, id))
		}
	}
	aliases, err := p.aliases(ctx, fn)
	if err != nil {
		return fail(op, fn, err)
	}
	var users []string
	for _, a := range aliases {
		if routeOf(aws.ToString(a.Name), aws.ToString(a.FunctionVersion), a.RoutingConfig, "").References(id) {
			users = append(users, aws.ToString(a.Name))
		}
	}
	if len(users) > 0 {
		slices.Sort(users)
		return fail(op, fn, fmt.Errorf("%w: version %s is routed to by alias %s", provider.ErrInUse, id, strings.Join(users, ", ")))
	}
	p.debug(ctx, "delete version", "function", fn, "version", id)
	if _, err := p.lc.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(fn), Qualifier: aws.String(id)}); err != nil {
		return fail(op, fn, fmt.Errorf("delete version %s: %w", id, translate(err, conflictIsInUse)))
	}
	return nil
}

// newerExists reports whether version id+1 of fn exists, with GetFunction:
// then id is not the newest version (version numbers only grow). false
// means "not known": the next number may have been deleted.
func (p *Provider) newerExists(ctx context.Context, fn, id string) (bool, error) {
	n, err := strconv.Atoi(id)
	if err != nil {
		return false, nil
	}
	_, err = p.lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(fn), Qualifier: aws.String(strconv.Itoa(n + 1))})
	switch err := translate(err, conflictIsConflict); {
	case err == nil:
		return true, nil
	case errors.Is(err, provider.ErrNotFound):
		return false, nil
	default:
		return false, fmt.Errorf("read version %d: %w", n+1, err)
	}
}

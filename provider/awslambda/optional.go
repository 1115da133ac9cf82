package awslambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/slipway-dev/slipway/provider"
)

// EventSources lists the event-source mappings of fn
// (ListEventSourceMappings with the unqualified function name, paged; the
// service's page cap is 100). Each mapping's Qualifier is read from its
// FunctionArn: "" for the unqualified function, an alias name, or a version
// number — a mapping pinned to a version does not follow releases.
//
// That an unqualified FunctionName lists the mappings of every version and
// alias is how the emulator behaves; the API reference does not say it
// (unverified).
func (p *Provider) EventSources(ctx context.Context, fn string) ([]provider.EventSource, error) {
	const op = "event sources"
	if err := checkFunction(op, fn); err != nil {
		return nil, err
	}
	var out []provider.EventSource
	pg := lambda.NewListEventSourceMappingsPaginator(p.lc, &lambda.ListEventSourceMappingsInput{FunctionName: aws.String(fn)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fail(op, fn, fmt.Errorf("list event source mappings: %w", translate(err, conflictIsConflict)))
		}
		for _, m := range page.EventSourceMappings {
			out = append(out, provider.EventSource{
				ID:        aws.ToString(m.UUID),
				Source:    aws.ToString(m.EventSourceArn),
				Qualifier: qualifierOf(aws.ToString(m.FunctionArn)),
				State:     aws.ToString(m.State),
			})
		}
	}
	return out, nil
}

// qualifierOf returns the qualifier of a function ARN
// (arn:aws:lambda:region:account:function:name[:qualifier]), "" when
// unqualified.
func qualifierOf(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) == 8 {
		return parts[7]
	}
	return ""
}

// Usage reports the versions of fn in use other than through a route:
// provisioned concurrency configured on a version
// (ListProvisionedConcurrencyConfigs) and event-source mappings pinned to a
// version (see EventSources). Aliases are not reported: routes are.
func (p *Provider) Usage(ctx context.Context, fn string) ([]provider.Usage, error) {
	const op = "usage"
	if err := checkFunction(op, fn); err != nil {
		return nil, err
	}
	var out []provider.Usage
	pg := lambda.NewListProvisionedConcurrencyConfigsPaginator(p.lc, &lambda.ListProvisionedConcurrencyConfigsInput{FunctionName: aws.String(fn)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fail(op, fn, fmt.Errorf("list provisioned concurrency: %w", translate(err, conflictIsConflict)))
		}
		for _, c := range page.ProvisionedConcurrencyConfigs {
			if q := qualifierOf(aws.ToString(c.FunctionArn)); isVersionNumber(q) {
				out = append(out, provider.Usage{Version: q, Reason: fmt.Sprintf("provisioned concurrency (%d requested)", aws.ToInt32(c.RequestedProvisionedConcurrentExecutions))})
			}
		}
	}
	sources, err := p.EventSources(ctx, fn)
	if err != nil {
		return nil, err
	}
	for _, s := range sources {
		if isVersionNumber(s.Qualifier) {
			out = append(out, provider.Usage{Version: s.Qualifier, Reason: "event source " + s.Source})
		}
	}
	return out, nil
}

// Permissions reads the resource-based policy of fn, or of one qualifier
// (version or alias), with GetPolicy, and returns its Allow statements.
// A statement is Public when its principal is "*" (or {"AWS": "*"}) and no
// condition narrows the caller (AWS:SourceArn, AWS:SourceAccount,
// AWS:SourceOwner, aws:PrincipalOrgID); a function URL permission with
// lambda:FunctionUrlAuthType NONE and principal "*" is therefore public,
// one with AWS_IAM is not (callers must sign with IAM credentials).
//
// A function or qualifier without a policy has no permissions (nil, nil);
// Lambda answers that with ResourceNotFoundException too, so on that error
// Permissions reads the qualifier's configuration to tell it from a missing
// function or version (ErrNotFound).
func (p *Provider) Permissions(ctx context.Context, fn, qualifier string) ([]provider.Permission, error) {
	const op = "permissions"
	if err := checkFunction(op, fn); err != nil {
		return nil, err
	}
	in := &lambda.GetPolicyInput{FunctionName: aws.String(fn)}
	if qualifier != "" {
		in.Qualifier = aws.String(qualifier)
	}
	out, err := p.lc.GetPolicy(ctx, in)
	if err != nil {
		terr := translate(err, conflictIsConflict)
		if !errors.Is(terr, provider.ErrNotFound) {
			return nil, fail(op, fn, fmt.Errorf("get policy: %w", terr))
		}
		ci := &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(fn), Qualifier: in.Qualifier}
		if _, cerr := p.lc.GetFunctionConfiguration(ctx, ci); cerr != nil {
			return nil, fail(op, fn, fmt.Errorf("get policy: %w", translate(cerr, conflictIsConflict)))
		}
		return nil, nil
	}
	perms, err := parsePolicy(aws.ToString(out.Policy))
	if err != nil {
		return nil, fail(op, fn, err)
	}
	return perms, nil
}

// policyDoc is the part of an IAM policy document Permissions reads.
// Principal and Action may be a string or a list/map, so they stay raw.
type policyDoc struct {
	Statement []struct {
		Sid       string                     `json:"Sid"`
		Effect    string                     `json:"Effect"`
		Principal json.RawMessage            `json:"Principal"`
		Action    json.RawMessage            `json:"Action"`
		Condition map[string]json.RawMessage `json:"Condition"`
	} `json:"Statement"`
}

// narrowingKeys are condition keys that restrict who may invoke, compared
// case-insensitively as IAM does for condition keys.
var narrowingKeys = []string{"aws:sourcearn", "aws:sourceaccount", "aws:sourceowner", "aws:principalorgid", "aws:principalaccount"}

func parsePolicy(doc string) ([]provider.Permission, error) {
	var d policyDoc
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return nil, fmt.Errorf("%w: the policy is not a JSON policy document: %w", provider.ErrUnavailable, err)
	}
	var out []provider.Permission
	for _, st := range d.Statement {
		if st.Effect != "Allow" {
			continue
		}
		principals := stringsOf(st.Principal)
		perm := provider.Permission{
			ID:        st.Sid,
			Principal: strings.Join(principals, ","),
			Action:    strings.Join(stringsOf(st.Action), ","),
		}
		anyone := slices.Contains(principals, "*")
		narrowed := false
		for _, keys := range st.Condition {
			var m map[string]json.RawMessage
			if json.Unmarshal(keys, &m) != nil {
				continue
			}
			for k, v := range m {
				key := strings.ToLower(k)
				narrowed = narrowed || slices.Contains(narrowingKeys, key) ||
					key == "lambda:functionurlauthtype" && slices.Contains(stringsOf(v), "AWS_IAM")
			}
		}
		perm.Public = anyone && !narrowed
		out = append(out, perm)
	}
	return out, nil
}

// stringsOf flattens a policy element: "x", ["x","y"] or
// {"AWS": "x", "Service": ["y"]} (values only, map keys sorted).
func stringsOf(raw json.RawMessage) []string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) == nil {
		var out []string
		for _, k := range slices.Sorted(maps.Keys(m)) {
			out = append(out, stringsOf(m[k])...)
		}
		return out
	}
	return nil
}

package awslambda

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/slipway-dev/slipway/provider"
)

// WeightOf converts basis points to the weight Lambda's
// RoutingConfig.AdditionalVersionWeights expects: bp/10000 as a float64,
// so 500 (5%) is 0.05.
func WeightOf(bp int) float64 { return float64(bp) / provider.AllTraffic }

// BasisPointsOf converts a Lambda routing weight back to basis points,
// rounding to the nearest: math.Round(w·10000). Every bp in 0..10000
// survives WeightOf and BasisPointsOf unchanged (the float error of bp/10000
// is far below half a basis point), so a route read back equals the route
// written. Weights Lambda holds that were not written in whole basis points
// (0.00004) are rounded.
func BasisPointsOf(w float64) int { return int(math.Round(w * provider.AllTraffic)) }

// hexToLambda converts a hex SHA-256 to Lambda's CodeSha256 form for a zip
// package: the base64 of the 32 bytes.
func hexToLambda(h string) (string, error) {
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 32 {
		return "", fmt.Errorf("awslambda: %q is not a hex SHA-256", h)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// lambdaToHex converts Lambda's CodeSha256 to hex: the base64 of a zip's
// SHA-256 is decoded; an image function's digest, already hex, is kept.
// Anything else is returned unchanged.
func lambdaToHex(s string) string {
	if len(s) == 64 {
		if _, err := hex.DecodeString(s); err == nil {
			return strings.ToLower(s)
		}
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 32 {
		return hex.EncodeToString(b)
	}
	return s
}

// Labels in version descriptions.
//
// Lambda versions carry no tags of their own (tags belong to the function),
// so labels are stored in the version's Description, which PublishVersion
// sets and which is immutable afterwards, as
//
//	slipway:{"d":"<description>","l":{"<key>":"<value>",…}}
//
// (compact JSON, keys sorted, HTML characters not escaped). A version
// without labels keeps a plain description, readable in the console, unless
// that description itself starts with "slipway:", in which case it is
// encoded too so it reads back unchanged. A description that does not parse
// as this encoding is returned as is with no labels (versions published by
// other tools). The whole description must fit Lambda's 256 characters.
const labelPrefix = "slipway:"

// MaxDescription is Lambda's limit on a version description, in characters.
const MaxDescription = 256

type labelDoc struct {
	D string            `json:"d,omitempty"`
	L map[string]string `json:"l,omitempty"`
}

// EncodeDescription returns the version description that carries desc and
// labels, or an ErrInvalid error when it exceeds MaxDescription characters.
func EncodeDescription(desc string, labels map[string]string) (string, error) {
	out := desc
	if len(labels) > 0 || strings.HasPrefix(desc, labelPrefix) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(labelDoc{D: desc, L: labels}); err != nil {
			return "", provider.Invalid("publish", "labels", err.Error())
		}
		out = labelPrefix + strings.TrimSuffix(buf.String(), "\n")
	}
	if n := utf8.RuneCountInString(out); n > MaxDescription {
		return "", provider.Invalid("publish", "description",
			fmt.Sprintf("with its labels encodes to %d characters; Lambda keeps at most %d", n, MaxDescription))
	}
	return out, nil
}

// DecodeDescription splits a version description into the description and
// labels EncodeDescription stored in it.
func DecodeDescription(s string) (desc string, labels map[string]string) {
	rest, ok := strings.CutPrefix(s, labelPrefix)
	if !ok {
		return s, nil
	}
	var doc labelDoc
	dec := json.NewDecoder(strings.NewReader(rest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil || dec.More() {
		return s, nil
	}
	if len(doc.L) == 0 {
		doc.L = nil
	}
	return doc.D, doc.L
}

// configOf maps a Lambda function configuration to provider.Config.
func configOf(c *types.FunctionConfiguration) provider.Config {
	cfg := provider.Config{
		Runtime: string(c.Runtime),
		Handler: deref(c.Handler),
		Role:    deref(c.Role),
	}
	if c.MemorySize != nil {
		cfg.MemoryMB = int(*c.MemorySize)
	}
	if c.Timeout != nil {
		cfg.Timeout = time.Duration(*c.Timeout) * time.Second
	}
	if c.Environment != nil && len(c.Environment.Variables) > 0 {
		cfg.Environment = maps.Clone(c.Environment.Variables)
	}
	return cfg
}

// versionOf maps a published version's configuration to provider.Version.
func versionOf(c *types.FunctionConfiguration) provider.Version {
	desc, labels := DecodeDescription(deref(c.Description))
	v := provider.Version{
		ID:          deref(c.Version),
		CodeSHA256:  lambdaToHex(deref(c.CodeSha256)),
		Config:      configOf(c),
		Description: desc,
		Labels:      labels,
	}
	if c.LastModified != nil {
		if t, err := parseLastModified(*c.LastModified); err == nil {
			v.Created = t
		}
	}
	return v
}

// parseLastModified reads Lambda's LastModified (ISO 8601 with
// milliseconds and a numeric zone, e.g. 2019-10-26T16:19:47.412+0000).
func parseLastModified(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("awslambda: unrecognised LastModified %q", s)
}

// routeOf maps an alias to a provider.Route: the primary version first with
// the rest of the traffic, then the additional version.
func routeOf(name, primary string, routing *types.AliasRoutingConfiguration, revision string) provider.Route {
	r := provider.Route{Alias: name, Revision: revision}
	rest := provider.AllTraffic
	var extra []provider.Weight
	if routing != nil {
		for v, w := range routing.AdditionalVersionWeights {
			bp := BasisPointsOf(w)
			rest -= bp
			extra = append(extra, provider.Weight{Version: v, BasisPoints: bp})
		}
	}
	slices.SortFunc(extra, func(a, b provider.Weight) int { return strings.Compare(a.Version, b.Version) })
	r.Weights = append([]provider.Weight{{Version: primary, BasisPoints: rest}}, extra...)
	return r
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// isVersionNumber reports whether id is a published version's number.
func isVersionNumber(id string) bool {
	if id == "" || len(id) > 10 {
		return false
	}
	for i := range len(id) {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}

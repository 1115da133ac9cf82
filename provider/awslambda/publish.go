package awslambda

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"maps"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/slipway-dev/slipway/provider"
)

// code is an artifact as UpdateFunctionCode takes it, with the CodeSha256
// Lambda will report for it ("" when it cannot be known before the upload:
// an S3 object or an image tag given without Artifact.SHA256).
type code struct {
	zip       []byte
	bucket    string
	key       string
	objectVer string
	image     string
	sha       string // Lambda's form: base64 for zip packages, hex digest for images
}

// codeOf checks an artifact and converts it. Lambda reports a .zip
// package's CodeSha256 as the base64 of its SHA-256 and an image's as the
// hex image digest.
func codeOf(a provider.Artifact) (code, error) {
	switch {
	case a.Zip != nil:
		sum := sha256.Sum256(a.Zip)
		h := hex.EncodeToString(sum[:])
		if a.SHA256 != "" && a.SHA256 != h {
			return code{}, provider.Invalid("publish", "artifact.sha256", fmt.Sprintf("%s does not match the zip's SHA-256 %s", a.SHA256, h))
		}
		sha, err := hexToLambda(h)
		if err != nil {
			return code{}, err
		}
		return code{zip: a.Zip, sha: sha}, nil
	case a.URI != "":
		u, err := url.Parse(a.URI)
		if err != nil || u.Scheme != "s3" || u.Host == "" || strings.TrimPrefix(u.Path, "/") == "" {
			return code{}, provider.Invalid("publish", "artifact.uri", fmt.Sprintf("%q is not s3://bucket/key[?versionId=…]", a.URI))
		}
		c := code{bucket: u.Host, key: strings.TrimPrefix(u.Path, "/"), objectVer: u.Query().Get("versionId")}
		if a.SHA256 != "" {
			if c.sha, err = hexToLambda(a.SHA256); err != nil {
				return code{}, provider.Invalid("publish", "artifact.sha256", err.Error())
			}
		}
		return c, nil
	default:
		c := code{image: a.Image, sha: a.SHA256}
		if _, d, ok := strings.Cut(a.Image, "@sha256:"); ok {
			if a.SHA256 != "" && d != a.SHA256 {
				return code{}, provider.Invalid("publish", "artifact.sha256", fmt.Sprintf("%s does not match the image digest %s", a.SHA256, d))
			}
			if c.sha == "" && isHex64(d) {
				c.sha = d
			}
		}
		return c, nil
	}
}

func isHex64(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == 32 && strings.ToLower(s) == s
}

// Lambda's defaults for a configuration field left zero.
const (
	defaultMemoryMB = 128
	defaultTimeout  = 3 * time.Second
)

// overlay returns the configuration $LATEST has after Publish asked for
// want while it had cur: want, with Lambda's defaults for a zero MemoryMB
// (128) and Timeout (3s), no variables for a nil or empty Environment, and
// cur's Runtime, Handler and Role where want leaves them empty (Lambda has
// no default for them and cannot unset them).
func overlay(cur, want provider.Config) provider.Config {
	out := want
	out.Environment = maps.Clone(want.Environment)
	if len(out.Environment) == 0 {
		out.Environment = nil
	}
	if out.Runtime == "" {
		out.Runtime = cur.Runtime
	}
	if out.Handler == "" {
		out.Handler = cur.Handler
	}
	if out.Role == "" {
		out.Role = cur.Role
	}
	if out.MemoryMB == 0 {
		out.MemoryMB = defaultMemoryMB
	}
	if out.Timeout == 0 {
		out.Timeout = defaultTimeout
	}
	return out
}

// satisfies reports whether a version's configuration is what want asks
// for (see overlay).
func satisfies(have, want provider.Config) bool { return overlay(have, want).Equal(have) }

// Publish uploads the artifact to $LATEST, applies the configuration,
// waits for LastUpdateStatus to become Successful after each update, and
// publishes a version with the CodeSha256 and RevisionId preconditions, so
// exactly the uploaded code and configuration are published and a
// concurrent writer makes Publish fail with ErrConflict instead of
// publishing someone else's code.
//
// Configuration: in.Config is the version's whole configuration: a zero
// MemoryMB or Timeout means Lambda's default (128 MB, 3 s), a nil or empty
// Environment means no variables; an empty Runtime, Handler or Role keeps
// the function's (Lambda has no default for them and cannot unset them).
// Timeout must be whole seconds.
//
// Idempotency: when the code hash is known before the upload (a zip, or
// Artifact.SHA256 set, or an image by digest), Publish first looks for the
// newest existing version with that CodeSha256 and that configuration,
// and returns it without any write. Otherwise
// the lookup happens after the upload, with the hash Lambda reports. Lambda
// itself, asked to publish unchanged code and configuration, returns its
// newest version; Publish returns that too.
//
// Labels and the description are stored in the version's Description (see
// EncodeDescription); ErrInvalid when they do not fit 256 characters.
//
// API calls, in order: ListVersionsByFunction (pages of 50, when the hash
// is known), GetFunctionConfiguration($LATEST), UpdateFunctionCode (unless
// $LATEST already has the code), GetFunctionConfiguration every
// PollInterval until settled, UpdateFunctionConfiguration and polls again
// (only when the configuration differs), PublishVersion.
func (p *Provider) Publish(ctx context.Context, fn string, in provider.PublishInput) (provider.Version, error) {
	const op = "publish"
	if err := checkFunction(op, fn); err != nil {
		return provider.Version{}, err
	}
	if err := in.Validate(); err != nil {
		return provider.Version{}, fail(op, fn, err)
	}
	if in.Config.Timeout%time.Second != 0 {
		return provider.Version{}, fail(op, fn, provider.Invalid("publish", "config.timeout", fmt.Sprintf("%s is not whole seconds (Lambda's Timeout is an integer of seconds)", in.Config.Timeout)))
	}
	desc, err := EncodeDescription(in.Description, in.Labels)
	if err != nil {
		return provider.Version{}, fail(op, fn, err)
	}
	c, err := codeOf(in.Artifact)
	if err != nil {
		return provider.Version{}, fail(op, fn, err)
	}

	knownBefore := c.sha != ""
	if knownBefore {
		v, ok, err := p.findVersion(ctx, fn, c.sha, in.Config)
		if err != nil {
			return provider.Version{}, fail(op, fn, err)
		}
		if ok {
			p.debug(ctx, "publish: an existing version has this code and configuration", "function", fn, "version", v.ID)
			return v, nil
		}
	}

	latest, err := p.lc.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(fn)})
	if err != nil {
		return provider.Version{}, fail(op, fn, fmt.Errorf("read $LATEST: %w", translate(err, conflictIsConflict)))
	}
	cfg, err := p.settle(ctx, fn, configFromGetFunctionConfiguration(latest))
	if err != nil {
		return provider.Version{}, fail(op, fn, err)
	}

	if c.sha == "" || aws.ToString(cfg.CodeSha256) != c.sha {
		up := &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(fn), RevisionId: cfg.RevisionId}
		switch {
		case c.zip != nil:
			up.ZipFile = c.zip
		case c.bucket != "":
			up.S3Bucket, up.S3Key = aws.String(c.bucket), aws.String(c.key)
			if c.objectVer != "" {
				up.S3ObjectVersion = aws.String(c.objectVer)
			}
		default:
			up.ImageUri = aws.String(c.image)
		}
		p.debug(ctx, "publish: updating code", "function", fn)
		out, err := p.lc.UpdateFunctionCode(ctx, up)
		if err != nil {
			return provider.Version{}, fail(op, fn, fmt.Errorf("update code: %w", translate(err, conflictIsConflict)))
		}
		if c.sha != "" && aws.ToString(out.CodeSha256) != c.sha {
			return provider.Version{}, fail(op, fn, fmt.Errorf("%w: Lambda reports CodeSha256 %s for the upload, expected %s", provider.ErrInvalid, aws.ToString(out.CodeSha256), c.sha))
		}
		c.sha = aws.ToString(out.CodeSha256)
		if cfg, err = p.settle(ctx, fn, configFromUpdateFunctionCode(out)); err != nil {
			return provider.Version{}, fail(op, fn, err)
		}
		if err := changedUnderUs(cfg, c.sha); err != nil {
			return provider.Version{}, fail(op, fn, err)
		}
		if c.sha != "" && !knownBefore {
			v, ok, err := p.findVersion(ctx, fn, c.sha, in.Config)
			if err != nil {
				return provider.Version{}, fail(op, fn, err)
			}
			if ok {
				return v, nil
			}
		}
	}

	cur := configOf(cfg)
	if want := overlay(cur, in.Config); !want.Equal(cur) {
		up := configUpdate(fn, cur, want)
		up.RevisionId = cfg.RevisionId
		p.debug(ctx, "publish: updating configuration", "function", fn)
		out, err := p.lc.UpdateFunctionConfiguration(ctx, up)
		if err != nil {
			return provider.Version{}, fail(op, fn, fmt.Errorf("update configuration: %w", translate(err, conflictIsConflict)))
		}
		if cfg, err = p.settle(ctx, fn, configFromUpdateFunctionConfiguration(out)); err != nil {
			return provider.Version{}, fail(op, fn, err)
		}
		if err := changedUnderUs(cfg, c.sha); err != nil {
			return provider.Version{}, fail(op, fn, err)
		}
		if got := configOf(cfg); !got.Equal(want) {
			return provider.Version{}, fail(op, fn, fmt.Errorf("%w: another writer changed the configuration of $LATEST while Publish waited for its update", provider.ErrConflict))
		}
	}

	p.debug(ctx, "publish: publishing version", "function", fn)
	out, err := p.lc.PublishVersion(ctx, &lambda.PublishVersionInput{
		FunctionName: aws.String(fn),
		CodeSha256:   aws.String(c.sha),
		RevisionId:   cfg.RevisionId,
		Description:  aws.String(desc),
	})
	if err != nil {
		terr := translate(err, conflictIsConflict)
		var api smithy.APIError
		if errors.As(err, &api) && api.ErrorCode() == "InvalidParameterValueException" && strings.Contains(api.ErrorMessage(), "CodeSHA256") {
			// The CodeSha256 precondition failed: $LATEST no longer holds
			// the uploaded code, so another writer updated it meanwhile.
			terr = fmt.Errorf("%w: $LATEST changed before its code was published (another writer): %w", provider.ErrConflict, err)
		}
		return provider.Version{}, fail(op, fn, fmt.Errorf("publish version: %w", terr))
	}
	return versionOf(configFromPublishVersion(out)), nil
}

// changedUnderUs reports ErrConflict when $LATEST, once settled, no longer
// holds the code Publish uploaded: another writer updated it while Publish
// waited (Lambda refuses updates only while one is in progress).
func changedUnderUs(cfg *types.FunctionConfiguration, sha string) error {
	if got := aws.ToString(cfg.CodeSha256); got != sha {
		return fmt.Errorf("%w: another writer changed the code of $LATEST (CodeSha256 %s, expected %s) while Publish waited for its update", provider.ErrConflict, got, sha)
	}
	return nil
}

// configUpdate builds the UpdateFunctionConfiguration request that turns
// cur into want, naming only the fields that differ.
func configUpdate(fn string, cur, want provider.Config) *lambda.UpdateFunctionConfigurationInput {
	in := &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(fn)}
	if want.Runtime != cur.Runtime {
		in.Runtime = types.Runtime(want.Runtime)
	}
	if want.Handler != cur.Handler {
		in.Handler = aws.String(want.Handler)
	}
	if want.MemoryMB != cur.MemoryMB {
		in.MemorySize = aws.Int32(int32(want.MemoryMB))
	}
	if want.Timeout != cur.Timeout {
		in.Timeout = aws.Int32(int32(want.Timeout / time.Second))
	}
	if want.Role != cur.Role {
		in.Role = aws.String(want.Role)
	}
	if !maps.Equal(want.Environment, cur.Environment) {
		vars := maps.Clone(want.Environment)
		if vars == nil {
			vars = map[string]string{}
		}
		in.Environment = &types.Environment{Variables: vars}
	}
	return in
}

// settle waits until $LATEST is no longer being updated: while
// LastUpdateStatus is InProgress or State is Pending (the FunctionUpdatedV2
// waiter's rule) it waits PollInterval and reads GetFunctionConfiguration
// again. A Failed update fails with Lambda's LastUpdateStatusReason
// (ErrInvalid; ErrUnavailable for reason code InternalError); ctx ending
// stops the wait.
func (p *Provider) settle(ctx context.Context, fn string, cfg *types.FunctionConfiguration) (*types.FunctionConfiguration, error) {
	for cfg.LastUpdateStatus == types.LastUpdateStatusInProgress || cfg.State == types.StatePending {
		if err := p.sleep(ctx, p.pollInterval()); err != nil {
			return nil, fmt.Errorf("waiting for the update of %s to finish: %w", fn, err)
		}
		out, err := p.lc.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(fn)})
		if err != nil {
			return nil, fmt.Errorf("read $LATEST: %w", translate(err, conflictIsConflict))
		}
		cfg = configFromGetFunctionConfiguration(out)
	}
	if cfg.LastUpdateStatus == types.LastUpdateStatusFailed || cfg.State == types.StateFailed {
		sentinel := provider.ErrInvalid
		if cfg.LastUpdateStatusReasonCode == types.LastUpdateStatusReasonCodeInternalError {
			sentinel = provider.ErrUnavailable
		}
		reason := aws.ToString(cfg.LastUpdateStatusReason)
		if reason == "" {
			reason = aws.ToString(cfg.StateReason)
		}
		return nil, fmt.Errorf("%w: the update of %s failed (%s): %s", sentinel, fn, cfg.LastUpdateStatusReasonCode, reason)
	}
	return cfg, nil
}

// findVersion returns the newest published version with Lambda CodeSha256
// sha whose configuration satisfies want.
func (p *Provider) findVersion(ctx context.Context, fn, sha string, want provider.Config) (provider.Version, bool, error) {
	var found provider.Version
	ok := false
	for c, err := range p.versionConfigs(ctx, fn) {
		if err != nil {
			return provider.Version{}, false, err
		}
		if aws.ToString(c.CodeSha256) != sha {
			continue
		}
		if v := versionOf(c); satisfies(v.Config, want) {
			found, ok = v, true
		}
	}
	return found, ok, nil
}

// versionConfigs yields the configuration of every published version of
// fn in the order Lambda lists them (ascending), skipping $LATEST, 50 per
// ListVersionsByFunction page (the service's cap).
func (p *Provider) versionConfigs(ctx context.Context, fn string) iter.Seq2[*types.FunctionConfiguration, error] {
	return func(yield func(*types.FunctionConfiguration, error) bool) {
		pg := lambda.NewListVersionsByFunctionPaginator(p.lc, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String(fn), MaxItems: aws.Int32(50)})
		for pg.HasMorePages() {
			out, err := pg.NextPage(ctx)
			if err != nil {
				yield(nil, fmt.Errorf("list versions: %w", translate(err, conflictIsConflict)))
				return
			}
			for i := range out.Versions {
				c := &out.Versions[i]
				if !isVersionNumber(aws.ToString(c.Version)) {
					continue
				}
				if !yield(c, nil) {
					return
				}
			}
		}
	}
}

// Version returns version id of fn (GetFunctionConfiguration with the
// version as Qualifier). ErrNotFound when it does not exist; an ID that is
// not a version number ("$LATEST", an alias name) is never a published
// version and is ErrNotFound too, without a call.
func (p *Provider) Version(ctx context.Context, fn, id string) (provider.Version, error) {
	const op = "version"
	if err := checkFunction(op, fn); err != nil {
		return provider.Version{}, err
	}
	if err := provider.CheckName("version", id); err != nil {
		return provider.Version{}, fail(op, fn, err)
	}
	if !isVersionNumber(id) {
		return provider.Version{}, fail(op, fn, fmt.Errorf("%w: version %q: Lambda version IDs are numbers", provider.ErrNotFound, id))
	}
	out, err := p.lc.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(fn), Qualifier: aws.String(id)})
	if err != nil {
		return provider.Version{}, fail(op, fn, fmt.Errorf("version %s: %w", id, translate(err, conflictIsConflict)))
	}
	return versionOf(configFromGetFunctionConfiguration(out)), nil
}

// Versions yields the published versions of fn, oldest first, paging
// ListVersionsByFunction (50 per page) and skipping $LATEST.
func (p *Provider) Versions(ctx context.Context, fn string) iter.Seq2[provider.Version, error] {
	return func(yield func(provider.Version, error) bool) {
		if err := checkFunction("versions", fn); err != nil {
			yield(provider.Version{}, err)
			return
		}
		for c, err := range p.versionConfigs(ctx, fn) {
			if err != nil {
				yield(provider.Version{}, fail("versions", fn, err))
				return
			}
			if !yield(versionOf(c), nil) {
				return
			}
		}
	}
}

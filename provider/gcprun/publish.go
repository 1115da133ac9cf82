package gcprun

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/functions/apiv2/functionspb"
	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/slipway-dev/slipway/provider"
)

// source is an artifact as a Cloud Functions build takes it.
type source struct {
	zip     []byte
	storage *functionspb.StorageSource // a gs:// object given by URI
	sha     string                     // hex SHA-256 of the code, "" when unknown
}

// sourceOf checks an artifact and converts it: a zip (uploaded through
// GenerateUploadUrl) or a gs://bucket/object[#generation] URI. Cloud
// Functions builds from source, so an image is ErrUnsupported.
func sourceOf(a provider.Artifact) (source, error) {
	switch {
	case a.Zip != nil:
		sum := sha256.Sum256(a.Zip)
		h := hex.EncodeToString(sum[:])
		if a.SHA256 != "" && a.SHA256 != h {
			return source{}, provider.Invalid("publish", "artifact.sha256", fmt.Sprintf("%s does not match the zip's SHA-256 %s", a.SHA256, h))
		}
		return source{zip: a.Zip, sha: h}, nil
	case a.URI != "":
		u, err := url.Parse(a.URI)
		obj := strings.TrimPrefix(u.Path, "/")
		if err != nil || u.Scheme != "gs" || u.Host == "" || obj == "" {
			return source{}, provider.Invalid("publish", "artifact.uri", fmt.Sprintf("%q is not gs://bucket/object[#generation]", a.URI))
		}
		st := &functionspb.StorageSource{Bucket: u.Host, Object: obj}
		if u.Fragment != "" {
			g, err := strconv.ParseInt(u.Fragment, 10, 64)
			if err != nil {
				return source{}, provider.Invalid("publish", "artifact.uri", fmt.Sprintf("generation %q is not a number", u.Fragment))
			}
			st.Generation = g
		}
		return source{storage: st, sha: a.SHA256}, nil
	default:
		return source{}, fmt.Errorf("%w: artifact.image: Cloud Functions builds functions from source; deploy a container image to a Cloud Run service instead", provider.ErrUnsupported)
	}
}

// checkConfig checks what Cloud Functions cannot express: timeout_seconds
// is an integer of seconds, at most 3600 for 2nd gen HTTP functions.
func checkConfig(c provider.Config) error {
	if c.Timeout%time.Second != 0 || c.Timeout > time.Hour {
		return provider.Invalid("publish", "config.timeout", fmt.Sprintf("%s is not whole seconds up to 1h (Cloud Functions' timeout_seconds)", c.Timeout))
	}
	return nil
}

func serviceConfig(c provider.Config, allTraffic bool) *functionspb.ServiceConfig {
	sc := &functionspb.ServiceConfig{
		TimeoutSeconds:             int32(c.Timeout / time.Second),
		EnvironmentVariables:       maps.Clone(c.Environment),
		ServiceAccountEmail:        c.Role,
		AllTrafficOnLatestRevision: allTraffic,
	}
	if c.MemoryMB > 0 {
		sc.AvailableMemory = strconv.Itoa(c.MemoryMB) + "Mi"
	}
	return sc
}

// Publish builds and deploys a new revision of fn from the artifact and
// records it, without moving any traffic.
//
// Steps (API calls in order):
//
//  1. GetFunction. A function that does not exist is created
//     (CreateFunction with all_traffic_on_latest_revision; Config.Runtime
//     is then required): its traffic list is empty, 100% to the latest
//     revision, and follows later deploys until the split route is first
//     set.
//  2. GetService of the function's Cloud Run service. When the code hash
//     is known (a zip, or Artifact.SHA256 with a URI) and a recorded
//     revision has it and an equal Config, that revision is returned
//     (GetRevision confirms it still exists): Publish is idempotent.
//  3. UpdateService writing the publish lease annotation with the
//     service's etag (a concurrent Publish holding a live lease makes this
//     one fail with ErrConflict; a stale etag is re-read and retried).
//  4. GenerateUploadUrl and an HTTP PUT of the zip (content-type
//     application/zip, no credentials), for a zip artifact.
//  5. UpdateFunction naming the storage source and the configuration, with
//     all_traffic_on_latest_revision false (true would overwrite the
//     split), then GetOperation every PollInterval until done. Another
//     operation in progress on the function is ErrConflict. Once SetRoute
//     has written the split route, the traffic list names revisions, and
//     a new revision gets no traffic ("Lifecycle of traffic splits").
//  6. GetService + UpdateService recording the revision (AnnotationVersions)
//     and dropping the lease, retried on a stale etag; GetRevision.
//
// Configuration: in.Config is the revision's configuration: MemoryMB
// becomes available_memory ("256Mi"; 0 = the platform default),
// Timeout timeout_seconds (whole seconds, ≤ 1h), Environment the
// environment variables, Role the service account, Runtime and Handler
// the build's runtime and entry point (empty keeps the function's). Two
// publishes are the same version when the code hash and the Config are
// equal.
func (p *Provider) Publish(ctx context.Context, fn string, in provider.PublishInput) (provider.Version, error) {
	const op = "publish"
	if err := checkFunction(ctx, op, fn); err != nil {
		return provider.Version{}, err
	}
	if err := in.Validate(); err != nil {
		return provider.Version{}, fail(op, fn, err)
	}
	if err := checkConfig(in.Config); err != nil {
		return provider.Version{}, fail(op, fn, err)
	}
	if p.opts.Services {
		v, err := p.publishImage(ctx, fn, in)
		if err != nil {
			return provider.Version{}, fail(op, fn, err)
		}
		return v, nil
	}
	src, err := sourceOf(in.Artifact)
	if err != nil {
		return provider.Version{}, fail(op, fn, err)
	}
	rec := Record{SHA256: src.sha, Config: cloneConfig(in.Config), Description: in.Description, Labels: maps.Clone(in.Labels)}
	if len(rec.Config.Environment) == 0 {
		rec.Config.Environment = nil
	}

	f, err := p.c.Functions.GetFunction(ctx, &functionspb.GetFunctionRequest{Name: p.functionName(fn)})
	if isCode(err, codes.NotFound) {
		v, err := p.create(ctx, fn, in, src, rec)
		if err != nil {
			return provider.Version{}, fail(op, fn, err)
		}
		return v, nil
	}
	if err != nil {
		return provider.Version{}, fail(op, fn, fmt.Errorf("get function: %w", translate(ctx, err, conflictIsConflict)))
	}
	svcName := f.GetServiceConfig().GetService()
	if svcName == "" {
		return provider.Version{}, fail(op, fn, fmt.Errorf("%w: the first deploy of %s has not finished", provider.ErrConflict, fn))
	}
	p.services.Store(fn, svcName)
	svc, err := p.getService(ctx, svcName)
	if err != nil {
		return provider.Version{}, fail(op, fn, err)
	}
	if v, ok, err := p.existing(ctx, svc, rec); err != nil || ok {
		if err != nil {
			return provider.Version{}, fail(op, fn, err)
		}
		p.debug(ctx, "publish: a revision has this code and configuration", "function", fn, "version", v.ID)
		return v, nil
	}

	holder := newHolder()
	svc, v, err := p.takeLease(ctx, svc, holder, rec)
	if err != nil {
		return provider.Version{}, fail(op, fn, err)
	}
	if v != nil {
		return *v, nil
	}
	rev, err := p.deploy(ctx, fn, in.Config, src)
	if err != nil {
		p.releaseLease(ctx, svcName, holder)
		return provider.Version{}, fail(op, fn, err)
	}
	if err := p.commit(ctx, svc.Name, holder, rev, rec); err != nil {
		return provider.Version{}, fail(op, fn, err)
	}
	out, err := p.version(ctx, svcName, rev, &rec)
	if err != nil {
		return provider.Version{}, fail(op, fn, err)
	}
	return out, nil
}

// create creates fn with its first revision and records it.
func (p *Provider) create(ctx context.Context, fn string, in provider.PublishInput, src source, rec Record) (provider.Version, error) {
	if in.Config.Runtime == "" {
		return provider.Version{}, provider.Invalid("publish", "config.runtime", fmt.Sprintf("is required to create function %s", fn))
	}
	st, err := p.storage(ctx, src)
	if err != nil {
		return provider.Version{}, err
	}
	p.debug(ctx, "publish: creating function", "function", fn)
	op, err := p.c.Functions.CreateFunction(ctx, &functionspb.CreateFunctionRequest{
		Parent:     p.locationName(),
		FunctionId: fn,
		Function: &functionspb.Function{
			Name: p.functionName(fn),
			BuildConfig: &functionspb.BuildConfig{
				Runtime: in.Config.Runtime, EntryPoint: in.Config.Handler,
				Source: &functionspb.Source{Source: &functionspb.Source_StorageSource{StorageSource: st}},
			},
			ServiceConfig: serviceConfig(in.Config, true),
			Environment:   functionspb.Environment_GEN_2,
		},
	})
	if err != nil {
		return provider.Version{}, fmt.Errorf("create function: %w", translate(ctx, err, conflictIsConflict))
	}
	var f *functionspb.Function
	if err := p.poll(ctx, "the creation of "+fn, func(ctx context.Context) (bool, error) {
		r, err := op.Poll(ctx)
		f = r
		return r != nil, err
	}); err != nil {
		return provider.Version{}, fmt.Errorf("create function: %w", translate(ctx, err, conflictIsConflict))
	}
	svcName, rev := f.GetServiceConfig().GetService(), f.GetServiceConfig().GetRevision()
	if svcName == "" || rev == "" {
		return provider.Version{}, fmt.Errorf("%w: CreateFunction finished without a service revision", provider.ErrUnavailable)
	}
	p.services.Store(fn, svcName)
	if err := p.commit(ctx, svcName, "", rev, rec); err != nil {
		return provider.Version{}, err
	}
	return p.version(ctx, svcName, rev, &rec)
}

// existing returns the newest recorded revision with rec's code hash and
// configuration that still exists.
func (p *Provider) existing(ctx context.Context, svc *runpb.Service, rec Record) (provider.Version, bool, error) {
	if rec.SHA256 == "" {
		return provider.Version{}, false, nil
	}
	var ids []string
	for id, r := range records(svc) {
		if r.SHA256 == rec.SHA256 && r.Config.Equal(rec.Config) {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b string) int { return strings.Compare(b, a) }) // generated names sort by their counter
	for _, id := range ids {
		v, err := p.version(ctx, svc.Name, id, nil)
		if errors.Is(err, provider.ErrNotFound) {
			continue
		}
		if err != nil {
			return provider.Version{}, false, err
		}
		return v, true, nil
	}
	return provider.Version{}, false, nil
}

// maxWrites bounds the re-reads after a stale etag in one call.
const maxWrites = 16

// takeLease writes the publish lease (and pins LATEST targets), retrying
// on a stale etag; a live lease of another holder is ErrConflict. When a
// re-read shows that a concurrent Publish recorded rec meanwhile, that
// version is returned instead.
func (p *Provider) takeLease(ctx context.Context, svc *runpb.Service, holder string, rec Record) (*runpb.Service, *provider.Version, error) {
	for range maxWrites {
		if l, ok := leaseOf(svc); ok && l.Holder != holder && p.now().Before(l.Until) {
			return nil, nil, fmt.Errorf("%w: another Publish of this function holds the lease until %s", provider.ErrConflict, l.Until.UTC().Format(time.RFC3339))
		}
		ann := annotations(svc)
		setJSON(ann, AnnotationLease, Lease{Holder: holder, Until: p.now().Add(p.lease())})
		next := proto.Clone(svc).(*runpb.Service)
		next.Annotations = ann
		p.debug(ctx, "publish: taking the lease", "service", svc.Name)
		out, err := p.updateService(ctx, next, "annotations")
		if err == nil {
			return out, nil, nil
		}
		if !isCode(err, codes.Aborted) {
			return nil, nil, fmt.Errorf("take the publish lease: %w", translate(ctx, err, conflictIsConflict))
		}
		if svc, err = p.getService(ctx, svc.Name); err != nil {
			return nil, nil, err
		}
		if v, ok, err := p.existing(ctx, svc, rec); err != nil || ok {
			return nil, &v, err
		}
	}
	return nil, nil, fmt.Errorf("%w: the service changed on every one of %d attempts to take the publish lease", provider.ErrConflict, maxWrites)
}

// merged folds untagged targets naming one revision into one.
func merged(ts []*runpb.TrafficTarget) []*runpb.TrafficTarget {
	var out []*runpb.TrafficTarget
	for _, t := range ts {
		if t.Tag == "" {
			if i := slices.IndexFunc(out, func(o *runpb.TrafficTarget) bool { return o.Tag == "" && o.Revision == t.Revision && o.Type == t.Type }); i >= 0 {
				out[i].Percent += t.Percent
				continue
			}
		}
		out = append(out, t)
	}
	return out
}

// releaseLease drops holder's lease after a failed deploy, best effort
// (a lease left behind expires after Options.Lease).
func (p *Provider) releaseLease(ctx context.Context, svcName, holder string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	for range maxWrites {
		svc, err := p.getService(ctx, svcName)
		if err != nil {
			return
		}
		if l, ok := leaseOf(svc); !ok || l.Holder != holder {
			return
		}
		next := proto.Clone(svc).(*runpb.Service)
		next.Annotations = annotations(svc)
		delete(next.Annotations, AnnotationLease)
		if _, err := p.updateService(ctx, next, "annotations"); !isCode(err, codes.Aborted) {
			return
		}
	}
}

// commit records rev (and drops holder's lease), retrying on a stale etag.
func (p *Provider) commit(ctx context.Context, svcName, holder, rev string, rec Record) error {
	for range maxWrites {
		svc, err := p.getService(ctx, svcName)
		if err != nil {
			return err
		}
		next := proto.Clone(svc).(*runpb.Service)
		next.Annotations = annotations(svc)
		recs := records(svc)
		recs[rev] = rec
		setJSON(next.Annotations, AnnotationVersions, recs)
		if l, ok := leaseOf(svc); ok && (l.Holder == holder || holder == "") {
			delete(next.Annotations, AnnotationLease)
		}
		p.debug(ctx, "publish: recording the revision", "service", svcName, "revision", rev)
		_, err = p.updateService(ctx, next, "annotations")
		if err == nil {
			return nil
		}
		if !isCode(err, codes.Aborted) {
			return fmt.Errorf("record revision %s: %w", rev, translate(ctx, err, conflictIsConflict))
		}
	}
	return fmt.Errorf("%w: the service changed on every one of %d attempts to record revision %s", provider.ErrConflict, maxWrites, rev)
}

// storage returns the storage source of src, uploading a zip first.
func (p *Provider) storage(ctx context.Context, src source) (*functionspb.StorageSource, error) {
	if src.storage != nil {
		return proto.Clone(src.storage).(*functionspb.StorageSource), nil
	}
	up, err := p.c.Functions.GenerateUploadUrl(ctx, &functionspb.GenerateUploadUrlRequest{Parent: p.locationName(), Environment: functionspb.Environment_GEN_2})
	if err != nil {
		return nil, fmt.Errorf("generate upload URL: %w", translate(ctx, err, conflictIsConflict))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, up.UploadUrl, bytes.NewReader(src.zip))
	if err != nil {
		return nil, fmt.Errorf("%w: upload URL %q: %w", provider.ErrUnavailable, up.UploadUrl, err)
	}
	req.Header.Set("Content-Type", "application/zip")
	p.debug(ctx, "publish: uploading the source", "bytes", len(src.zip))
	resp, err := p.httpClient().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("upload source: %w: %w", ctx.Err(), err)
		}
		return nil, fmt.Errorf("%w: upload source: %w", provider.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	switch {
	case resp.StatusCode/100 == 2:
		return up.StorageSource, nil
	case resp.StatusCode == http.StatusTooManyRequests:
		return nil, &provider.ThrottleError{Err: fmt.Errorf("upload source: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))}
	case resp.StatusCode >= 500:
		return nil, fmt.Errorf("%w: upload source: HTTP %d: %s", provider.ErrUnavailable, resp.StatusCode, strings.TrimSpace(string(body)))
	default:
		return nil, fmt.Errorf("%w: upload source: HTTP %d: %s", provider.ErrInvalid, resp.StatusCode, strings.TrimSpace(string(body)))
	}
}

// deploy updates the function to the source and configuration and waits
// for the operation, returning the new revision's ID.
func (p *Provider) deploy(ctx context.Context, fn string, c provider.Config, src source) (string, error) {
	st, err := p.storage(ctx, src)
	if err != nil {
		return "", err
	}
	paths := []string{
		"build_config.source", "service_config.available_memory", "service_config.timeout_seconds",
		"service_config.environment_variables", "service_config.service_account_email",
		"service_config.all_traffic_on_latest_revision",
	}
	if c.Runtime != "" {
		paths = append(paths, "build_config.runtime")
	}
	if c.Handler != "" {
		paths = append(paths, "build_config.entry_point")
	}
	p.debug(ctx, "publish: updating function", "function", fn)
	op, err := p.c.Functions.UpdateFunction(ctx, &functionspb.UpdateFunctionRequest{
		Function: &functionspb.Function{
			Name: p.functionName(fn),
			BuildConfig: &functionspb.BuildConfig{
				Runtime: c.Runtime, EntryPoint: c.Handler,
				Source: &functionspb.Source{Source: &functionspb.Source_StorageSource{StorageSource: st}},
			},
			ServiceConfig: serviceConfig(c, false),
		},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: paths},
	})
	if err != nil {
		return "", fmt.Errorf("update function: %w", translate(ctx, err, conflictIsConflict))
	}
	var f *functionspb.Function
	if err := p.poll(ctx, "the deploy of "+fn, func(ctx context.Context) (bool, error) {
		r, err := op.Poll(ctx)
		f = r
		return r != nil, err
	}); err != nil {
		return "", fmt.Errorf("update function: %w", translate(ctx, err, conflictIsConflict))
	}
	rev := f.GetServiceConfig().GetRevision()
	if rev == "" {
		return "", fmt.Errorf("%w: UpdateFunction finished without a revision", provider.ErrUnavailable)
	}
	return shortName(rev), nil
}

// version reads revision id of service svcName. rec is its record, or nil
// to read the records from the service.
func (p *Provider) version(ctx context.Context, svcName, id string, rec *Record) (provider.Version, error) {
	rev, err := p.c.Revisions.GetRevision(ctx, &runpb.GetRevisionRequest{Name: svcName + "/revisions/" + id})
	if err != nil {
		return provider.Version{}, fmt.Errorf("version %s: %w", id, translate(ctx, err, conflictIsConflict))
	}
	if rec == nil {
		svc, err := p.getService(ctx, svcName)
		if err != nil {
			return provider.Version{}, err
		}
		if r, ok := records(svc)[id]; ok {
			rec = &r
		}
	}
	return versionOf(rev, rec), nil
}

// versionOf converts a revision and its record (from the service's
// annotation, else the revision's own AnnotationVersion). A revision
// slipway did not record (deployed by other tools) has no code hash,
// description or labels, and the configuration its container shows.
func versionOf(rev *runpb.Revision, rec *Record) provider.Version {
	v := provider.Version{ID: shortName(rev.Name), Created: rev.GetCreateTime().AsTime()}
	if raw := rev.GetAnnotations()[AnnotationVersion]; rec == nil && raw != "" {
		var r Record
		if json.Unmarshal([]byte(raw), &r) == nil {
			rec = &r
		}
	}
	if rec != nil {
		v.CodeSHA256 = rec.SHA256
		v.Config = cloneConfig(rec.Config)
		v.Description = rec.Description
		v.Labels = maps.Clone(rec.Labels)
		return v
	}
	v.Config.Role = rev.ServiceAccount
	v.Config.Timeout = rev.GetTimeout().AsDuration()
	if cs := rev.GetContainers(); len(cs) > 0 {
		for _, e := range cs[0].Env {
			if v.Config.Environment == nil {
				v.Config.Environment = map[string]string{}
			}
			v.Config.Environment[e.Name] = e.GetValue()
		}
		v.Config.MemoryMB = memoryMB(cs[0].GetResources().GetLimits()["memory"])
	}
	return v
}

// memoryMB parses a Kubernetes quantity such as "512Mi", "1Gi" or "256M"
// into MiB (rounded down); 0 when it cannot.
func memoryMB(q string) int {
	units := []struct {
		suffix string
		bytes  float64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(q, u.suffix); ok {
			f, err := strconv.ParseFloat(n, 64)
			if err != nil {
				return 0
			}
			return int(f * u.bytes / (1 << 20))
		}
	}
	return 0
}

// Version returns revision id of fn's service (GetRevision) with its
// record (GetService). ErrNotFound when the function or the revision does
// not exist.
func (p *Provider) Version(ctx context.Context, fn, id string) (provider.Version, error) {
	const op = "version"
	if err := checkFunction(ctx, op, fn); err != nil {
		return provider.Version{}, err
	}
	if err := provider.CheckName("version", id); err != nil {
		return provider.Version{}, fail(op, fn, err)
	}
	svcName, err := p.serviceOf(ctx, fn)
	if err != nil {
		return provider.Version{}, fail(op, fn, err)
	}
	if !isTag(id) {
		return provider.Version{}, fail(op, fn, fmt.Errorf("%w: version %q is not a revision name", provider.ErrNotFound, id))
	}
	v, err := p.version(ctx, svcName, id, nil)
	if err != nil {
		return provider.Version{}, fail(op, fn, err)
	}
	return v, nil
}

// Versions yields the revisions of fn's service, oldest first (by
// create_time, then name), reading the records with GetService and the
// revisions with ListRevisions, 100 a page, before yielding the first.
func (p *Provider) Versions(ctx context.Context, fn string) iter.Seq2[provider.Version, error] {
	return func(yield func(provider.Version, error) bool) {
		const op = "versions"
		if err := checkFunction(ctx, op, fn); err != nil {
			yield(provider.Version{}, err)
			return
		}
		vs, err := p.versions(ctx, fn)
		if err != nil {
			yield(provider.Version{}, fail(op, fn, err))
			return
		}
		for _, v := range vs {
			if !yield(v, nil) {
				return
			}
		}
	}
}

func (p *Provider) versions(ctx context.Context, fn string) ([]provider.Version, error) {
	svcName, err := p.serviceOf(ctx, fn)
	if err != nil {
		return nil, err
	}
	svc, err := p.getService(ctx, svcName)
	if err != nil {
		return nil, err
	}
	recs := records(svc)
	var out []provider.Version
	it := p.c.Revisions.ListRevisions(ctx, &runpb.ListRevisionsRequest{Parent: svcName, PageSize: 100})
	for {
		rev, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("list revisions: %w", translate(ctx, err, conflictIsConflict))
		}
		var rec *Record
		if r, ok := recs[shortName(rev.Name)]; ok {
			rec = &r
		}
		out = append(out, versionOf(rev, rec))
	}
	slices.SortFunc(out, func(a, b provider.Version) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

func cloneConfig(c provider.Config) provider.Config {
	c.Environment = maps.Clone(c.Environment)
	return c
}

// publishImage deploys a container image to the Cloud Run service fn
// (Options.Services). The revision is named after the image and the
// configuration (fn + "-s" + 10 hex digits of their SHA-256), so one
// UpdateService (CreateService for a new service) with the service's etag
// deploys it and records it in the same write, and a second publish of
// the same image and configuration finds the revision by name: Cloud Run
// refuses to create a revision whose name exists (ALREADY_EXISTS).
//
// API calls: GetService; when the record is there, GetRevision; otherwise
// UpdateService(template, annotations) or CreateService, GetOperation
// until done and GetService until reconciled, GetRevision.
func (p *Provider) publishImage(ctx context.Context, fn string, in provider.PublishInput) (provider.Version, error) {
	a := in.Artifact
	if a.Image == "" {
		return provider.Version{}, fmt.Errorf("%w: a Cloud Run service managed directly deploys container images (artifact.image); build zip sources with Cloud Functions (Options.Services false)", provider.ErrUnsupported)
	}
	sha := a.SHA256
	if _, d, ok := strings.Cut(a.Image, "@sha256:"); ok {
		if sha != "" && sha != d {
			return provider.Version{}, provider.Invalid("publish", "artifact.sha256", fmt.Sprintf("%s does not match the image digest %s", sha, d))
		}
		sha = d
	}
	rec := Record{SHA256: sha, Config: cloneConfig(in.Config), Description: in.Description, Labels: maps.Clone(in.Labels)}
	if len(rec.Config.Environment) == 0 {
		rec.Config.Environment = nil
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", a.Image, sha)
	cfg, _ := json.Marshal(rec.Config)
	h.Write(cfg)
	id := fn + "-s" + hex.EncodeToString(h.Sum(nil))[:10]
	if len(id) > 63 {
		return provider.Version{}, provider.Invalid("publish", "function", fmt.Sprintf("%q is too long for revision names (%s)", fn, id))
	}
	tmpl := revisionTemplate(in.Config, a.Image, id)
	tmpl.Annotations = map[string]string{}
	setJSON(tmpl.Annotations, AnnotationVersion, rec)
	name := p.locationName() + "/services/" + fn

	svc, err := p.c.Services.GetService(ctx, &runpb.GetServiceRequest{Name: name})
	if isCode(err, codes.NotFound) {
		ann := map[string]string{}
		setJSON(ann, AnnotationVersions, map[string]Record{id: rec})
		op, err := p.c.Services.CreateService(ctx, &runpb.CreateServiceRequest{
			Parent: p.locationName(), ServiceId: fn,
			Service: &runpb.Service{Template: tmpl, Annotations: ann},
		})
		if err != nil {
			return provider.Version{}, fmt.Errorf("create service: %w", translate(ctx, err, conflictIsConflict))
		}
		var out *runpb.Service
		if err := p.poll(ctx, "the creation of "+fn, func(ctx context.Context) (bool, error) {
			s, err := op.Poll(ctx)
			out = s
			return s != nil, err
		}); err != nil {
			return provider.Version{}, fmt.Errorf("create service: %w", translate(ctx, err, conflictIsConflict))
		}
		if _, err := p.reconciled(ctx, out); err != nil {
			return provider.Version{}, err
		}
		return p.version(ctx, name, id, &rec)
	}
	if err != nil {
		return provider.Version{}, fmt.Errorf("get service: %w", translate(ctx, err, conflictIsConflict))
	}
	for range maxWrites {
		if _, ok := records(svc)[id]; ok {
			v, err := p.version(ctx, name, id, nil)
			if !errors.Is(err, provider.ErrNotFound) {
				return v, err
			}
		}
		next := proto.Clone(svc).(*runpb.Service)
		next.Template = tmpl
		next.Annotations = annotations(svc)
		recs := records(svc)
		recs[id] = rec
		setJSON(next.Annotations, AnnotationVersions, recs)
		p.debug(ctx, "publish: deploying image", "service", name, "revision", id)
		op, err := p.c.Services.UpdateService(ctx, &runpb.UpdateServiceRequest{
			Service:    &runpb.Service{Name: name, Etag: svc.Etag, Template: next.Template, Annotations: next.Annotations},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"template", "annotations"}},
		})
		if isCode(err, codes.AlreadyExists) {
			// The revision exists: an earlier publish of this image and
			// configuration whose record was lost, or a concurrent one.
			return p.version(ctx, name, id, &rec)
		}
		if isCode(err, codes.Aborted) {
			if svc, err = p.getService(ctx, name); err != nil {
				return provider.Version{}, err
			}
			continue
		}
		if err != nil {
			return provider.Version{}, fmt.Errorf("update service: %w", translate(ctx, err, conflictIsConflict))
		}
		var out *runpb.Service
		if err := p.poll(ctx, "the deploy of "+id, func(ctx context.Context) (bool, error) {
			s, err := op.Poll(ctx)
			out = s
			return s != nil, err
		}); err != nil {
			return provider.Version{}, fmt.Errorf("update service: %w", translate(ctx, err, conflictIsConflict))
		}
		if _, err := p.reconciled(ctx, out); err != nil {
			return provider.Version{}, err
		}
		return p.version(ctx, name, id, &rec)
	}
	return provider.Version{}, fmt.Errorf("%w: the service changed on every one of %d attempts to deploy", provider.ErrConflict, maxWrites)
}

// revisionTemplate is the Cloud Run revision template for an image and a
// configuration: MemoryMB as the container's memory limit ("256Mi"),
// Timeout as the request timeout, Role as the service account,
// Environment as plain variables sorted by name. Runtime and Handler have
// no meaning for an image; they are recorded only.
func revisionTemplate(c provider.Config, image, revision string) *runpb.RevisionTemplate {
	ctr := &runpb.Container{Image: image}
	for _, k := range slices.Sorted(maps.Keys(c.Environment)) {
		ctr.Env = append(ctr.Env, &runpb.EnvVar{Name: k, Values: &runpb.EnvVar_Value{Value: c.Environment[k]}})
	}
	if c.MemoryMB > 0 {
		ctr.Resources = &runpb.ResourceRequirements{Limits: map[string]string{"memory": strconv.Itoa(c.MemoryMB) + "Mi"}}
	}
	t := &runpb.RevisionTemplate{Revision: revision, ServiceAccount: c.Role, Containers: []*runpb.Container{ctr}}
	if c.Timeout > 0 {
		t.Timeout = durationpb.New(c.Timeout)
	}
	return t
}

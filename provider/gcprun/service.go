package gcprun

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"cloud.google.com/go/functions/apiv2/functionspb"
	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/slipway-dev/slipway/provider"
)

// Service annotations slipway keeps on a function's Cloud Run service.
// Cloud Run v2 annotations are free-form strings outside the
// run.googleapis.com, cloud.googleapis.com, serving.knative.dev and
// autoscaling.knative.dev namespaces (RUNPB Service.annotations); revision
// labels cannot carry a semantic version (label values are lower case
// letters, digits, "_" and "-"), and a revision deployed by Cloud Functions
// takes no caller-chosen metadata, so the records live on the service,
// keyed by revision, written with the service's etag.
const (
	// AnnotationVersions holds a JSON object: revision ID → Record.
	AnnotationVersions = "slipway.dev/versions"
	// AnnotationVersion is the revision annotation holding the revision's
	// own Record (JSON), set when Publish deploys with Options.Services:
	// there the revision template is slipway's to write, so the record is
	// immutable with the revision too.
	AnnotationVersion = "slipway.dev/version"
	// AnnotationRoutes holds a JSON object: route → write counter, which
	// makes each route's revision token change on every write of it.
	AnnotationRoutes = "slipway.dev/routes"
	// AnnotationLease holds the publish lease (JSON Lease) while a
	// Publish deploys.
	AnnotationLease = "slipway.dev/publish-lease"
)

// Record is what Publish records for a revision it deployed.
type Record struct {
	SHA256      string            `json:"sha256,omitempty"`
	Config      provider.Config   `json:"config"`
	Description string            `json:"description,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
}

// Lease marks a Publish in progress on a service.
type Lease struct {
	Holder string    `json:"holder"`
	Until  time.Time `json:"until"`
}

func records(svc *runpb.Service) map[string]Record {
	out := map[string]Record{}
	if raw := svc.GetAnnotations()[AnnotationVersions]; raw != "" {
		_ = json.Unmarshal([]byte(raw), &out) // a damaged record reads as none
	}
	return out
}

func routeSeqs(svc *runpb.Service) map[string]int64 {
	out := map[string]int64{}
	if raw := svc.GetAnnotations()[AnnotationRoutes]; raw != "" {
		_ = json.Unmarshal([]byte(raw), &out)
	}
	return out
}

func leaseOf(svc *runpb.Service) (Lease, bool) {
	var l Lease
	raw := svc.GetAnnotations()[AnnotationLease]
	if raw == "" || json.Unmarshal([]byte(raw), &l) != nil {
		return Lease{}, false
	}
	return l, true
}

func setJSON(ann map[string]string, key string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic("gcprun: marshalling an annotation: " + err.Error()) // maps of strings and numbers always marshal
	}
	ann[key] = string(b)
}

func newHolder() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// serviceOf returns the Cloud Run service backing fn (Function
// service_config.service), reading it with GetFunction once per function;
// with Options.Services, the service named fn.
func (p *Provider) serviceOf(ctx context.Context, fn string) (string, error) {
	if p.opts.Services {
		return p.locationName() + "/services/" + fn, nil
	}
	if v, ok := p.services.Load(fn); ok {
		return v.(string), nil
	}
	f, err := p.c.Functions.GetFunction(ctx, &functionspb.GetFunctionRequest{Name: p.functionName(fn)})
	if err != nil {
		return "", fmt.Errorf("get function: %w", translate(ctx, err, conflictIsConflict))
	}
	name := f.GetServiceConfig().GetService()
	if name == "" {
		return "", fmt.Errorf("%w: function %s has no Cloud Run service yet (its first deploy has not finished)", provider.ErrNotFound, fn)
	}
	p.services.Store(fn, name)
	return name, nil
}

func (p *Provider) getService(ctx context.Context, name string) (*runpb.Service, error) {
	svc, err := p.c.Services.GetService(ctx, &runpb.GetServiceRequest{Name: name})
	if err != nil {
		return nil, fmt.Errorf("get service: %w", translate(ctx, err, conflictIsConflict))
	}
	return svc, nil
}

// updateService sends UpdateService with the etag of the service as read
// (so a concurrent change is ABORTED) and the given fields, then waits for
// the operation and for reconciliation. The raw client error is returned
// for ABORTED so callers can re-read and retry.
func (p *Provider) updateService(ctx context.Context, svc *runpb.Service, paths ...string) (*runpb.Service, error) {
	req := &runpb.UpdateServiceRequest{
		Service:    &runpb.Service{Name: svc.Name, Etag: svc.Etag, Traffic: svc.Traffic, Annotations: svc.Annotations},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: paths},
	}
	op, err := p.c.Services.UpdateService(ctx, req)
	if err != nil {
		return nil, err
	}
	var out *runpb.Service
	err = p.poll(ctx, "the update of "+svc.Name, func(ctx context.Context) (bool, error) {
		s, err := op.Poll(ctx)
		if err != nil {
			return false, err
		}
		out = s
		return s != nil, nil
	})
	if err != nil {
		return nil, err
	}
	return p.reconciled(ctx, out)
}

// reconciled waits until svc is no longer reconciling and its traffic
// statuses match its traffic (RUNPB Service.reconciling: then
// traffic == traffic_statuses and observed_generation == generation).
// When reconciliation failed it reports the terminal condition.
func (p *Provider) reconciled(ctx context.Context, svc *runpb.Service) (*runpb.Service, error) {
	for !settled(svc) {
		if err := p.sleep(ctx, p.pollInterval()); err != nil {
			return nil, fmt.Errorf("waiting for %s to reconcile: %w", svc.Name, err)
		}
		s, err := p.getService(ctx, svc.Name)
		if err != nil {
			return nil, err
		}
		svc = s
		if !svc.Reconciling && !settled(svc) {
			c := svc.GetTerminalCondition()
			return nil, fmt.Errorf("%w: %s failed to reconcile: %s %s", provider.ErrUnavailable, svc.Name, c.GetReason(), c.GetMessage())
		}
	}
	return svc, nil
}

func settled(svc *runpb.Service) bool {
	if svc.Reconciling || svc.ObservedGeneration != svc.Generation {
		return false
	}
	if len(svc.Traffic) == 0 {
		return true
	}
	if len(svc.Traffic) != len(svc.TrafficStatuses) {
		return false
	}
	// Every target has its status (in any order: the reference says they
	// match, not that they are listed alike).
	used := make([]bool, len(svc.TrafficStatuses))
	for _, t := range svc.Traffic {
		found := false
		for i, st := range svc.TrafficStatuses {
			if !used[i] && t.Type == st.Type && t.Percent == st.Percent && t.Tag == st.Tag &&
				(t.Type != runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION || t.Revision == st.Revision) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// poll calls f until it reports done, waiting PollInterval between calls
// (the first call is immediate: an operation that is done when returned
// is read without a request).
func (p *Provider) poll(ctx context.Context, what string, f func(context.Context) (bool, error)) error {
	for {
		ok, err := f(ctx)
		if err != nil || ok {
			return err
		}
		if err := p.sleep(ctx, p.pollInterval()); err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
	}
}

// annotations returns a copy of the service's annotations to change.
func annotations(svc *runpb.Service) map[string]string {
	a := maps.Clone(svc.GetAnnotations())
	if a == nil {
		a = map[string]string{}
	}
	return a
}

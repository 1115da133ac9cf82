package runtest

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/iam/apiv1/iampb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// service is one Cloud Run service and its revisions.
type service struct {
	id      string
	name    string // projects/p/locations/l/services/id
	created time.Time
	updated time.Time

	generation, observed int64
	etagSeq              int64

	labels      map[string]string
	annotations map[string]string
	template    *runpb.RevisionTemplate
	traffic     []*runpb.TrafficTarget
	statuses    []*runpb.TrafficTargetStatus
	reconciling bool
	pending     *operation // the update being reconciled

	latestCreated, latestReady string // revision IDs
	revisions                  map[string]*revision
	revSeq                     int
	iam                        *iampb.Policy

	model model
}

type revision struct {
	id       string
	created  time.Time
	template *runpb.RevisionTemplate
	seq      int
}

func (s *Server) serviceName(id string) string { return s.locationName() + "/services/" + id }

func (v *service) etag() string { return fmt.Sprintf("\"e%d\"", v.etagSeq) }

// newService creates an empty service (no revision yet, traffic to latest).
func (s *Server) newService(id string) *service {
	now := s.now()
	v := &service{
		id: id, name: s.serviceName(id), created: now, updated: now,
		labels: map[string]string{}, annotations: map[string]string{},
		revisions: map[string]*revision{},
		template:  &runpb.RevisionTemplate{},
		iam:       &iampb.Policy{Version: 1, Etag: []byte("BwY=")},
		etagSeq:   1, generation: 1, observed: 1,
	}
	s.services[id] = v
	return v
}

// revisionLetters names a revision deterministically: three lowercase
// letters after the five-digit counter, as in "hello-00007-xiz" (the format
// gcloud and the console show; not an API contract).
func revisionLetters(service string, n int) string {
	h := uint32(2166136261)
	for _, c := range []byte(service + strconv.Itoa(n)) {
		h = (h ^ uint32(c)) * 16777619
	}
	b := make([]byte, 3)
	for i := range b {
		b[i] = 'a' + byte(h%26)
		h /= 26
	}
	return string(b)
}

// createRevision makes a revision from the service's template (a template
// change), returning its ID. A template naming a revision uses that name.
func (s *Server) createRevision(v *service) (*revision, error) {
	v.revSeq++
	id := v.template.GetRevision()
	if id == "" {
		id = fmt.Sprintf("%s-%05d-%s", v.id, v.revSeq, revisionLetters(v.id, v.revSeq))
	} else if _, dup := v.revisions[id]; dup {
		v.revSeq--
		return nil, status.Errorf(codes.AlreadyExists, "Revision named '%s' with different configuration already exists.", id)
	}
	r := &revision{id: id, created: s.now(), template: proto.Clone(v.template).(*runpb.RevisionTemplate), seq: v.revSeq}
	r.template.Revision = ""
	v.revisions[id] = r
	v.latestCreated = id
	return r, nil
}

// collect deletes the oldest revisions beyond Options.MaxRevisions that
// nothing serves or tags, once a deploy is reconciled.
func (s *Server) collect(v *service) {
	limit := s.opts.MaxRevisions
	if limit == 0 {
		limit = 1000
	}
	if len(v.revisions) <= limit {
		return
	}
	revs := slices.Collect(maps.Values(v.revisions))
	slices.SortFunc(revs, func(a, b *revision) int { return a.seq - b.seq })
	for _, r := range revs {
		if len(v.revisions) <= limit {
			return
		}
		if v.serving(r.id) == "" {
			delete(v.revisions, r.id)
		}
	}
}

// resolve turns the service's traffic spec into statuses: an empty spec is
// 100% to the latest ready revision (RUNPB Service.traffic), a LATEST
// target resolves to the latest ready revision.
func (v *service) resolve() []*runpb.TrafficTargetStatus {
	spec := v.traffic
	if len(spec) == 0 {
		spec = []*runpb.TrafficTarget{{Type: runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST, Percent: 100}}
	}
	out := make([]*runpb.TrafficTargetStatus, 0, len(spec))
	for _, t := range spec {
		st := &runpb.TrafficTargetStatus{Type: t.Type, Revision: t.Revision, Percent: t.Percent, Tag: t.Tag}
		if t.Type == runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST {
			st.Revision = v.latestReady
		}
		if t.Tag != "" {
			st.Uri = fmt.Sprintf("https://%s---%s-uc.a.run.app", t.Tag, v.id)
		}
		out = append(out, st)
	}
	return out
}

// reconcile brings the observed state up to the spec and records the new
// split in the traffic model.
func (s *Server) reconcile(v *service) {
	v.reconciling = false
	v.observed = v.generation
	v.latestReady = v.latestCreated
	v.statuses = v.resolve()
	split := map[string]int32{}
	for _, st := range v.statuses {
		if st.Revision != "" {
			split[st.Revision] += st.Percent
		}
	}
	v.model.splitChanged(s.now(), split)
	s.collect(v)
}

// serving reports why revision id may not be deleted: it is named by a
// traffic target or status (any percent, or tagged), or it is the latest
// revision (the target of LATEST and of the next deploy).
func (v *service) serving(id string) string {
	for _, t := range v.traffic {
		if t.Revision == id {
			if t.Tag != "" {
				return fmt.Sprintf("it is tagged %q", t.Tag)
			}
			return "it is a traffic target"
		}
	}
	for _, t := range v.statuses {
		if t.Revision == id && t.Percent > 0 {
			return "it is serving traffic"
		}
	}
	if id == v.latestCreated || id == v.latestReady {
		return "it is the latest revision of the service"
	}
	return ""
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func (s *Server) serviceProto(v *service) *runpb.Service {
	cond := &runpb.Condition{Type: "Ready", State: runpb.Condition_CONDITION_SUCCEEDED}
	if v.reconciling {
		cond.State = runpb.Condition_CONDITION_RECONCILING
	}
	out := &runpb.Service{
		Name: v.name, Uid: v.id, Generation: v.generation, ObservedGeneration: v.observed,
		Labels: maps.Clone(v.labels), Annotations: maps.Clone(v.annotations),
		CreateTime: ts(v.created), UpdateTime: ts(v.updated),
		Template:              proto.Clone(v.template).(*runpb.RevisionTemplate),
		LatestCreatedRevision: s.revisionName(v, v.latestCreated),
		LatestReadyRevision:   s.revisionName(v, v.latestReady),
		Reconciling:           v.reconciling, Etag: v.etag(),
		TerminalCondition: cond,
		Uri:               fmt.Sprintf("https://%s-uc.a.run.app", v.id),
	}
	for _, t := range v.traffic {
		out.Traffic = append(out.Traffic, proto.Clone(t).(*runpb.TrafficTarget))
	}
	for _, t := range v.statuses {
		out.TrafficStatuses = append(out.TrafficStatuses, proto.Clone(t).(*runpb.TrafficTargetStatus))
	}
	return out
}

func (s *Server) revisionName(v *service, id string) string {
	if id == "" {
		return ""
	}
	return v.name + "/revisions/" + id
}

func (s *Server) revisionProto(v *service, r *revision) *runpb.Revision {
	t := r.template
	return &runpb.Revision{
		Name: s.revisionName(v, r.id), Uid: r.id, Generation: 1,
		Labels: maps.Clone(t.Labels), Annotations: maps.Clone(t.Annotations),
		CreateTime: ts(r.created), UpdateTime: ts(r.created),
		Service: v.name, Timeout: proto.Clone(orDuration(t.Timeout)).(*durationpb.Duration),
		ServiceAccount: t.ServiceAccount, Containers: cloneContainers(t.Containers),
		MaxInstanceRequestConcurrency: t.MaxInstanceRequestConcurrency,
		Conditions:                    []*runpb.Condition{{Type: "Ready", State: runpb.Condition_CONDITION_SUCCEEDED}},
		ObservedGeneration:            1,
		Etag:                          fmt.Sprintf("\"r%d\"", r.seq),
	}
}

func orDuration(d *durationpb.Duration) *durationpb.Duration {
	if d == nil {
		return durationpb.New(300 * time.Second) // Cloud Run's default request timeout
	}
	return d
}

func cloneContainers(cs []*runpb.Container) []*runpb.Container {
	out := make([]*runpb.Container, len(cs))
	for i, c := range cs {
		out[i] = proto.Clone(c).(*runpb.Container)
	}
	return out
}

// lookupService finds a service by full name.
func (s *Server) lookupService(name string) (*service, error) {
	prefix := s.locationName() + "/services/"
	id, ok := strings.CutPrefix(name, prefix)
	if !ok || id == "" || strings.Contains(id, "/") {
		if strings.HasPrefix(name, "projects/") {
			return nil, status.Errorf(codes.NotFound, "Resource '%s' was not found", name)
		}
		return nil, status.Errorf(codes.InvalidArgument, "name %q is not projects/{project}/locations/{location}/services/{service}", name)
	}
	v, ok := s.services[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Resource '%s' was not found", name)
	}
	return v, nil
}

// lookupRevision finds a revision by full name.
func (s *Server) lookupRevision(name string) (*service, *revision, error) {
	svcName, id, ok := strings.Cut(name, "/revisions/")
	if !ok || id == "" {
		return nil, nil, status.Errorf(codes.InvalidArgument, "name %q is not projects/{project}/locations/{location}/services/{service}/revisions/{revision}", name)
	}
	v, err := s.lookupService(svcName)
	if err != nil {
		return nil, nil, err
	}
	r, ok := v.revisions[id]
	if !ok {
		return nil, nil, status.Errorf(codes.NotFound, "Resource '%s' was not found", name)
	}
	return v, r, nil
}

// tagPattern is a DNS label, as a tag becomes part of the host
// "{tag}---{service}-{hash}.run.app".
var tagPattern = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)

// reservedAnnotation reports annotation and label keys Cloud Run v2
// rejects: the run.googleapis.com, cloud.googleapis.com,
// serving.knative.dev and autoscaling.knative.dev namespaces (RUNPB
// Service.annotations and Service.labels comments).
func reservedAnnotation(k string) bool {
	prefix, _, ok := strings.Cut(k, "/")
	if !ok {
		return false
	}
	for _, ns := range []string{"run.googleapis.com", "cloud.googleapis.com", "serving.knative.dev", "autoscaling.knative.dev"} {
		if prefix == ns || strings.HasSuffix(prefix, "."+ns) {
			return true
		}
	}
	return false
}

// checkTraffic enforces the traffic rules: every target is LATEST (no
// revision) or a revision of this service; percents are in 0..100 and sum
// to exactly 100; a tag is a DNS label used once; an untagged revision
// appears once. Cloud Run "Rollbacks, gradual rollouts, and traffic
// migration" page; the status code for a violation is INVALID_ARGUMENT.
func checkTraffic(v *service, traffic []*runpb.TrafficTarget) error {
	if len(traffic) == 0 {
		return nil
	}
	sum := int32(0)
	tags := map[string]bool{}
	untagged := map[string]bool{}
	for i, t := range traffic {
		switch t.Type {
		case runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST:
			if t.Revision != "" {
				return status.Errorf(codes.InvalidArgument, "traffic[%d]: a LATEST target must not name a revision", i)
			}
		case runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION:
			if t.Revision == "" {
				return status.Errorf(codes.InvalidArgument, "traffic[%d]: a REVISION target must name a revision", i)
			}
			if _, ok := v.revisions[t.Revision]; !ok {
				return status.Errorf(codes.InvalidArgument, "traffic[%d]: Revision '%s' does not exist or is deleted. Update all traffic to route to currently available revisions.", i, t.Revision)
			}
		default:
			return status.Errorf(codes.InvalidArgument, "traffic[%d]: type is unspecified", i)
		}
		if t.Percent < 0 || t.Percent > 100 {
			return status.Errorf(codes.InvalidArgument, "traffic[%d]: percent %d is outside 0..100", i, t.Percent)
		}
		sum += t.Percent
		if t.Tag != "" {
			if !tagPattern.MatchString(t.Tag) || len(t.Tag) > 63 {
				return status.Errorf(codes.InvalidArgument, "traffic[%d]: tag %q is not a lowercase DNS label", i, t.Tag)
			}
			if tags[t.Tag] {
				return status.Errorf(codes.InvalidArgument, "traffic[%d]: tag %q is used twice", i, t.Tag)
			}
			tags[t.Tag] = true
		} else {
			key := t.Revision
			if key == "" {
				key = "LATEST"
			}
			if untagged[key] {
				return status.Errorf(codes.InvalidArgument, "traffic[%d]: %s appears twice without a tag", i, key)
			}
			untagged[key] = true
		}
	}
	if sum != 100 {
		return status.Errorf(codes.InvalidArgument, "traffic percents sum to %d, they must sum to 100", sum)
	}
	return nil
}

// --- Services ---

type servicesServer struct {
	runpb.UnimplementedServicesServer
	s *Server
}

func (x servicesServer) GetService(_ context.Context, req *runpb.GetServiceRequest) (*runpb.Service, error) {
	s := x.s
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.lookupService(req.GetName())
	if err != nil {
		return nil, err
	}
	if v.pending != nil {
		s.advance(v.pending)
	}
	return s.serviceProto(v), nil
}

// updatable are the update_mask paths UpdateService accepts here.
var updatable = []string{"traffic", "annotations", "labels", "template", "description"}

func (x servicesServer) UpdateService(_ context.Context, req *runpb.UpdateServiceRequest) (*longrunningpb.Operation, error) {
	s := x.s
	s.mu.Lock()
	defer s.mu.Unlock()
	in := req.GetService()
	if in == nil {
		return nil, status.Error(codes.InvalidArgument, "service is required")
	}
	v, err := s.lookupService(in.GetName())
	if err != nil {
		return nil, err
	}
	// AIP-154: a stale etag is ABORTED; an empty one is unconditional.
	if in.Etag != "" && in.Etag != v.etag() {
		return nil, status.Errorf(codes.Aborted, "etag %s does not match the current etag of %s: the service was modified concurrently", in.Etag, v.name)
	}
	paths := updatable
	if m := req.GetUpdateMask(); m != nil && len(m.Paths) > 0 {
		paths = m.Paths
		for _, p := range paths {
			if !slices.Contains(updatable, p) {
				return nil, status.Errorf(codes.InvalidArgument, "update_mask path %q is not supported", p)
			}
		}
	}
	has := func(p string) bool { return slices.Contains(paths, p) }
	if has("traffic") {
		if err := checkTraffic(v, in.Traffic); err != nil {
			return nil, err
		}
	}
	for _, m := range []map[string]string{in.Annotations, in.Labels, in.GetTemplate().GetAnnotations(), in.GetTemplate().GetLabels()} {
		for k := range m {
			if reservedAnnotation(k) {
				return nil, status.Errorf(codes.InvalidArgument, "annotation or label %q is in a namespace Cloud Run v2 reserves", k)
			}
		}
	}
	if has("template") && in.Template != nil && !proto.Equal(in.Template, v.template) {
		if err := checkTemplate(v, in.Template); err != nil {
			return nil, err
		}
	}
	if req.ValidateOnly {
		return s.newOp("services", s.serviceProto(v), func() (proto.Message, error) { return s.serviceProto(v), nil }, true), nil
	}

	specChanged, metaChanged, newRevision := false, false, false
	if has("template") && in.Template != nil && !proto.Equal(in.Template, v.template) {
		v.template = proto.Clone(in.Template).(*runpb.RevisionTemplate)
		specChanged, newRevision = true, true
	}
	if has("traffic") && !trafficEqual(in.Traffic, v.traffic) {
		v.traffic = cloneTraffic(in.Traffic)
		specChanged = true
	}
	if has("annotations") && !maps.Equal(in.Annotations, v.annotations) {
		v.annotations = maps.Clone(in.Annotations)
		metaChanged = true
	}
	if has("labels") && !maps.Equal(in.Labels, v.labels) {
		v.labels = maps.Clone(in.Labels)
		metaChanged = true
	}
	if newRevision {
		if _, err := s.createRevision(v); err != nil {
			return nil, err
		}
		// A template change with a LATEST-free split keeps the split: the
		// new revision gets no traffic ("Lifecycle of traffic splits").
	}
	if !specChanged && !metaChanged {
		return s.newOp("services", s.serviceProto(v), func() (proto.Message, error) { return s.serviceProto(v), nil }, true), nil
	}
	v.etagSeq++
	v.updated = s.now()
	if !specChanged {
		return s.newOp("services", s.serviceProto(v), func() (proto.Message, error) { return s.serviceProto(v), nil }, true), nil
	}
	v.generation++
	return s.startReconcile(v), nil
}

// checkTemplate refuses a template without a container image, and one
// naming a revision that exists ("Revision named '…' with different
// configuration already exists", 409 ALREADY_EXISTS as reported in
// googleapis/google-cloud-python#14259); a custom name must start with the
// service's name and a hyphen *(gcloud --revision-suffix rule)*.
func checkTemplate(v *service, t *runpb.RevisionTemplate) error {
	if len(t.Containers) == 0 || t.Containers[0].GetImage() == "" {
		return status.Error(codes.InvalidArgument, "template.containers[0].image is required")
	}
	if id := t.Revision; id != "" {
		if !strings.HasPrefix(id, v.id+"-") || !tagPattern.MatchString(id) {
			return status.Errorf(codes.InvalidArgument, "template.revision %q must be %s-<suffix>, a lowercase DNS label", id, v.id)
		}
		if _, dup := v.revisions[id]; dup {
			return status.Errorf(codes.AlreadyExists, "Revision named '%s' with different configuration already exists.", id)
		}
	}
	return nil
}

// CreateService creates a Cloud Run service and its first revision from
// the template (an existing ID is ALREADY_EXISTS; AIP-133).
func (x servicesServer) CreateService(_ context.Context, req *runpb.CreateServiceRequest) (*longrunningpb.Operation, error) {
	s := x.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.GetParent() != s.locationName() {
		return nil, status.Errorf(codes.InvalidArgument, "parent %q is not %s", req.GetParent(), s.locationName())
	}
	id := req.GetServiceId()
	if !functionID.MatchString(id) || len(id) > 49 {
		return nil, status.Errorf(codes.InvalidArgument, "service_id %q must be a lowercase DNS label of at most 49 characters", id)
	}
	if _, ok := s.services[id]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "Resource '%s' already exists.", s.serviceName(id))
	}
	in := req.GetService()
	if in.GetTemplate() == nil {
		return nil, status.Error(codes.InvalidArgument, "service.template is required")
	}
	for _, m := range []map[string]string{in.Annotations, in.Labels, in.Template.Annotations, in.Template.Labels} {
		for k := range m {
			if reservedAnnotation(k) {
				return nil, status.Errorf(codes.InvalidArgument, "annotation or label %q is in a namespace Cloud Run v2 reserves", k)
			}
		}
	}
	v := s.newService(id)
	if err := checkTemplate(v, in.Template); err != nil {
		delete(s.services, id)
		return nil, err
	}
	if err := checkTraffic(v, in.Traffic); err != nil {
		delete(s.services, id)
		return nil, err
	}
	v.template = proto.Clone(in.Template).(*runpb.RevisionTemplate)
	v.annotations, v.labels = maps.Clone(in.Annotations), maps.Clone(in.Labels)
	if v.annotations == nil {
		v.annotations = map[string]string{}
	}
	_, _ = s.createRevision(v) // a new service has no revision to collide with
	v.traffic = cloneTraffic(in.Traffic)
	return s.startReconcile(v), nil
}

// startReconcile starts the operation that reconciles v (rolls out its
// template and traffic) and makes it v's pending one; a later operation
// supersedes it.
func (s *Server) startReconcile(v *service) *longrunningpb.Operation {
	v.reconciling = true
	var op *operation
	op = s.startOp("services", s.serviceProto(v), func() (proto.Message, error) {
		if v.pending == op {
			v.pending = nil
			s.reconcile(v)
		}
		return s.serviceProto(v), nil
	})
	v.pending = op
	s.settleNow(op)
	return op.proto()
}

func trafficEqual(a, b []*runpb.TrafficTarget) bool {
	return slices.EqualFunc(a, b, func(x, y *runpb.TrafficTarget) bool { return proto.Equal(x, y) })
}

func cloneTraffic(ts []*runpb.TrafficTarget) []*runpb.TrafficTarget {
	out := make([]*runpb.TrafficTarget, len(ts))
	for i, t := range ts {
		out[i] = proto.Clone(t).(*runpb.TrafficTarget)
	}
	return out
}

func (x servicesServer) GetIamPolicy(_ context.Context, req *iampb.GetIamPolicyRequest) (*iampb.Policy, error) {
	s := x.s
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.lookupService(req.GetResource())
	if err != nil {
		return nil, err
	}
	return proto.Clone(v.iam).(*iampb.Policy), nil
}

// --- Revisions ---

type revisionsServer struct {
	runpb.UnimplementedRevisionsServer
	s *Server
}

func (x revisionsServer) GetRevision(_ context.Context, req *runpb.GetRevisionRequest) (*runpb.Revision, error) {
	s := x.s
	s.mu.Lock()
	defer s.mu.Unlock()
	v, r, err := s.lookupRevision(req.GetName())
	if err != nil {
		return nil, err
	}
	return s.revisionProto(v, r), nil
}

// ListRevisions lists a service's revisions newest first, at most
// min(page_size, MaxPageSize) a page; next_page_token is empty on the
// last page and an unknown token is INVALID_ARGUMENT (AIP-158).
func (x revisionsServer) ListRevisions(_ context.Context, req *runpb.ListRevisionsRequest) (*runpb.ListRevisionsResponse, error) {
	s := x.s
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.lookupService(req.GetParent())
	if err != nil {
		return nil, err
	}
	if req.PageSize < 0 {
		return nil, status.Error(codes.InvalidArgument, "page_size must not be negative")
	}
	revs := slices.Collect(maps.Values(v.revisions))
	slices.SortFunc(revs, func(a, b *revision) int { return b.seq - a.seq })
	start := 0
	if tok := req.GetPageToken(); tok != "" {
		seq, ok := decodeToken(tok, v.name)
		if !ok {
			return nil, status.Errorf(codes.InvalidArgument, "page_token %q is not valid for %s", tok, v.name)
		}
		start = len(revs)
		for i, r := range revs {
			if r.seq < seq {
				start = i
				break
			}
		}
	}
	n := s.maxPage()
	if req.PageSize > 0 && int(req.PageSize) < n {
		n = int(req.PageSize)
	}
	end := min(start+n, len(revs))
	out := &runpb.ListRevisionsResponse{}
	for _, r := range revs[start:end] {
		out.Revisions = append(out.Revisions, s.revisionProto(v, r))
	}
	if end < len(revs) {
		out.NextPageToken = encodeToken(revs[end-1].seq, v.name)
	}
	return out, nil
}

// encodeToken makes an opaque page token: the sequence number of the last
// item returned, bound to the collection it pages.
func encodeToken(seq int, parent string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(seq) + "|" + parent))
}

func decodeToken(tok, parent string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	n, p, ok := strings.Cut(string(b), "|")
	if !ok || p != parent {
		return 0, false
	}
	seq, err := strconv.Atoi(n)
	return seq, err == nil
}

// DeleteRevision deletes a revision that no traffic target names (with any
// percent, or a tag) and that is not the service's latest revision;
// otherwise FAILED_PRECONDITION ("Manage revisions" page: a revision that
// can receive traffic, or the latest revision, cannot be deleted). A
// non-empty etag must match the revision's (AIP-154: ABORTED).
func (x revisionsServer) DeleteRevision(_ context.Context, req *runpb.DeleteRevisionRequest) (*longrunningpb.Operation, error) {
	s := x.s
	s.mu.Lock()
	defer s.mu.Unlock()
	v, r, err := s.lookupRevision(req.GetName())
	if err != nil {
		return nil, err
	}
	if req.Etag != "" && req.Etag != fmt.Sprintf("\"r%d\"", r.seq) {
		return nil, status.Errorf(codes.Aborted, "etag %s does not match the revision's", req.Etag)
	}
	if why := v.serving(r.id); why != "" {
		return nil, status.Errorf(codes.FailedPrecondition, "Revision %s cannot be deleted because %s.", r.id, why)
	}
	snap := s.revisionProto(v, r)
	if req.ValidateOnly {
		return s.newOp("revisions", snap, func() (proto.Message, error) { return snap, nil }, true), nil
	}
	delete(v.revisions, r.id)
	return s.newOp("revisions", snap, func() (proto.Message, error) { return snap, nil }, false), nil
}

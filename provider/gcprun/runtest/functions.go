package runtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/functions/apiv2/functionspb"
	"cloud.google.com/go/iam/apiv1/iampb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
)

// function is one Cloud Functions (2nd gen) function.
type function struct {
	id          string
	description string
	labels      map[string]string
	build       *functionspb.BuildConfig
	config      *functionspb.ServiceConfig
	trigger     *functionspb.EventTrigger
	state       functionspb.Function_State
	created     time.Time
	updated     time.Time
	running     *operation // the create or update in progress
	deploys     int
	svc         *service // nil until the first deploy finished
}

// functionID is the pattern of a function ID (FNPB
// CreateFunctionRequest.function_id: lower case letters, digits and
// hyphens, starting with a letter, at most 63 characters).
var functionID = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)

func (s *Server) functionName(id string) string { return s.locationName() + "/functions/" + id }

func (s *Server) lookupFunction(name string) (*function, error) {
	id, ok := strings.CutPrefix(name, s.locationName()+"/functions/")
	if !ok || id == "" || strings.Contains(id, "/") {
		if strings.HasPrefix(name, "projects/") {
			return nil, status.Errorf(codes.NotFound, "Function %s does not exist", name)
		}
		return nil, status.Errorf(codes.InvalidArgument, "name %q is not projects/{project}/locations/{location}/functions/{function}", name)
	}
	f, ok := s.functions[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Function %s does not exist", id)
	}
	return f, nil
}

func (s *Server) functionProto(f *function) *functionspb.Function {
	out := &functionspb.Function{
		Name: s.functionName(f.id), Description: f.description,
		BuildConfig:   proto.Clone(f.build).(*functionspb.BuildConfig),
		ServiceConfig: proto.Clone(f.config).(*functionspb.ServiceConfig),
		State:         f.state, UpdateTime: ts(f.updated), CreateTime: ts(f.created),
		Labels: maps.Clone(f.labels), Environment: functionspb.Environment_GEN_2,
	}
	if f.trigger != nil {
		out.EventTrigger = proto.Clone(f.trigger).(*functionspb.EventTrigger)
	}
	if v := f.svc; v != nil {
		out.ServiceConfig.Service = v.name
		out.ServiceConfig.Revision = v.latestReady
		out.ServiceConfig.Uri = fmt.Sprintf("https://%s-uc.a.run.app", v.id)
		out.Url = fmt.Sprintf("https://%s-%s.cloudfunctions.net/%s", s.opts.Location, s.opts.Project, f.id)
		st := v.statuses
		out.ServiceConfig.AllTrafficOnLatestRevision = len(st) > 0 && slices.ContainsFunc(st, func(t *runpb.TrafficTargetStatus) bool {
			return t.Revision == v.latestReady && t.Percent == 100
		})
	}
	return out
}

// checkSource requires the build's storage source to name an uploaded
// object.
func (s *Server) checkSource(b *functionspb.BuildConfig) error {
	src := b.GetSource().GetStorageSource()
	if src == nil {
		return status.Error(codes.InvalidArgument, "build_config.source.storage_source is required (this emulator builds from Cloud Storage sources only)")
	}
	if _, ok := s.objects[objectRef{src.Bucket, src.Object}]; !ok {
		return status.Errorf(codes.InvalidArgument, "build_config.source.storage_source: object gs://%s/%s does not exist", src.Bucket, src.Object)
	}
	if b.Runtime == "" {
		return status.Error(codes.InvalidArgument, "build_config.runtime is required")
	}
	return nil
}

// deploy builds the function's source into a new revision of its service
// (creating the service on the first deploy) and reconciles it. With
// all_traffic_on_latest_revision the untagged targets are replaced by
// 100% to the latest revision, "ignoring any traffic split settings"
// (FNPB ServiceConfig); without it the split stays as it is, so a service
// whose traffic is pinned to revisions gives the new one no traffic.
func (s *Server) deploy(f *function) {
	v := f.svc
	if v == nil {
		v = s.services[f.id]
		if v == nil {
			v = s.newService(f.id)
		}
		f.svc = v
	}
	f.deploys++
	c := f.config
	env := make([]*runpb.EnvVar, 0, len(c.EnvironmentVariables))
	for _, k := range slices.Sorted(maps.Keys(c.EnvironmentVariables)) {
		env = append(env, &runpb.EnvVar{Name: k, Values: &runpb.EnvVar_Value{Value: c.EnvironmentVariables[k]}})
	}
	mem := c.AvailableMemory
	if mem == "" {
		mem = "256M"
	}
	timeout := c.TimeoutSeconds
	if timeout == 0 {
		timeout = 60
	}
	v.template = &runpb.RevisionTemplate{
		Timeout:                       durationpb.New(time.Duration(timeout) * time.Second),
		ServiceAccount:                c.ServiceAccountEmail,
		MaxInstanceRequestConcurrency: max(c.MaxInstanceRequestConcurrency, 1),
		Containers: []*runpb.Container{{
			Image:     fmt.Sprintf("%s-docker.pkg.dev/%s/gcf-artifacts/%s:version_%d", s.opts.Location, s.opts.Project, f.id, f.deploys),
			Env:       env,
			Resources: &runpb.ResourceRequirements{Limits: map[string]string{"memory": mem}},
		}},
	}
	_, _ = s.createRevision(v) // generated names never collide
	if c.AllTrafficOnLatestRevision {
		kept := []*runpb.TrafficTarget{{Type: runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST, Percent: 100}}
		for _, t := range v.traffic {
			if t.Tag != "" {
				t := proto.Clone(t).(*runpb.TrafficTarget)
				t.Percent = 0
				kept = append(kept, t)
			}
		}
		v.traffic = kept
	}
	v.generation++
	v.etagSeq++
	v.updated = s.now()
	v.pending = nil
	s.reconcile(v)
}

type functionServer struct {
	functionspb.UnimplementedFunctionServiceServer
	s *Server
}

func (x functionServer) GetFunction(_ context.Context, req *functionspb.GetFunctionRequest) (*functionspb.Function, error) {
	s := x.s
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.lookupFunction(req.GetName())
	if err != nil {
		return nil, err
	}
	if f.running != nil {
		s.advance(f.running)
	}
	return s.functionProto(f), nil
}

// CreateFunction creates a function and deploys its first revision. An
// existing ID makes the operation fail with ALREADY_EXISTS (FNPB
// CreateFunction comment).
func (x functionServer) CreateFunction(_ context.Context, req *functionspb.CreateFunctionRequest) (*longrunningpb.Operation, error) {
	s := x.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.GetParent() != s.locationName() {
		return nil, status.Errorf(codes.InvalidArgument, "parent %q is not %s", req.GetParent(), s.locationName())
	}
	id := req.GetFunctionId()
	if !functionID.MatchString(id) {
		return nil, status.Errorf(codes.InvalidArgument, "function_id %q must match %s", id, functionID)
	}
	in := req.GetFunction()
	if in == nil || in.BuildConfig == nil {
		return nil, status.Error(codes.InvalidArgument, "function.build_config is required")
	}
	if _, exists := s.functions[id]; exists {
		err := status.Errorf(codes.AlreadyExists, "Function %s already exists", id)
		return s.newOp("functions", &functionspb.OperationMetadata{Target: s.functionName(id), Verb: "create"}, func() (proto.Message, error) { return nil, err }, true), nil
	}
	if err := s.checkSource(in.BuildConfig); err != nil {
		return nil, err
	}
	now := s.now()
	f := &function{
		id: id, description: in.Description, labels: maps.Clone(in.Labels),
		build:  proto.Clone(in.BuildConfig).(*functionspb.BuildConfig),
		config: cloneConfig(in.ServiceConfig), state: functionspb.Function_DEPLOYING,
		created: now, updated: now,
	}
	if in.EventTrigger != nil {
		f.trigger = proto.Clone(in.EventTrigger).(*functionspb.EventTrigger)
	}
	s.functions[id] = f
	return s.startDeploy(f, "create", now), nil
}

// startDeploy starts the operation (verb "create" or "update", begun at
// at) that deploys f and makes it f's running one.
func (s *Server) startDeploy(f *function, verb string, at time.Time) *longrunningpb.Operation {
	op := s.startOp("functions", &functionspb.OperationMetadata{Target: s.functionName(f.id), Verb: verb, CreateTime: ts(at)}, func() (proto.Message, error) {
		s.deploy(f)
		f.state, f.running = functionspb.Function_ACTIVE, nil
		return s.functionProto(f), nil
	})
	f.running = op
	s.settleNow(op)
	return op.proto()
}

func cloneConfig(c *functionspb.ServiceConfig) *functionspb.ServiceConfig {
	if c == nil {
		return &functionspb.ServiceConfig{}
	}
	c = proto.Clone(c).(*functionspb.ServiceConfig)
	c.Service, c.Revision, c.Uri = "", "", ""
	return c
}

// UpdateFunction rebuilds and redeploys a function. While a create or
// update of the same function is in progress it is refused with ABORTED
// *(observed behaviour: Cloud Functions serialises operations on one
// function; code unverified)*.
func (x functionServer) UpdateFunction(_ context.Context, req *functionspb.UpdateFunctionRequest) (*longrunningpb.Operation, error) {
	s := x.s
	s.mu.Lock()
	defer s.mu.Unlock()
	in := req.GetFunction()
	if in == nil {
		return nil, status.Error(codes.InvalidArgument, "function is required")
	}
	f, err := s.lookupFunction(in.GetName())
	if err != nil {
		return nil, err
	}
	if f.running != nil && !f.running.done {
		return nil, status.Errorf(codes.Aborted, "An operation on function %s is already in progress. Please try again later.", f.id)
	}
	cur := s.functionProto(f)
	next := proto.Clone(cur).(*functionspb.Function)
	paths := []string{"build_config", "service_config", "labels", "description", "event_trigger"}
	if m := req.GetUpdateMask(); m != nil && len(m.Paths) > 0 {
		paths = m.Paths
	}
	for _, p := range paths {
		if err := applyPath(next.ProtoReflect(), in.ProtoReflect(), strings.Split(p, ".")); err != nil {
			return nil, err
		}
	}
	if err := s.checkSource(next.BuildConfig); err != nil {
		return nil, err
	}
	f.description, f.labels = next.Description, maps.Clone(next.Labels)
	f.build, f.config = next.BuildConfig, cloneConfig(next.ServiceConfig)
	f.trigger = next.EventTrigger
	f.state = functionspb.Function_DEPLOYING
	f.updated = s.now()
	return s.startDeploy(f, "update", f.updated), nil
}

// applyPath copies the field at path from src to dst (an update_mask
// entry).
func applyPath(dst, src protoreflect.Message, path []string) error {
	fd := dst.Descriptor().Fields().ByName(protoreflect.Name(path[0]))
	if fd == nil {
		return status.Errorf(codes.InvalidArgument, "update_mask: unknown field %q", path[0])
	}
	if len(path) == 1 {
		if src.Has(fd) {
			dst.Set(fd, src.Get(fd))
		} else {
			dst.Clear(fd)
		}
		return nil
	}
	if fd.Message() == nil || fd.IsList() || fd.IsMap() {
		return status.Errorf(codes.InvalidArgument, "update_mask: %q is not a message", path[0])
	}
	return applyPath(dst.Mutable(fd).Message(), src.Get(fd).Message(), path[1:])
}

// GenerateUploadUrl returns a URL on the emulator's HTTP server that takes
// one PUT of a zip archive (FNPB GenerateUploadUrl: content-type
// application/zip, no Authorization header) and the storage source that
// names the stored object.
func (x functionServer) GenerateUploadUrl(_ context.Context, req *functionspb.GenerateUploadUrlRequest) (*functionspb.GenerateUploadUrlResponse, error) {
	s := x.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.GetParent() != s.locationName() {
		return nil, status.Errorf(codes.InvalidArgument, "parent %q is not %s", req.GetParent(), s.locationName())
	}
	s.uploadSeq++
	token := fmt.Sprintf("u%06d", s.uploadSeq)
	ref := objectRef{bucket: "gcf-v2-uploads-000000000000-" + s.opts.Location, object: token + ".zip"}
	s.uploads[token] = ref
	return &functionspb.GenerateUploadUrlResponse{
		UploadUrl:     s.http.URL + "/upload/" + token,
		StorageSource: &functionspb.StorageSource{Bucket: ref.bucket, Object: ref.object},
	}, nil
}

func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.URL.Path, "/upload/")
	if !ok || r.Method != http.MethodPut {
		http.Error(w, "only PUT /upload/{token}", http.StatusMethodNotAllowed)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/zip" {
		http.Error(w, fmt.Sprintf("content-type must be application/zip, got %q", ct), http.StatusBadRequest)
		return
	}
	if r.Header.Get("Authorization") != "" {
		http.Error(w, "signed URLs take no Authorization header", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !bytes.HasPrefix(body, []byte("PK")) {
		http.Error(w, "the source is not a zip archive", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ref, ok := s.uploads[token]
	if !ok {
		http.Error(w, "unknown upload URL", http.StatusForbidden)
		return
	}
	s.objects[ref] = body
	w.WriteHeader(http.StatusOK)
}

// PutObject stores an object, as if uploaded to Cloud Storage, for
// functions built from gs://bucket/object sources.
func (s *Server) PutObject(bucket, object string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects[objectRef{bucket, object}] = bytes.Clone(data)
}

// Object returns an uploaded or stored object.
func (s *Server) Object(bucket, object string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.objects[objectRef{bucket, object}]
	return bytes.Clone(b), ok
}

// FunctionSpec is what CreateFunction needs (test set-up, without gRPC).
type FunctionSpec struct {
	Runtime    string
	EntryPoint string
	// Source is the zip of the first revision; nil means a minimal archive.
	Source []byte
	Config *functionspb.ServiceConfig
}

// CreateFunction creates a function with its first revision at once (no
// operation to poll), for test set-up.
func (s *Server) CreateFunction(id string, spec FunctionSpec) error {
	if !functionID.MatchString(id) {
		return fmt.Errorf("runtest: function ID %q must match %s", id, functionID)
	}
	src := spec.Source
	if src == nil {
		src = []byte("PK\x05\x06" + strings.Repeat("\x00", 18)) // an empty zip archive
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.functions[id]; ok {
		return fmt.Errorf("runtest: function %q exists", id)
	}
	ref := objectRef{bucket: "runtest-setup", object: id + ".zip"}
	s.objects[ref] = bytes.Clone(src)
	now := s.now()
	f := &function{
		id: id, labels: map[string]string{},
		build:  &functionspb.BuildConfig{Runtime: spec.Runtime, EntryPoint: spec.EntryPoint, Source: &functionspb.Source{Source: &functionspb.Source_StorageSource{StorageSource: &functionspb.StorageSource{Bucket: ref.bucket, Object: ref.object}}}},
		config: cloneConfig(spec.Config), state: functionspb.Function_ACTIVE, created: now, updated: now,
	}
	if f.build.Runtime == "" {
		f.build.Runtime = "go125"
	}
	s.functions[id] = f
	s.deploy(f)
	return nil
}

// SetEventTrigger sets the Eventarc trigger a function reports (FNPB
// Function.event_trigger), for tests of event-source listing.
func (s *Server) SetEventTrigger(fn string, t *functionspb.EventTrigger) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.functions[fn]
	if !ok {
		return fmt.Errorf("runtest: no function %q", fn)
	}
	f.trigger = proto.Clone(t).(*functionspb.EventTrigger)
	return nil
}

// SetIamPolicy replaces the IAM policy of a function's service (roles such
// as roles/run.invoker and their members).
func (s *Server) SetIamPolicy(fn string, p *iampb.Policy) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.functions[fn]
	if !ok || f.svc == nil {
		return fmt.Errorf("runtest: no deployed function %q", fn)
	}
	f.svc.iam = proto.Clone(p).(*iampb.Policy)
	return nil
}

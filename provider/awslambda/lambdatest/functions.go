package lambdatest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// lastModifiedLayout is how Lambda formats FunctionConfiguration.LastModified
// (ISO 8601 with milliseconds and a numeric zone, e.g.
// 2019-10-26T16:19:47.412+0000).
const lastModifiedLayout = "2006-01-02T15:04:05.000-0700"

// latest is the $LATEST qualifier.
const latest = "$LATEST"

// Patterns from MODEL-L (docs/platforms/aws-lambda.md §1 "Input constraints"). Compiled
// regexps are immutable and safe for concurrent use.
var (
	functionNameRe = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	qualifierRe    = regexp.MustCompile(`^[a-zA-Z0-9$_-]{1,128}$`)
	aliasNameRe    = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,128}$`)
	versionRe      = regexp.MustCompile(`^(\$LATEST|[0-9]+)$`)
	digitsRe       = regexp.MustCompile(`^[0-9]+$`)
	envNameRe      = regexp.MustCompile(`^[a-zA-Z]([a-zA-Z0-9_])+$`)
)

// reservedEnv are the environment variables Lambda sets itself and refuses
// in UpdateFunctionConfiguration (Lambda guide "Defined runtime environment
// variables"; a subset).
var reservedEnv = []string{
	"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
	"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
	"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
	"AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
}

// code is a function's code: its hash as Lambda reports it and its size.
type code struct {
	sha256      string // base64 of the SHA-256 (Zip); hex digest for images
	size        int64
	packageType string // "Zip" or "Image"
	imageURI    string
}

// funcConfig is the configuration of $LATEST or of a version.
type funcConfig struct {
	code        code
	runtime     string
	handler     string
	role        string
	memory      int
	timeout     int
	env         map[string]string
	description string
	deadLetter  string
}

// sameAs reports whether two configurations have the same code and
// configuration, the test Lambda applies before publishing ("Lambda doesn't
// publish a version if the function's configuration and code haven't
// changed since the last version", MODEL-L PublishVersion docs). The
// description is not part of it: a version's description is set on publish.
func (c funcConfig) sameAs(o funcConfig) bool {
	return c.code == o.code && c.runtime == o.runtime && c.handler == o.handler && c.role == o.role &&
		c.memory == o.memory && c.timeout == o.timeout && maps.Equal(c.env, o.env) && c.deadLetter == o.deadLetter
}

func (c funcConfig) clone() funcConfig {
	c.env = maps.Clone(c.env)
	return c
}

type version struct {
	num         int
	cfg         funcConfig
	description string
	revision    string
	created     time.Time
}

type alias struct {
	name        string
	version     string
	description string
	// additional is RoutingConfig.AdditionalVersionWeights (at most one
	// entry).
	additional map[string]float64
	revision   string
}

type function struct {
	name     string
	latest   funcConfig
	revision string // $LATEST RevisionId
	modified time.Time
	// LastUpdateStatus of $LATEST; the update in progress (nil once it
	// settled); the failure of the last update.
	status  string
	pending *update
	failure *UpdateFailure

	versions    map[int]*version
	nextVersion int // highest version number ever issued; never reused
	aliases     map[string]*alias
	policies    map[string]*policy // by qualifier; "" is the unqualified function
	provisioned map[string]provisioned
	// replicated holds the versions CloudFront has replicated for
	// Lambda@Edge (SetReplicated).
	replicated map[int]bool

	traffic traffic
}

type policy struct {
	statements []map[string]any
	revision   string
}

type provisioned struct {
	n        int
	modified time.Time
}

type eventSourceMapping struct {
	uuid      string
	function  string
	qualifier string
	source    string
	state     string
	modified  time.Time
}

// newestVersion returns the highest-numbered existing version, or nil.
func (f *function) newestVersion() *version {
	var v *version
	for _, x := range f.versions {
		if v == nil || x.num > v.num {
			v = x
		}
	}
	return v
}

func (f *function) sortedVersions() []*version {
	vs := slices.Collect(maps.Values(f.versions))
	slices.SortFunc(vs, func(a, b *version) int { return a.num - b.num })
	return vs
}

// aliasesReferencing returns the names of the aliases that route to
// version v, as primary or additional version, sorted.
func (f *function) aliasesReferencing(v string) []string {
	var names []string
	for _, a := range f.aliases {
		if a.version == v {
			names = append(names, a.name)
			continue
		}
		if _, ok := a.additional[v]; ok {
			names = append(names, a.name)
		}
	}
	slices.Sort(names)
	return names
}

func (s *Server) functionARN(name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", s.opts.Region, s.opts.Account, name)
}

// parseFunctionName accepts the forms the API accepts (MODEL-L
// FunctionName docs): "name", "name:qualifier",
// "123456789012:function:name[:qualifier]" and
// "arn:aws:lambda:region:123456789012:function:name[:qualifier]". An ARN
// naming another region or account refers to a function the emulator does
// not have.
func (s *Server) parseFunctionName(raw string) (name, qualifier string, err *apiError) {
	if raw == "" || len(raw) > 170 {
		return "", "", errValidation("Value '%s' at 'functionName' failed to satisfy constraint: Member must have length between 1 and 170", raw)
	}
	parts := strings.Split(raw, ":")
	var rest []string
	switch {
	case parts[0] == "arn":
		if len(parts) < 7 || len(parts) > 8 || parts[2] != "lambda" || parts[5] != "function" {
			return "", "", errValidation("Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern", raw)
		}
		if parts[3] != s.opts.Region || parts[4] != s.opts.Account {
			return "", "", errNotFound("Function not found: %s", raw)
		}
		rest = parts[6:]
	case len(parts) >= 3 && parts[1] == "function":
		if len(parts) > 4 {
			return "", "", errValidation("Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern", raw)
		}
		if parts[0] != s.opts.Account {
			return "", "", errNotFound("Function not found: %s", raw)
		}
		rest = parts[2:]
	default:
		if len(parts) > 2 {
			return "", "", errValidation("Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern", raw)
		}
		rest = parts
	}
	name = rest[0]
	if len(rest) == 2 {
		qualifier = rest[1]
		if !qualifierRe.MatchString(qualifier) {
			return "", "", errValidation("Value '%s' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9$_-]+", qualifier)
		}
	}
	if !functionNameRe.MatchString(name) {
		return "", "", errValidation("Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern", raw)
	}
	return name, qualifier, nil
}

// lookup resolves a function name with s.mu held. Operations that take no
// qualifier refuse a qualified name.
func (s *Server) lookup(raw string, allowQualifier bool) (*function, string, *apiError) {
	name, q, err := s.parseFunctionName(raw)
	if err != nil {
		return nil, "", err
	}
	if q != "" && !allowQualifier {
		return nil, "", errInvalid("Unsupported qualifier in function name: %s. This operation does not accept a qualified function name.", raw)
	}
	f, ok := s.funcs[name]
	if !ok {
		return nil, "", errNotFound("Function not found: %s", s.functionARN(name))
	}
	return f, q, nil
}

// update is the settling state of one update of $LATEST. Each accepted
// UpdateFunctionCode/UpdateFunctionConfiguration gets its own, so an update
// settles after its own delay or polls: polls of one function never count
// for another, and polls made before an update started never count for it.
// Lambda reports the same LastUpdateStatus to every reader, so the polls
// of every caller count.
type update struct {
	polls    int       // polls still answered InProgress (poll mode)
	settleAt time.Time // when it settles (SettleDelay mode)
	// fail, when set, makes the update end Failed, with $LATEST back on
	// previous.
	fail     *UpdateFailure
	previous funcConfig
}

// settle advances $LATEST's LastUpdateStatus on the emulator clock. poll is
// true for a GetFunctionConfiguration read of $LATEST. Callers hold s.mu.
func (s *Server) settle(f *function, now time.Time, poll bool) {
	u := f.pending
	if u == nil {
		return
	}
	if s.opts.SettleDelay > 0 {
		if !now.Before(u.settleAt) {
			f.finishUpdate()
		}
		return
	}
	if !poll {
		return
	}
	if u.polls > 0 {
		u.polls--
		return
	}
	f.finishUpdate()
}

// finishUpdate ends the update in progress: Successful, or Failed with
// $LATEST back on its previous code and configuration.
func (f *function) finishUpdate() {
	u := f.pending
	f.pending = nil
	if u.fail == nil {
		f.status = "Successful"
		return
	}
	f.status = "Failed"
	f.failure = u.fail
	f.latest = u.previous
}

// startUpdate marks $LATEST as changed by op from previous: new
// RevisionId, LastModified and LastUpdateStatus=InProgress (Lambda
// "function states" page), with settling state of its own, failing when it
// settles if Options.FailUpdate says so.
func (s *Server) startUpdate(f *function, now time.Time, op string, previous funcConfig) {
	f.revision = s.nextID()
	f.modified = now
	f.failure = nil
	u := &update{polls: max(s.opts.SettlePolls, 1), settleAt: now.Add(s.opts.SettleDelay)}
	if s.opts.FailUpdate != nil {
		if fail := s.opts.FailUpdate(f.name, op); fail != nil {
			failure := *fail
			u.fail = &failure
			u.previous = previous
		}
	}
	f.status = "InProgress"
	f.pending = u
	if s.opts.SettleDelay <= 0 && s.opts.SettlePolls < 0 {
		f.finishUpdate()
	}
}

// errInProgress is the refusal of a mutation while an update is in
// progress: 409 ResourceConflictException (Lambda "function states" page;
// transcripts aws/aws-cli#6718, claudiajs/claudia#226).
func (s *Server) errInProgress(f *function) *apiError {
	return errConflict("The operation cannot be performed at this time. An update is in progress for resource: %s", s.functionARN(f.name))
}

// FunctionSpec seeds a function (see Server.CreateFunction). Zero fields
// take Lambda's defaults: 128 MB, 3 s.
type FunctionSpec struct {
	// Zip is the deployment package; nil means a small fixed placeholder.
	Zip []byte
	// Image, when set, makes a container-image function instead.
	Image       string
	Runtime     string
	Handler     string
	Role        string
	MemoryMB    int
	Timeout     time.Duration
	Environment map[string]string
	Description string
}

// CreateFunction seeds a function with its $LATEST code and configuration,
// Active and with LastUpdateStatus Successful, as a CreateFunction call
// would once the function has left the Pending state. It fails if the
// function exists or the spec is invalid.
func (s *Server) CreateFunction(name string, spec FunctionSpec) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.createFunction(name, spec); err != nil {
		return fmt.Errorf("lambdatest: create function %s: %w", name, err)
	}
	return nil
}

func (s *Server) createFunction(name string, spec FunctionSpec) *apiError {
	if !functionNameRe.MatchString(name) {
		return errValidation("Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern", name)
	}
	if _, ok := s.funcs[name]; ok {
		return errConflict("Function already exist: %s", name)
	}
	cfg := funcConfig{
		runtime: spec.Runtime, handler: spec.Handler, role: spec.Role,
		memory: spec.MemoryMB, timeout: int(spec.Timeout / time.Second),
		env: maps.Clone(spec.Environment), description: spec.Description,
	}
	if cfg.memory == 0 {
		cfg.memory = 128
	}
	if cfg.timeout == 0 {
		cfg.timeout = 3
	}
	if spec.Image != "" {
		cfg.code = imageCode(spec.Image)
	} else {
		z := spec.Zip
		if z == nil {
			z = []byte("lambdatest placeholder package")
		}
		cfg.code = zipCode(z)
	}
	if err := validateConfig(cfg); err != nil {
		return err
	}
	now := s.now()
	s.funcs[name] = &function{
		name:        name,
		latest:      cfg,
		revision:    s.nextID(),
		modified:    now,
		status:      "Successful",
		versions:    map[int]*version{},
		aliases:     map[string]*alias{},
		policies:    map[string]*policy{},
		provisioned: map[string]provisioned{},
		replicated:  map[int]bool{},
	}
	return nil
}

func zipCode(z []byte) code {
	sum := sha256.Sum256(z)
	return code{sha256: base64.StdEncoding.EncodeToString(sum[:]), size: int64(len(z)), packageType: "Zip"}
}

// imageCode: an image function's CodeSha256 is the image digest (hex); a
// reference by tag gets the hash of the reference string, since the
// emulator has no registry to resolve it.
func imageCode(uri string) code {
	if _, d, ok := strings.Cut(uri, "@sha256:"); ok && len(d) == 64 {
		return code{sha256: d, packageType: "Image", imageURI: uri}
	}
	sum := sha256.Sum256([]byte(uri))
	return code{sha256: hex.EncodeToString(sum[:]), packageType: "Image", imageURI: uri}
}

// validateConfig checks the model constraints of a configuration.
func validateConfig(c funcConfig) *apiError {
	if c.memory < 128 || c.memory > 10240 {
		return errValidation("Value '%d' at 'memorySize' failed to satisfy constraint: Member must have value between 128 and 10240", c.memory)
	}
	if c.timeout < 1 {
		return errValidation("Value '%d' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1", c.timeout)
	}
	if c.timeout > 900 {
		// Service limit, not a model constraint (quotas page: 900 s).
		return errInvalid("Timeout value %d exceeds the maximum of 900 seconds", c.timeout)
	}
	if len([]rune(c.description)) > 256 {
		return errValidation("Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 256")
	}
	var reserved []string
	for _, k := range slices.Sorted(maps.Keys(c.env)) {
		if slices.Contains(reservedEnv, k) {
			reserved = append(reserved, k)
			continue
		}
		if !envNameRe.MatchString(k) {
			return errValidation("Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]")
		}
	}
	if len(reserved) > 0 {
		return errInvalid("Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", strings.Join(reserved, ", "))
	}
	return nil
}

// PutObject stores an S3 object the emulator can read as a code source
// (UpdateFunctionCode with S3Bucket/S3Key).
func (s *Server) PutObject(bucket, key string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects[bucket+"/"+key] = slices.Clone(data)
}

// Permission is one statement added with Server.AddPermission, shaped like
// the AddPermission API's input.
type Permission struct {
	Sid string
	// Principal is "*", a service ("s3.amazonaws.com"), an account ID or an
	// IAM ARN.
	Principal string
	// Action defaults to "lambda:InvokeFunction".
	Action        string
	SourceArn     string
	SourceAccount string
	// FunctionURLAuthType ("NONE" or "AWS_IAM") adds the
	// lambda:FunctionUrlAuthType condition of a function URL permission.
	FunctionURLAuthType string
	// PrincipalOrgID adds the aws:PrincipalOrgID condition (an
	// organization's members may invoke).
	PrincipalOrgID string
}

// AddPermission adds a statement to the resource policy of fn or of one
// qualifier (version or alias), building the statement JSON as the
// AddPermission API does.
func (s *Server) AddPermission(fn, qualifier string, p Permission) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.funcs[fn]
	if !ok {
		return fmt.Errorf("lambdatest: add permission: no function %q", fn)
	}
	if qualifier != "" && !f.hasQualifier(qualifier) {
		return fmt.Errorf("lambdatest: add permission: function %q has no version or alias %q", fn, qualifier)
	}
	if p.Sid == "" || p.Principal == "" {
		return fmt.Errorf("lambdatest: add permission: Sid and Principal are required")
	}
	st := s.statement(fn, qualifier, p)
	pol := f.policies[qualifier]
	if pol == nil {
		pol = &policy{}
		f.policies[qualifier] = pol
	}
	for _, o := range pol.statements {
		if o["Sid"] == p.Sid {
			return fmt.Errorf("lambdatest: add permission: statement %q exists", p.Sid)
		}
	}
	pol.statements = append(pol.statements, st)
	pol.revision = s.nextID()
	return nil
}

// AddEventSourceMapping creates an event-source mapping from sourceARN to fn
// (qualifier "" for the unqualified function, an alias or a version) and
// returns its UUID.
func (s *Server) AddEventSourceMapping(fn, qualifier, sourceARN string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.funcs[fn]
	if !ok {
		return "", fmt.Errorf("lambdatest: add event source mapping: no function %q", fn)
	}
	if qualifier != "" && !f.hasQualifier(qualifier) {
		return "", fmt.Errorf("lambdatest: add event source mapping: function %q has no version or alias %q", fn, qualifier)
	}
	m := &eventSourceMapping{uuid: s.nextID(), function: fn, qualifier: qualifier, source: sourceARN, state: "Enabled", modified: s.now()}
	s.esms = append(s.esms, m)
	return m.uuid, nil
}

// SetReplicated marks a version of fn as replicated by CloudFront for
// Lambda@Edge (true) or its replicas as gone (false). While a version is
// replicated, Lambda refuses to delete it, or the whole function, with 400
// InvalidParameterValueException "Lambda was unable to delete ARN because
// it is a replicated function" ("Delete Lambda@Edge functions and
// replicas", CloudFront developer guide: replicas go only hours after the
// last association is removed, and cannot be deleted by hand).
func (s *Server) SetReplicated(fn, version string, replicated bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.funcs[fn]
	if !ok {
		return fmt.Errorf("lambdatest: replicated: no function %q", fn)
	}
	n, err := strconv.Atoi(version)
	if _, exists := f.versions[n]; err != nil || !digitsRe.MatchString(version) || !exists {
		return fmt.Errorf("lambdatest: replicated: %q is not a version of %q", version, fn)
	}
	if replicated {
		f.replicated[n] = true
	} else {
		delete(f.replicated, n)
	}
	return nil
}

// SetProvisionedConcurrency configures n provisioned executions on a version
// or alias of fn (0 removes the configuration). The emulator reports them
// READY at once.
func (s *Server) SetProvisionedConcurrency(fn, qualifier string, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.funcs[fn]
	if !ok {
		return fmt.Errorf("lambdatest: provisioned concurrency: no function %q", fn)
	}
	if qualifier == "" || qualifier == latest || !f.hasQualifier(qualifier) {
		return fmt.Errorf("lambdatest: provisioned concurrency: %q is not a version or alias of %q", qualifier, fn)
	}
	if n <= 0 {
		delete(f.provisioned, qualifier)
		return nil
	}
	f.provisioned[qualifier] = provisioned{n: n, modified: s.now()}
	return nil
}

func (f *function) hasQualifier(q string) bool {
	if q == latest {
		return true
	}
	if n, err := strconv.Atoi(q); err == nil && digitsRe.MatchString(q) {
		_, ok := f.versions[n]
		return ok
	}
	_, ok := f.aliases[q]
	return ok
}

// ---- JSON shapes ----

type environment struct {
	Variables map[string]string `json:"Variables"`
}

type deadLetterConfig struct {
	TargetArn string `json:"TargetArn,omitempty"`
}

type functionConfiguration struct {
	FunctionName     string            `json:"FunctionName"`
	FunctionArn      string            `json:"FunctionArn"`
	Runtime          string            `json:"Runtime,omitempty"`
	Role             string            `json:"Role,omitempty"`
	Handler          string            `json:"Handler,omitempty"`
	CodeSize         int64             `json:"CodeSize"`
	Description      string            `json:"Description"`
	Timeout          int               `json:"Timeout"`
	MemorySize       int               `json:"MemorySize"`
	LastModified     string            `json:"LastModified"`
	CodeSha256       string            `json:"CodeSha256"`
	Version          string            `json:"Version"`
	Environment      *environment      `json:"Environment,omitempty"`
	DeadLetterConfig *deadLetterConfig `json:"DeadLetterConfig,omitempty"`
	RevisionId       string            `json:"RevisionId"`
	State            string            `json:"State"`
	LastUpdateStatus string            `json:"LastUpdateStatus"`
	// LastUpdateStatusReason and …ReasonCode explain a Failed update.
	LastUpdateStatusReason     string   `json:"LastUpdateStatusReason,omitempty"`
	LastUpdateStatusReasonCode string   `json:"LastUpdateStatusReasonCode,omitempty"`
	PackageType                string   `json:"PackageType"`
	Architectures              []string `json:"Architectures"`
}

func (s *Server) configJSON(f *function, cfg funcConfig, ver, arn, revision, description, status string, modified time.Time) functionConfiguration {
	out := functionConfiguration{
		FunctionName: f.name, FunctionArn: arn,
		Runtime: cfg.runtime, Role: cfg.role, Handler: cfg.handler,
		CodeSize: cfg.code.size, Description: description, Timeout: cfg.timeout, MemorySize: cfg.memory,
		LastModified: modified.UTC().Format(lastModifiedLayout), CodeSha256: cfg.code.sha256,
		Version: ver, RevisionId: revision, State: "Active", LastUpdateStatus: status,
		PackageType: cfg.code.packageType, Architectures: []string{"x86_64"},
	}
	if len(cfg.env) > 0 {
		out.Environment = &environment{Variables: maps.Clone(cfg.env)}
	}
	if cfg.deadLetter != "" {
		out.DeadLetterConfig = &deadLetterConfig{TargetArn: cfg.deadLetter}
	}
	return out
}

func (s *Server) latestJSON(f *function) functionConfiguration {
	out := s.configJSON(f, f.latest, latest, s.functionARN(f.name), f.revision, f.latest.description, f.status, f.modified)
	if f.status == "Failed" && f.failure != nil {
		out.LastUpdateStatusReason = f.failure.Reason
		out.LastUpdateStatusReasonCode = f.failure.ReasonCode
	}
	return out
}

func (s *Server) versionJSON(f *function, v *version) functionConfiguration {
	return s.configJSON(f, v.cfg, strconv.Itoa(v.num), s.functionARN(f.name)+":"+strconv.Itoa(v.num), v.revision, v.description, "Successful", v.created)
}

type routingConfig struct {
	AdditionalVersionWeights map[string]float64 `json:"AdditionalVersionWeights"`
}

type aliasConfiguration struct {
	AliasArn        string         `json:"AliasArn"`
	Name            string         `json:"Name"`
	FunctionVersion string         `json:"FunctionVersion"`
	Description     string         `json:"Description"`
	RoutingConfig   *routingConfig `json:"RoutingConfig,omitempty"`
	RevisionId      string         `json:"RevisionId"`
}

func (s *Server) aliasJSON(f *function, a *alias) aliasConfiguration {
	out := aliasConfiguration{
		AliasArn: s.functionARN(f.name) + ":" + a.name, Name: a.name, FunctionVersion: a.version,
		Description: a.description, RevisionId: a.revision,
	}
	if len(a.additional) > 0 {
		out.RoutingConfig = &routingConfig{AdditionalVersionWeights: maps.Clone(a.additional)}
	}
	return out
}

// decodeBody reads a JSON request body into v.
func decodeBody(r *http.Request, v any) *apiError {
	if r.Body == nil {
		return nil
	}
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil && err.Error() != "EOF" {
		return errBadRequest("Could not parse request body into json: %v", err)
	}
	return nil
}

// maxItems parses MaxItems (model range 1–10000) and caps it at pageCap
// (0 = no cap), defaulting to def.
func maxItems(r *http.Request, def, pageCap int) (int, *apiError) {
	raw := r.URL.Query().Get("MaxItems")
	n := def
	if raw != "" {
		v, err := strconv.Atoi(raw)
		if err != nil || v < 1 || v > 10000 {
			return 0, errValidation("Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 10000", raw)
		}
		n = v
	}
	if pageCap > 0 {
		n = min(n, pageCap)
	}
	return n, nil
}

// Markers are opaque to clients: base64 of the last key returned.
func encodeMarker(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("after:" + key))
}

func decodeMarker(m string) (string, *apiError) {
	b, err := base64.RawURLEncoding.DecodeString(m)
	if err != nil || !strings.HasPrefix(string(b), "after:") {
		// Unknown marker → InvalidParameterValue (docs/platforms/aws-lambda.md §1
		// "Pagination", unverified).
		return "", errInvalid("Invalid marker: %s", m)
	}
	return strings.TrimPrefix(string(b), "after:"), nil
}

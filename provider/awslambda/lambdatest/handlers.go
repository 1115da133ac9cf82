package lambdatest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Each handler cites the rule it enforces: docs/platforms/aws-lambda.md §1 (sources SDK-L,
// MODEL-L and the Lambda developer guide pages named there), "Sharp edges"
// items 1–9.

// qualified resolves the function a read names and its qualifier, from
// the name (a qualified ARN or name:qualifier) or the Qualifier parameter,
// which must agree and match the qualifier pattern. The caller holds s.mu.
func (s *Server) qualified(r *http.Request, rt route) (*function, string, *apiError) {
	f, q, err := s.lookup(rt.fn, true)
	if err != nil {
		return nil, "", err
	}
	if qq := r.URL.Query().Get("Qualifier"); qq != "" {
		if q != "" && q != qq {
			return nil, "", errInvalid("The derived qualifier from the function name does not match the specified qualifier.")
		}
		q = qq
	}
	if q != "" && !qualifierRe.MatchString(q) {
		return nil, "", errValidation("Value '%s' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9$_-]+", q)
	}
	return f, q, nil
}

func (s *Server) getFunctionConfiguration(w http.ResponseWriter, r *http.Request, rt route) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, q, err := s.qualified(r, rt)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	out, err := s.resolveConfig(f, q, true)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// getFunction answers GetFunction: the configuration a qualifier names
// (as GetFunctionConfiguration, without counting as a poll of an update)
// and where its code is: a presigned S3 location for a .zip package, the
// image for a container image. Lambda counts GetFunction against its own
// quota (100 requests per second), not the control plane's 15.
func (s *Server) getFunction(w http.ResponseWriter, r *http.Request, rt route) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, q, err := s.qualified(r, rt)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	cfg, err := s.resolveConfig(f, q, false)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	loc := map[string]string{"RepositoryType": "S3",
		"Location": fmt.Sprintf("https://awslambda-%s-tasks.s3.%s.amazonaws.com/snapshots/%s/%s-%s?X-Amz-Expires=600",
			s.Region(), s.Region(), s.opts.Account, f.name, cfg.Version)}
	if cfg.PackageType == "Image" {
		c := f.latest.code
		if n, perr := strconv.Atoi(cfg.Version); perr == nil {
			c = f.versions[n].cfg.code
		}
		loc = map[string]string{"RepositoryType": "ECR", "ImageUri": c.imageURI, "ResolvedImageUri": c.imageURI}
	}
	writeJSON(w, http.StatusOK, map[string]any{"Configuration": cfg, "Code": loc})
}

// resolveConfig returns the configuration a qualifier names: $LATEST (or
// ""), a version number, or an alias (its primary version).
func (s *Server) resolveConfig(f *function, q string, poll bool) (functionConfiguration, *apiError) {
	if q == "" || q == latest {
		s.settle(f, s.now(), poll)
		return s.latestJSON(f), nil
	}
	if a, ok := f.aliases[q]; ok {
		q = a.version
		if q == latest {
			return s.latestJSON(f), nil
		}
	}
	if digitsRe.MatchString(q) {
		n, _ := strconv.Atoi(q)
		if v, ok := f.versions[n]; ok {
			return s.versionJSON(f, v), nil
		}
	}
	return functionConfiguration{}, errNotFound("Function not found: %s:%s", s.functionARN(f.name), q)
}

type updateConfigRequest struct {
	Role             *string           `json:"Role"`
	Handler          *string           `json:"Handler"`
	Description      *string           `json:"Description"`
	Runtime          *string           `json:"Runtime"`
	MemorySize       *int              `json:"MemorySize"`
	Timeout          *int              `json:"Timeout"`
	Environment      *environment      `json:"Environment"`
	DeadLetterConfig *deadLetterConfig `json:"DeadLetterConfig"`
	RevisionId       *string           `json:"RevisionId"`
}

func (s *Server) updateFunctionConfiguration(w http.ResponseWriter, r *http.Request, rt route) {
	var in updateConfigRequest
	if err := decodeBody(r, &in); err != nil {
		writeAPIError(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, _, err := s.lookup(rt.fn, false)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	now := s.now()
	s.settle(f, now, false)
	// Sharp edge 4: no update while one is in progress.
	if f.status == "InProgress" {
		writeAPIError(w, s.errInProgress(f))
		return
	}
	// Sharp edge 1: stale RevisionId → 412.
	if in.RevisionId != nil && *in.RevisionId != f.revision {
		writeAPIError(w, errPrecondition())
		return
	}
	cfg := f.latest.clone()
	if in.Role != nil {
		cfg.role = *in.Role
	}
	if in.Handler != nil {
		cfg.handler = *in.Handler
	}
	if in.Description != nil {
		cfg.description = *in.Description
	}
	if in.Runtime != nil {
		cfg.runtime = *in.Runtime
	}
	if in.MemorySize != nil {
		cfg.memory = *in.MemorySize
	}
	if in.Timeout != nil {
		cfg.timeout = *in.Timeout
	}
	if in.Environment != nil {
		cfg.env = maps.Clone(in.Environment.Variables)
		if len(cfg.env) == 0 {
			cfg.env = nil
		}
	}
	if in.DeadLetterConfig != nil {
		cfg.deadLetter = in.DeadLetterConfig.TargetArn
	}
	if err := validateConfig(cfg); err != nil {
		writeAPIError(w, err)
		return
	}
	previous := f.latest
	f.latest = cfg
	s.startUpdate(f, now, "UpdateFunctionConfiguration", previous)
	writeJSON(w, http.StatusOK, s.latestJSON(f))
}

type updateCodeRequest struct {
	ZipFile         []byte  `json:"ZipFile"`
	S3Bucket        *string `json:"S3Bucket"`
	S3Key           *string `json:"S3Key"`
	S3ObjectVersion *string `json:"S3ObjectVersion"`
	ImageUri        *string `json:"ImageUri"`
	Publish         bool    `json:"Publish"`
	DryRun          bool    `json:"DryRun"`
	RevisionId      *string `json:"RevisionId"`
}

func (s *Server) updateFunctionCode(w http.ResponseWriter, r *http.Request, rt route) {
	var in updateCodeRequest
	if err := decodeBody(r, &in); err != nil {
		writeAPIError(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, _, err := s.lookup(rt.fn, false)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	now := s.now()
	s.settle(f, now, false)
	if f.status == "InProgress" {
		writeAPIError(w, s.errInProgress(f))
		return
	}
	if in.RevisionId != nil && *in.RevisionId != f.revision {
		writeAPIError(w, errPrecondition())
		return
	}
	sources := 0
	if in.ZipFile != nil {
		sources++
	}
	if in.S3Bucket != nil || in.S3Key != nil {
		sources++
	}
	if in.ImageUri != nil {
		sources++
	}
	if sources != 1 {
		writeAPIError(w, errInvalid("Please provide a source for function code: exactly one of ZipFile, S3Bucket+S3Key or ImageUri."))
		return
	}
	var c code
	switch {
	case in.ZipFile != nil:
		if f.latest.code.packageType != "Zip" {
			writeAPIError(w, errInvalid("Please provide ImageUri when updating a function with packageType Image."))
			return
		}
		c = zipCode(in.ZipFile)
	case in.ImageUri != nil:
		if f.latest.code.packageType != "Image" {
			writeAPIError(w, errInvalid("Please don't provide ImageUri when updating a function with packageType Zip."))
			return
		}
		c = imageCode(*in.ImageUri)
	default:
		if in.S3Bucket == nil || in.S3Key == nil {
			writeAPIError(w, errInvalid("Please provide both S3Bucket and S3Key."))
			return
		}
		if f.latest.code.packageType != "Zip" {
			writeAPIError(w, errInvalid("Please provide ImageUri when updating a function with packageType Image."))
			return
		}
		data, ok := s.objects[*in.S3Bucket+"/"+*in.S3Key]
		if !ok {
			writeAPIError(w, errInvalid("Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist."))
			return
		}
		c = zipCode(data)
	}
	if in.DryRun {
		cfg := f.latest.clone()
		cfg.code = c
		writeJSON(w, http.StatusOK, s.configJSON(f, cfg, latest, s.functionARN(f.name), f.revision, cfg.description, f.status, f.modified))
		return
	}
	previous := f.latest.clone()
	f.latest.code = c
	s.startUpdate(f, now, "UpdateFunctionCode", previous)
	if in.Publish {
		// Publish=true publishes the new code as a version in the same call
		// and answers with that version's configuration.
		v := s.publish(f, f.latest.description, now)
		writeJSON(w, http.StatusOK, s.versionJSON(f, v))
		return
	}
	writeJSON(w, http.StatusOK, s.latestJSON(f))
}

type publishRequest struct {
	CodeSha256  *string `json:"CodeSha256"`
	Description *string `json:"Description"`
	RevisionId  *string `json:"RevisionId"`
}

func (s *Server) publishVersion(w http.ResponseWriter, r *http.Request, rt route) {
	var in publishRequest
	if err := decodeBody(r, &in); err != nil {
		writeAPIError(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, _, err := s.lookup(rt.fn, false)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	now := s.now()
	s.settle(f, now, false)
	// Sharp edge 4: PublishVersion during an update → 409.
	if f.status == "InProgress" {
		writeAPIError(w, s.errInProgress(f))
		return
	}
	// Sharp edge 1: stale RevisionId → 412.
	if in.RevisionId != nil && *in.RevisionId != f.revision {
		writeAPIError(w, errPrecondition())
		return
	}
	// Sharp edge 2: CodeSha256 mismatch → 400 InvalidParameterValue, not
	// 412 (transcripts serverless/serverless#3696, floci-io/floci#2822).
	if in.CodeSha256 != nil && *in.CodeSha256 != f.latest.code.sha256 {
		writeAPIError(w, errInvalid("CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please try again with the CodeSHA256 in $LATEST.", *in.CodeSha256, f.latest.code.sha256))
		return
	}
	desc := f.latest.description
	if in.Description != nil {
		desc = *in.Description
		if err := checkDescription(in.Description); err != nil {
			writeAPIError(w, err)
			return
		}
	}
	// Sharp edge 3: nothing changed since the newest version → that
	// version, no new number (MODEL-L PublishVersion docs; floci#2822).
	if v := f.newestVersion(); v != nil && v.cfg.sameAs(f.latest) {
		writeJSON(w, http.StatusCreated, s.versionJSON(f, v))
		return
	}
	v := s.publish(f, desc, now)
	writeJSON(w, http.StatusCreated, s.versionJSON(f, v))
}

// publish snapshots $LATEST as the next version. Sharp edge 9: numbers
// continue from the highest ever issued, so a deleted number is never
// reused.
func (s *Server) publish(f *function, desc string, now time.Time) *version {
	f.nextVersion++
	v := &version{num: f.nextVersion, cfg: f.latest.clone(), description: desc, revision: s.nextID(), created: now}
	f.versions[v.num] = v
	return v
}

func (s *Server) listVersions(w http.ResponseWriter, r *http.Request, rt route) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, _, err := s.lookup(rt.fn, false)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	// Sharp edge 7: at most 50 per page "even if you set the number higher"
	// (MODEL-L ListVersionsByFunction docs).
	n, err := maxItems(r, 50, 50)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	after := -1 // $LATEST is key 0 and comes first
	if m := r.URL.Query().Get("Marker"); m != "" {
		k, err := decodeMarker(m)
		if err != nil {
			writeAPIError(w, err)
			return
		}
		a, convErr := strconv.Atoi(k)
		if convErr != nil {
			writeAPIError(w, errInvalid("Invalid marker: %s", m))
			return
		}
		after = a
	}
	s.settle(f, s.now(), false)
	type item struct {
		key int
		cfg functionConfiguration
	}
	// The $LATEST entry carries the qualified ARN, "…:function:name:$LATEST",
	// as every version's does (the CLI reference's list-versions-by-function
	// example). GetFunctionConfiguration without a qualifier keeps the
	// unqualified one (unverified).
	lj := s.latestJSON(f)
	lj.FunctionArn += ":" + latest
	all := []item{{0, lj}}
	for _, v := range f.sortedVersions() {
		all = append(all, item{v.num, s.versionJSON(f, v)})
	}
	out := struct {
		Versions   []functionConfiguration `json:"Versions"`
		NextMarker string                  `json:"NextMarker,omitempty"`
	}{Versions: []functionConfiguration{}}
	rest := slices.DeleteFunc(all, func(it item) bool { return it.key <= after })
	for i, it := range rest {
		if i == n {
			out.NextMarker = encodeMarker(strconv.Itoa(rest[i-1].key))
			break
		}
		out.Versions = append(out.Versions, it.cfg)
	}
	writeJSON(w, http.StatusOK, out)
}

type aliasRequest struct {
	Name            *string        `json:"Name"`
	FunctionVersion *string        `json:"FunctionVersion"`
	Description     *string        `json:"Description"`
	RoutingConfig   *routingConfig `json:"RoutingConfig"`
	RevisionId      *string        `json:"RevisionId"`
}

// checkAliasName: 1–128 of [a-zA-Z0-9-_], and not all digits, so an alias
// can't be mistaken for a version (MODEL-L Alias pattern
// (?!^[0-9]+$)([a-zA-Z0-9-_]+)); a pattern violation is a
// ValidationException.
func checkAliasName(name string) *apiError {
	if !aliasNameRe.MatchString(name) || digitsRe.MatchString(name) {
		return errValidation("Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)", name)
	}
	return nil
}

// checkDescription enforces the Description shape of CreateAlias,
// UpdateAlias and PublishVersion: length 0–256 (MODEL-L shape Description;
// API_CreateAlias and API_UpdateAlias "Length Constraints: Minimum length
// of 0. Maximum length of 256"), a model constraint, so ValidationException.
func checkDescription(d *string) *apiError {
	if d != nil && len([]rune(*d)) > maxDescription {
		return errValidation("Value at 'description' failed to satisfy constraint: Member must have length less than or equal to %d", maxDescription)
	}
	return nil
}

// maxDescription is the longest Description Lambda accepts.
const maxDescription = 256

// checkVersion enforces the Version shape (FunctionVersion of CreateAlias
// and UpdateAlias, the FunctionVersion filter of ListAliases): the pattern
// ($LATEST|[0-9]+) and length 1–1024 (MODEL-L shape Version).
func checkVersion(field, v string) *apiError {
	if !versionRe.MatchString(v) {
		return errValidation("Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\$LATEST|[0-9]+)", v, field)
	}
	if len(v) > maxVersionLen {
		return errValidation("Value '%s' at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", v, field, maxVersionLen)
	}
	return nil
}

// maxVersionLen bounds a version string (shapes Version and
// AdditionalVersion: length 1–1024).
const maxVersionLen = 1024

// checkRouting enforces the weighted-alias rules (sharp edge 5;
// docs/platforms/aws-lambda.md §1 "Weighted aliases", from the API_AliasRoutingConfiguration
// and lambda-traffic-shifting-using-aliases pages):
//   - keys [0-9]+ and weights within 0.0–1.0 are model constraints
//     (ValidationException);
//   - at most one additional version ("point an alias to a maximum of two
//     versions") → InvalidParameterValue;
//   - no routing for an alias on $LATEST → InvalidParameterValue;
//   - the additional version differs from the primary → InvalidParameterValue
//     (localstack wording, unverified);
//   - every version exists → ResourceNotFound;
//   - both versions share the execution role and dead-letter config
//     (traffic-shifting page) → InvalidParameterValue (wording unverified).
func (s *Server) checkRouting(f *function, primary string, weights map[string]float64) *apiError {
	if err := checkVersion("functionVersion", primary); err != nil {
		return err
	}
	for k, wt := range weights {
		if !digitsRe.MatchString(k) || len(k) > maxVersionLen {
			return errValidation("Value '{%s=%v}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [0-9]+]", k, wt)
		}
		if wt < 0 || wt > 1 || wt != wt {
			return errValidation("Value '{%s=%v}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0]", k, wt)
		}
	}
	if len(weights) > 1 {
		return errInvalid("Number of items in AdditionalVersionWeights cannot be greater than 1")
	}
	if primary == latest {
		if len(weights) > 0 {
			return errInvalid("$LATEST is not supported for an alias pointing to more than 1 version")
		}
		return nil
	}
	pn, _ := strconv.Atoi(primary)
	pv, ok := f.versions[pn]
	if !ok {
		return errNotFound("Function not found: %s:%s", s.functionARN(f.name), primary)
	}
	for k := range weights {
		if k == primary {
			return errInvalid("Invalid function version %s. Function version %s is already included in routing configuration.", k, k)
		}
		n, _ := strconv.Atoi(k)
		av, ok := f.versions[n]
		if !ok {
			return errNotFound("Function not found: %s:%s", s.functionARN(f.name), k)
		}
		if av.cfg.role != pv.cfg.role || av.cfg.deadLetter != pv.cfg.deadLetter {
			return errInvalid("Function versions %s and %s in the routing configuration must have the same execution role and dead-letter queue configuration.", primary, k)
		}
	}
	return nil
}

func (s *Server) createAlias(w http.ResponseWriter, r *http.Request, rt route) {
	var in aliasRequest
	if err := decodeBody(r, &in); err != nil {
		writeAPIError(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, _, err := s.lookup(rt.fn, false)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	if in.Name == nil || in.FunctionVersion == nil {
		writeAPIError(w, errValidation("Value null at 'name' or 'functionVersion' failed to satisfy constraint: Member must not be null"))
		return
	}
	if err := checkAliasName(*in.Name); err != nil {
		writeAPIError(w, err)
		return
	}
	if err := checkDescription(in.Description); err != nil {
		writeAPIError(w, err)
		return
	}
	var weights map[string]float64
	if in.RoutingConfig != nil {
		weights = in.RoutingConfig.AdditionalVersionWeights
	}
	if err := s.checkRouting(f, *in.FunctionVersion, weights); err != nil {
		writeAPIError(w, err)
		return
	}
	if _, ok := f.aliases[*in.Name]; ok {
		writeAPIError(w, errConflict("Alias already exists: %s:%s", s.functionARN(f.name), *in.Name))
		return
	}
	a := &alias{name: *in.Name, version: *in.FunctionVersion, additional: maps.Clone(weights), revision: s.nextID()}
	if len(a.additional) == 0 {
		a.additional = nil
	}
	if in.Description != nil {
		a.description = *in.Description
	}
	f.aliases[a.name] = a
	f.traffic.routeChanged(a.name, s.now(), a.version, a.additional)
	writeJSON(w, http.StatusCreated, s.aliasJSON(f, a))
}

func (s *Server) getAlias(w http.ResponseWriter, r *http.Request, rt route) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, _, err := s.lookup(rt.fn, false)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	if err := checkAliasName(rt.alias); err != nil {
		writeAPIError(w, err)
		return
	}
	a, ok := f.aliases[rt.alias]
	if !ok {
		writeAPIError(w, errNotFound("Alias not found: %s:%s", s.functionARN(f.name), rt.alias))
		return
	}
	writeJSON(w, http.StatusOK, s.aliasJSON(f, a))
}

// updateAlias: omitted FunctionVersion, Description or RoutingConfig leave
// the alias's values as they are; a RoutingConfig with an empty map clears
// the routing (docs/platforms/aws-lambda.md §1 "Weighted aliases", promotion row). A stale
// RevisionId → 412 (sharp edge 1; the alias token is its own, separate
// from the function's).
func (s *Server) updateAlias(w http.ResponseWriter, r *http.Request, rt route) {
	var in aliasRequest
	if err := decodeBody(r, &in); err != nil {
		writeAPIError(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, _, err := s.lookup(rt.fn, false)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	if err := checkAliasName(rt.alias); err != nil {
		writeAPIError(w, err)
		return
	}
	if err := checkDescription(in.Description); err != nil {
		writeAPIError(w, err)
		return
	}
	a, ok := f.aliases[rt.alias]
	if !ok {
		writeAPIError(w, errNotFound("Alias not found: %s:%s", s.functionARN(f.name), rt.alias))
		return
	}
	if in.RevisionId != nil && *in.RevisionId != a.revision {
		writeAPIError(w, errPrecondition())
		return
	}
	primary := a.version
	if in.FunctionVersion != nil {
		primary = *in.FunctionVersion
	}
	weights := a.additional
	if in.RoutingConfig != nil {
		weights = in.RoutingConfig.AdditionalVersionWeights
	}
	if err := s.checkRouting(f, primary, weights); err != nil {
		writeAPIError(w, err)
		return
	}
	a.version = primary
	a.additional = maps.Clone(weights)
	if len(a.additional) == 0 {
		a.additional = nil
	}
	if in.Description != nil {
		a.description = *in.Description
	}
	a.revision = s.nextID()
	f.traffic.routeChanged(a.name, s.now(), a.version, a.additional)
	writeJSON(w, http.StatusOK, s.aliasJSON(f, a))
}

// deleteAlias answers 204 whether or not the alias existed: the operation
// lists no ResourceNotFound error (MODEL-L DeleteAlias).
func (s *Server) deleteAlias(w http.ResponseWriter, r *http.Request, rt route) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, _, err := s.lookup(rt.fn, false)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	if err := checkAliasName(rt.alias); err != nil {
		writeAPIError(w, err)
		return
	}
	if _, ok := f.aliases[rt.alias]; ok {
		delete(f.aliases, rt.alias)
		f.traffic.routeChanged(rt.alias, s.now(), "", nil)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listAliases(w http.ResponseWriter, r *http.Request, rt route) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, _, err := s.lookup(rt.fn, false)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	// ListAliases has no documented page cap; the emulator's default page
	// is 50 (unverified).
	n, err := maxItems(r, 50, 0)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	after := ""
	if m := r.URL.Query().Get("Marker"); m != "" {
		k, err := decodeMarker(m)
		if err != nil {
			writeAPIError(w, err)
			return
		}
		after = k
	}
	filter := r.URL.Query().Get("FunctionVersion")
	if filter != "" {
		if err := checkVersion("functionVersion", filter); err != nil {
			writeAPIError(w, err)
			return
		}
	}
	var names []string
	for _, name := range slices.Sorted(maps.Keys(f.aliases)) {
		a := f.aliases[name]
		if name <= after {
			continue
		}
		// "only list aliases that invoke that version": the primary or the
		// additional version (unverified for the additional one).
		if _, extra := a.additional[filter]; filter != "" && a.version != filter && !extra {
			continue
		}
		names = append(names, name)
	}
	out := struct {
		Aliases    []aliasConfiguration `json:"Aliases"`
		NextMarker string               `json:"NextMarker,omitempty"`
	}{Aliases: []aliasConfiguration{}}
	for i, name := range names {
		if i == n {
			out.NextMarker = encodeMarker(names[i-1])
			break
		}
		out.Aliases = append(out.Aliases, s.aliasJSON(f, f.aliases[name]))
	}
	writeJSON(w, http.StatusOK, out)
}

// deleteFunction: with Qualifier=N it deletes version N only, refused with
// 409 while an alias references it (MODEL-L DeleteFunctionRequest$Qualifier;
// observed message from floci/localstack; sharp edge 6). A version that is
// an alias's additional routing version is refused the same way
// (unverified). $LATEST or an alias can't be deleted this way
// (InvalidParameterValue, unverified). Without a qualifier the function
// goes with every version and alias.
func (s *Server) deleteFunction(w http.ResponseWriter, r *http.Request, rt route) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, q, err := s.lookup(rt.fn, true)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	if qq := r.URL.Query().Get("Qualifier"); qq != "" {
		if q != "" && q != qq {
			writeAPIError(w, errInvalid("The derived qualifier from the function name does not match the specified qualifier."))
			return
		}
		q = qq
	}
	replicaRefusal := func(n int) {
		writeAPIError(w, errInvalid("Lambda was unable to delete %s:%d because it is a replicated function. "+
			"Please see our documentation for Deleting Lambda@Edge Functions and Replicas.", s.functionARN(f.name), n))
	}
	if q == "" {
		if len(f.replicated) > 0 {
			replicaRefusal(slices.Min(slices.Collect(maps.Keys(f.replicated))))
			return
		}
		delete(s.funcs, f.name)
		s.esms = slices.DeleteFunc(s.esms, func(m *eventSourceMapping) bool { return m.function == f.name })
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if q == latest {
		writeAPIError(w, errInvalid("$LATEST version cannot be deleted without deleting the function."))
		return
	}
	if !digitsRe.MatchString(q) {
		if _, ok := f.aliases[q]; ok {
			writeAPIError(w, errInvalid("Deletion of aliases is not supported with DeleteFunction; use DeleteAlias."))
			return
		}
		writeAPIError(w, errNotFound("Function not found: %s:%s", s.functionARN(f.name), q))
		return
	}
	n, _ := strconv.Atoi(q)
	if _, ok := f.versions[n]; !ok {
		writeAPIError(w, errNotFound("Function not found: %s:%s", s.functionARN(f.name), q))
		return
	}
	if names := f.aliasesReferencing(q); len(names) > 0 {
		writeAPIError(w, errConflict("Unable to delete version because the following aliases reference it: [%s]", strings.Join(names, ", ")))
		return
	}
	if f.replicated[n] {
		replicaRefusal(n)
		return
	}
	delete(f.versions, n)
	delete(f.policies, q)
	delete(f.provisioned, q)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request, rt route) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, q, err := s.lookup(rt.fn, true)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	if qq := r.URL.Query().Get("Qualifier"); qq != "" {
		q = qq
	}
	if q != "" && !f.hasQualifier(q) {
		writeAPIError(w, errNotFound("Function not found: %s:%s", s.functionARN(f.name), q))
		return
	}
	pol := f.policies[q]
	if pol == nil || len(pol.statements) == 0 {
		writeAPIError(w, errNotFound("The resource you requested does not exist."))
		return
	}
	doc, jerr := json.Marshal(map[string]any{"Version": "2012-10-17", "Id": "default", "Statement": pol.statements})
	if jerr != nil {
		writeLambdaError(w, http.StatusInternalServerError, "ServiceException", jerr.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"Policy": string(doc), "RevisionId": pol.revision})
}

// listEventSourceMappings: FunctionName may be qualified; an unqualified
// name lists the mappings of every qualifier of the function (unverified).
// At most 100 per page "even if you set the number higher" (MODEL-L docs).
func (s *Server) listEventSourceMappings(w http.ResponseWriter, r *http.Request, rt route) {
	s.mu.Lock()
	defer s.mu.Unlock()
	qs := r.URL.Query()
	name, q := "", ""
	if raw := qs.Get("FunctionName"); raw != "" {
		f, qq, err := s.lookup(raw, true)
		if err != nil {
			writeAPIError(w, err)
			return
		}
		name, q = f.name, qq
	}
	n, err := maxItems(r, 100, 100)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	start := 0
	if m := qs.Get("Marker"); m != "" {
		k, err := decodeMarker(m)
		if err != nil {
			writeAPIError(w, err)
			return
		}
		i := slices.IndexFunc(s.esms, func(e *eventSourceMapping) bool { return e.uuid == k })
		if i < 0 {
			writeAPIError(w, errInvalid("Invalid marker: %s", m))
			return
		}
		start = i + 1
	}
	src := qs.Get("EventSourceArn")
	out := struct {
		EventSourceMappings []esmJSON `json:"EventSourceMappings"`
		NextMarker          string    `json:"NextMarker,omitempty"`
	}{EventSourceMappings: []esmJSON{}}
	var last string
	for _, m := range s.esms[start:] {
		if name != "" && (m.function != name || (q != "" && m.qualifier != q)) {
			continue
		}
		if src != "" && m.source != src {
			continue
		}
		if len(out.EventSourceMappings) == n {
			out.NextMarker = encodeMarker(last)
			break
		}
		out.EventSourceMappings = append(out.EventSourceMappings, s.esmJSON(m))
		last = m.uuid
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listProvisionedConcurrency(w http.ResponseWriter, r *http.Request, rt route) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, _, err := s.lookup(rt.fn, false)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	n, err := maxItems(r, 50, 50)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	after := ""
	if m := r.URL.Query().Get("Marker"); m != "" {
		k, err := decodeMarker(m)
		if err != nil {
			writeAPIError(w, err)
			return
		}
		after = k
	}
	type pcJSON struct {
		FunctionArn                              string `json:"FunctionArn"`
		RequestedProvisionedConcurrentExecutions int    `json:"RequestedProvisionedConcurrentExecutions"`
		AvailableProvisionedConcurrentExecutions int    `json:"AvailableProvisionedConcurrentExecutions"`
		AllocatedProvisionedConcurrentExecutions int    `json:"AllocatedProvisionedConcurrentExecutions"`
		Status                                   string `json:"Status"`
		LastModified                             string `json:"LastModified"`
	}
	out := struct {
		ProvisionedConcurrencyConfigs []pcJSON `json:"ProvisionedConcurrencyConfigs"`
		NextMarker                    string   `json:"NextMarker,omitempty"`
	}{ProvisionedConcurrencyConfigs: []pcJSON{}}
	var last string
	for _, q := range slices.Sorted(maps.Keys(f.provisioned)) {
		if q <= after {
			continue
		}
		if len(out.ProvisionedConcurrencyConfigs) == n {
			out.NextMarker = encodeMarker(last)
			break
		}
		p := f.provisioned[q]
		out.ProvisionedConcurrencyConfigs = append(out.ProvisionedConcurrencyConfigs, pcJSON{
			FunctionArn:                              s.functionARN(f.name) + ":" + q,
			RequestedProvisionedConcurrentExecutions: p.n, AvailableProvisionedConcurrentExecutions: p.n,
			AllocatedProvisionedConcurrentExecutions: p.n, Status: "READY",
			LastModified: p.modified.UTC().Format(time.RFC3339),
		})
		last = q
	}
	writeJSON(w, http.StatusOK, out)
}

type createFunctionRequest struct {
	FunctionName *string `json:"FunctionName"`
	Runtime      string  `json:"Runtime"`
	Role         string  `json:"Role"`
	Handler      string  `json:"Handler"`
	Description  string  `json:"Description"`
	Timeout      int     `json:"Timeout"`
	MemorySize   int     `json:"MemorySize"`
	Code         struct {
		ZipFile  []byte  `json:"ZipFile"`
		S3Bucket *string `json:"S3Bucket"`
		S3Key    *string `json:"S3Key"`
		ImageUri string  `json:"ImageUri"`
	} `json:"Code"`
	Environment *environment `json:"Environment"`
}

// createFunctionHTTP implements CreateFunction so tools under test can seed
// functions through the SDK. The function is Active at once (the service
// keeps it Pending for a few seconds).
func (s *Server) createFunctionHTTP(w http.ResponseWriter, r *http.Request, rt route) {
	var in createFunctionRequest
	if err := decodeBody(r, &in); err != nil {
		writeAPIError(w, err)
		return
	}
	if in.FunctionName == nil {
		writeAPIError(w, errValidation("Value null at 'functionName' failed to satisfy constraint: Member must not be null"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	spec := FunctionSpec{
		Zip: in.Code.ZipFile, Image: in.Code.ImageUri, Runtime: in.Runtime, Handler: in.Handler, Role: in.Role,
		MemoryMB: in.MemorySize, Timeout: time.Duration(in.Timeout) * time.Second, Description: in.Description,
	}
	if in.Environment != nil {
		spec.Environment = in.Environment.Variables
	}
	if in.Code.S3Bucket != nil && in.Code.S3Key != nil {
		data, ok := s.objects[*in.Code.S3Bucket+"/"+*in.Code.S3Key]
		if !ok {
			writeAPIError(w, errInvalid("Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist."))
			return
		}
		spec.Zip = data
	}
	if spec.Zip == nil && spec.Image == "" {
		writeAPIError(w, errInvalid("Please provide a source for function code."))
		return
	}
	if err := s.createFunction(*in.FunctionName, spec); err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.latestJSON(s.funcs[*in.FunctionName]))
}

// String describes the server for logs.
func (s *Server) String() string { return fmt.Sprintf("lambdatest.Server(%s)", s.URL()) }

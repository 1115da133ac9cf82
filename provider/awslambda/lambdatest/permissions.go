package lambdatest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// Resource-based policy writes: AddPermission
// (POST /2015-03-31/functions/{FunctionName}/policy?Qualifier=, 201) and
// RemovePermission (DELETE …/policy/{StatementId}?Qualifier=&RevisionId=,
// 204). Rules and sources (MODEL-L operations, shapes and docs; the
// AddPermission and RemovePermission pages of the Lambda API reference):
//   - StatementId, Action and Principal are required; StatementId is 1–100
//     of [a-zA-Z0-9-_], Action matches (lambda:[*]|lambda:[a-zA-Z]+|[*]),
//     Principal has no whitespace: violations → 400 ValidationException.
//   - A qualifier names a version or an alias; "Lambda does not support
//     adding policies to version $LATEST" (AddPermission docs) → 400
//     InvalidParameterValueException (wording unverified). A missing function
//     or qualifier → 404 ResourceNotFoundException.
//   - RevisionId, when given, must be the policy's current one (GetPolicy's
//     RevisionId; a qualifier without a policy has none, so any value is
//     stale) → 412 PreconditionFailedException.
//   - A StatementId already in the policy → 409 ResourceConflictException
//     ("The resource already exists", MODEL-L; message wording unverified).
//   - A policy over 20 KB → 400 PolicyLengthExceededException (quotas page:
//     "Function resource-based policy: 20 KB"; wording unverified).
//   - RemovePermission of a StatementId the policy lacks → 404
//     ResourceNotFoundException.
// Every change issues a new policy RevisionId.

var (
	statementIDRe = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,100}$`)
	// removal takes a NamespacedStatementId: dots allowed.
	namespacedStatementIDRe = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,100}$`)
	actionRe                = regexp.MustCompile(`^(lambda:[*]|lambda:[a-zA-Z]+|[*])$`)
	principalRe             = regexp.MustCompile(`^[^\s]+$`)
)

// maxPolicyBytes is the quota on a function's resource-based policy.
const maxPolicyBytes = 20 << 10

// statement builds the JSON statement AddPermission adds.
func (s *Server) statement(fn, qualifier string, p Permission) map[string]any {
	action := p.Action
	if action == "" {
		action = "lambda:InvokeFunction"
	}
	var principal any
	switch {
	case p.Principal == "*":
		principal = "*"
	case strings.HasSuffix(p.Principal, ".amazonaws.com"):
		principal = map[string]any{"Service": p.Principal}
	case digitsRe.MatchString(p.Principal):
		principal = map[string]any{"AWS": "arn:aws:iam::" + p.Principal + ":root"}
	default:
		principal = map[string]any{"AWS": p.Principal}
	}
	resource := s.functionARN(fn)
	if qualifier != "" {
		resource += ":" + qualifier
	}
	st := map[string]any{"Sid": p.Sid, "Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource}
	cond := map[string]any{}
	if p.SourceArn != "" {
		cond["ArnLike"] = map[string]any{"AWS:SourceArn": p.SourceArn}
	}
	eq := map[string]any{}
	if p.SourceAccount != "" {
		eq["AWS:SourceAccount"] = p.SourceAccount
	}
	if p.FunctionURLAuthType != "" {
		eq["lambda:FunctionUrlAuthType"] = p.FunctionURLAuthType
	}
	if p.PrincipalOrgID != "" {
		eq["aws:PrincipalOrgID"] = p.PrincipalOrgID
	}
	if len(eq) > 0 {
		cond["StringEquals"] = eq
	}
	if len(cond) > 0 {
		st["Condition"] = cond
	}
	return st
}

type addPermissionRequest struct {
	StatementId         *string `json:"StatementId"`
	Action              *string `json:"Action"`
	Principal           *string `json:"Principal"`
	SourceArn           string  `json:"SourceArn"`
	SourceAccount       string  `json:"SourceAccount"`
	PrincipalOrgID      string  `json:"PrincipalOrgID"`
	FunctionUrlAuthType string  `json:"FunctionUrlAuthType"`
	RevisionId          *string `json:"RevisionId"`
}

// policyQualifier resolves the function and qualifier of a policy request
// and checks the qualifier exists. The caller holds s.mu.
func (s *Server) policyQualifier(r *http.Request, rt route) (*function, string, *apiError) {
	f, q, err := s.qualified(r, rt)
	if err != nil {
		return nil, "", err
	}
	if q != "" && q != latest && !f.hasQualifier(q) {
		return nil, "", errNotFound("Function not found: %s:%s", s.functionARN(f.name), q)
	}
	return f, q, nil
}

func (s *Server) addPermissionHTTP(w http.ResponseWriter, r *http.Request, rt route) {
	var in addPermissionRequest
	if err := decodeBody(r, &in); err != nil {
		writeAPIError(w, err)
		return
	}
	for _, req := range []struct {
		name string
		v    *string
		re   *regexp.Regexp
	}{{"statementId", in.StatementId, statementIDRe}, {"action", in.Action, actionRe}, {"principal", in.Principal, principalRe}} {
		if req.v == nil {
			writeAPIError(w, errValidation("Value null at '%s' failed to satisfy constraint: Member must not be null", req.name))
			return
		}
		if !req.re.MatchString(*req.v) {
			writeAPIError(w, errValidation("Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", *req.v, req.name, req.re))
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, q, err := s.policyQualifier(r, rt)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	if q == latest {
		writeAPIError(w, errInvalid("We currently do not support adding policies for $LATEST."))
		return
	}
	pol := f.policies[q]
	if in.RevisionId != nil && (pol == nil || *in.RevisionId != pol.revision) {
		writeAPIError(w, errPrecondition())
		return
	}
	if pol != nil && slices.ContainsFunc(pol.statements, func(st map[string]any) bool { return st["Sid"] == *in.StatementId }) {
		writeAPIError(w, errConflict("The statement id (%s) provided already exists. Please provide a new statement id, or remove the existing statement.", *in.StatementId))
		return
	}
	st := s.statement(f.name, q, Permission{
		Sid: *in.StatementId, Principal: *in.Principal, Action: *in.Action, SourceArn: in.SourceArn,
		SourceAccount: in.SourceAccount, FunctionURLAuthType: in.FunctionUrlAuthType, PrincipalOrgID: in.PrincipalOrgID,
	})
	var statements []map[string]any
	if pol != nil {
		statements = pol.statements
	}
	statements = append(slices.Clip(statements), st)
	doc, jerr := json.Marshal(map[string]any{"Version": "2012-10-17", "Id": "default", "Statement": statements})
	stJSON, serr := json.Marshal(st)
	if jerr != nil || serr != nil {
		writeLambdaError(w, http.StatusInternalServerError, "ServiceException", "cannot encode the policy")
		return
	}
	if len(doc) > maxPolicyBytes {
		writeAPIError(w, &apiError{http.StatusBadRequest, "PolicyLengthExceededException",
			fmt.Sprintf("The final policy size (%d) is bigger than the limit (%d).", len(doc), maxPolicyBytes)})
		return
	}
	if pol == nil {
		pol = &policy{}
		f.policies[q] = pol
	}
	pol.statements = statements
	pol.revision = s.nextID()
	writeJSON(w, http.StatusCreated, map[string]string{"Statement": string(stJSON)})
}

func (s *Server) removePermission(w http.ResponseWriter, r *http.Request, rt route) {
	if !namespacedStatementIDRe.MatchString(rt.id) {
		writeAPIError(w, errValidation("Value '%s' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_.]+)", rt.id))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, q, err := s.policyQualifier(r, rt)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	pol := f.policies[q]
	if rev := r.URL.Query().Get("RevisionId"); rev != "" && (pol == nil || rev != pol.revision) {
		writeAPIError(w, errPrecondition())
		return
	}
	i := -1
	if pol != nil {
		i = slices.IndexFunc(pol.statements, func(st map[string]any) bool { return st["Sid"] == rt.id })
	}
	if i < 0 {
		writeAPIError(w, errNotFound("Statement %s is not found in resource policy.", rt.id))
		return
	}
	pol.statements = slices.Delete(slices.Clone(pol.statements), i, i+1)
	pol.revision = s.nextID()
	w.WriteHeader(http.StatusNoContent)
}

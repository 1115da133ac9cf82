package lambdatest_test

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/slipway-dev/slipway/provider/awslambda/lambdatest"
)

func policyStatements(t *testing.T, srv *lambdatest.Server, q string) (sids []string, revision string) {
	t.Helper()
	r := call(t, srv, "GET", fnPath+"/policy?Qualifier="+q, "")
	if r.status == 404 {
		return nil, ""
	}
	want(t, r, 200, "")
	var doc struct{ Statement []struct{ Sid string } }
	if err := json.Unmarshal([]byte(r.str("Policy")), &doc); err != nil {
		t.Fatal(err)
	}
	for _, st := range doc.Statement {
		sids = append(sids, st.Sid)
	}
	return sids, r.str("RevisionId")
}

// AddPermission (POST …/policy, 201, the statement as a JSON string);
// errors per MODEL-L: 409 ResourceConflictException for a StatementId
// already in the policy, 412 PreconditionFailedException on a stale
// RevisionId, 404 for a missing function or qualifier, 400
// InvalidParameterValueException for $LATEST ("Lambda does not support
// adding policies to version $LATEST"), ValidationException for a
// missing or malformed member.
func TestAddPermission_DocumentedErrors(t *testing.T) {
	srv := newServer(t, lambdatest.Options{SettlePolls: -1})
	publishN(t, srv, 1)
	body := `{"StatementId":"public","Action":"lambda:InvokeFunction","Principal":"*"}`
	r := call(t, srv, "POST", fnPath+"/policy?Qualifier=1", body)
	want(t, r, 201, "")
	var st map[string]any
	if err := json.Unmarshal([]byte(r.str("Statement")), &st); err != nil || st["Sid"] != "public" || st["Principal"] != "*" {
		t.Fatalf("Statement = %s (%v)", r.str("Statement"), err)
	}
	want(t, call(t, srv, "POST", fnPath+"/policy?Qualifier=1", body), 409, "ResourceConflictException")
	_, rev := policyStatements(t, srv, "1")
	want(t, call(t, srv, "POST", fnPath+"/policy?Qualifier=1",
		`{"StatementId":"x","Action":"lambda:InvokeFunction","Principal":"123456789012","RevisionId":"stale"}`), 412, "PreconditionFailedException")
	want(t, call(t, srv, "POST", fnPath+"/policy?Qualifier=1",
		`{"StatementId":"x","Action":"lambda:InvokeFunction","Principal":"123456789012","RevisionId":"`+rev+`"}`), 201, "")
	want(t, call(t, srv, "POST", fnPath+"/policy?Qualifier=9", body), 404, "ResourceNotFoundException")
	want(t, call(t, srv, "POST", "/2015-03-31/functions/nope/policy", body), 404, "ResourceNotFoundException")
	want(t, call(t, srv, "POST", fnPath+"/policy?Qualifier=%24LATEST", body), 400, "InvalidParameterValueException")
	want(t, call(t, srv, "POST", fnPath+"/policy", `{"Action":"lambda:InvokeFunction","Principal":"*"}`), 400, "ValidationException")
	want(t, call(t, srv, "POST", fnPath+"/policy", `{"StatementId":"bad id","Action":"lambda:InvokeFunction","Principal":"*"}`), 400, "ValidationException")
	want(t, call(t, srv, "POST", fnPath+"/policy", `{"StatementId":"a","Action":"s3:GetObject","Principal":"*"}`), 400, "ValidationException")
	if sids, _ := policyStatements(t, srv, "1"); len(sids) != 2 {
		t.Errorf("statements = %v, want public and x", sids)
	}
}

// RemovePermission (DELETE …/policy/{StatementId}, 204): 404 for a
// statement the policy lacks, 412 on a stale RevisionId; the removal
// issues a new RevisionId and GetPolicy of an emptied policy is 404.
func TestRemovePermission_DocumentedErrors(t *testing.T) {
	srv := newServer(t, lambdatest.Options{SettlePolls: -1})
	publishN(t, srv, 1)
	if err := srv.AddPermission("fn", "1", lambdatest.Permission{Sid: "public", Principal: "*"}); err != nil {
		t.Fatal(err)
	}
	_, rev := policyStatements(t, srv, "1")
	want(t, call(t, srv, "DELETE", fnPath+"/policy/public?Qualifier=1&RevisionId=stale", ""), 412, "PreconditionFailedException")
	want(t, call(t, srv, "DELETE", fnPath+"/policy/nope?Qualifier=1", ""), 404, "ResourceNotFoundException")
	want(t, call(t, srv, "DELETE", fnPath+"/policy/public", ""), 404, "ResourceNotFoundException") // unqualified policy has none
	want(t, call(t, srv, "DELETE", fnPath+"/policy/public?Qualifier=1&RevisionId="+url.QueryEscape(rev), ""), 204, "")
	want(t, call(t, srv, "GET", fnPath+"/policy?Qualifier=1", ""), 404, "ResourceNotFoundException")
	want(t, call(t, srv, "DELETE", fnPath+"/policy/public?Qualifier=1", ""), 404, "ResourceNotFoundException")
}

// UpdateEventSourceMapping (PUT …/event-source-mappings/{UUID}, 202):
// FunctionName may be a version or alias ARN; 404 for an unknown UUID or
// qualifier; 400 ResourceInUseException while the mapping is busy.
func TestUpdateEventSourceMapping_RetargetAndErrors(t *testing.T) {
	srv := newServer(t, lambdatest.Options{SettlePolls: -1})
	publishN(t, srv, 1)
	want(t, call(t, srv, "POST", fnPath+"/aliases", `{"Name":"live","FunctionVersion":"1"}`), 201, "")
	id, err := srv.AddEventSourceMapping("fn", "1", "arn:aws:sqs:us-east-1:123456789012:orders")
	if err != nil {
		t.Fatal(err)
	}
	path := "/2015-03-31/event-source-mappings/" + id
	r := call(t, srv, "PUT", path, `{"FunctionName":"fn:live"}`)
	want(t, r, 202, "")
	if r.str("FunctionArn") != "arn:aws:lambda:us-east-1:123456789012:function:fn:live" || r.str("State") != "Updating" {
		t.Errorf("update answered %s", r.raw)
	}
	r = call(t, srv, "GET", path, "")
	want(t, r, 200, "")
	if r.str("FunctionArn") != "arn:aws:lambda:us-east-1:123456789012:function:fn:live" || r.str("State") != "Enabled" {
		t.Errorf("mapping after update: %s", r.raw)
	}
	want(t, call(t, srv, "PUT", "/2015-03-31/event-source-mappings/00000000-0000-4000-8000-ffffffffffff", `{"FunctionName":"fn:live"}`), 404, "ResourceNotFoundException")
	want(t, call(t, srv, "GET", "/2015-03-31/event-source-mappings/00000000-0000-4000-8000-ffffffffffff", ""), 404, "ResourceNotFoundException")
	want(t, call(t, srv, "PUT", path, `{"FunctionName":"fn:staging"}`), 404, "ResourceNotFoundException")
	if err := srv.SetEventSourceMappingState(id, "Updating"); err != nil {
		t.Fatal(err)
	}
	r = call(t, srv, "PUT", path, `{"FunctionName":"fn:1"}`)
	want(t, r, 400, "ResourceInUseException")
	if r.str("Message") == "" {
		t.Errorf("ResourceInUseException carries Message (MODEL-L): %s", r.raw)
	}
}

package lambdatest_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider/awslambda/lambdatest"
	"github.com/slipway-dev/slipway/provider/providertest"
)

// These tests speak raw HTTP with hand-written JSON, independent of the
// adapter and of the SDK, and check the documented rules one by one. Test
// names say which rule; sources are in docs/platforms/aws-lambda.md §1–2 (sharp edges
// 1–10) as cited in the handlers.

// newClock returns the tests' virtual clock.
func newClock() *providertest.Clock {
	return providertest.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r reply) str(k string) string {
	s, _ := r.body[k].(string)
	return s
}

func call(t *testing.T, srv *lambdatest.Server, method, path, body string) reply {
	t.Helper()
	return callAs(t, http.DefaultClient, srv, method, path, body)
}

// callAs is call made by client c (a caller with its own connections).
func callAs(t *testing.T, c *http.Client, srv *lambdatest.Server, method, path, body string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &r.body); err != nil {
			t.Fatalf("%s %s: body is not JSON: %v: %s", method, path, err, b)
		}
	}
	return r
}

// want checks the status and, for errors, the X-Amzn-ErrorType header.
func want(t *testing.T, r reply, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.raw)
	}
	if got := r.header.Get("X-Amzn-ErrorType"); got != code {
		t.Fatalf("X-Amzn-ErrorType = %q, want %q; body %s", got, code, r.raw)
	}
}

func newServer(t *testing.T, opts lambdatest.Options) *lambdatest.Server {
	t.Helper()
	srv := lambdatest.NewServer(opts)
	t.Cleanup(srv.Close)
	if err := srv.CreateFunction("fn", lambdatest.FunctionSpec{
		Runtime: "provided.al2023", Handler: "bootstrap", Role: "arn:aws:iam::123456789012:role/exec",
	}); err != nil {
		t.Fatal(err)
	}
	return srv
}

const fnPath = "/2015-03-31/functions/fn"

// update changes $LATEST's code (body is a base64 zip) and polls until the
// update settled.
func update(t *testing.T, srv *lambdatest.Server, zipB64 string) reply {
	t.Helper()
	r := call(t, srv, "PUT", fnPath+"/code", fmt.Sprintf(`{"ZipFile":%q}`, zipB64))
	want(t, r, 200, "")
	for range 10 {
		g := call(t, srv, "GET", fnPath+"/configuration?Qualifier=%24LATEST", "")
		if g.str("LastUpdateStatus") == "Successful" {
			return g
		}
	}
	t.Fatal("update never settled")
	return reply{}
}

// publishN publishes n distinct versions.
func publishN(t *testing.T, srv *lambdatest.Server, n int) {
	t.Helper()
	for i := range n {
		update(t, srv, b64(fmt.Sprintf("code-%d-%d", i, time.Now().UnixNano())))
		want(t, call(t, srv, "POST", fnPath+"/versions", `{}`), 201, "")
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestGetFunctionConfiguration_LatestAndEncodedNames(t *testing.T) {
	srv := newServer(t, lambdatest.Options{})
	r := call(t, srv, "GET", fnPath+"/configuration", "")
	want(t, r, 200, "")
	if r.str("Version") != "$LATEST" || r.str("LastUpdateStatus") != "Successful" || r.str("State") != "Active" {
		t.Fatalf("unexpected $LATEST: %s", r.raw)
	}
	if got := r.body["MemorySize"].(float64); got != 128 {
		t.Errorf("MemorySize = %v, want the default 128", got)
	}
	// The SDK percent-encodes path parameters: %24LATEST and ARNs with %3A.
	arn := url.PathEscape("arn:aws:lambda:us-east-1:123456789012:function:fn")
	want(t, call(t, srv, "GET", "/2015-03-31/functions/"+arn+"/configuration?Qualifier=%24LATEST", ""), 200, "")
	want(t, call(t, srv, "GET", "/2015-03-31/functions/fn%3A%24LATEST/configuration", ""), 200, "")
	// Unknown function → 404 ResourceNotFoundException whose message member
	// is "Message" (SDK-L schemas.go).
	nf := call(t, srv, "GET", "/2015-03-31/functions/nope/configuration", "")
	want(t, nf, 404, "ResourceNotFoundException")
	if nf.str("Type") != "User" || !strings.Contains(nf.str("Message"), "Function not found") {
		t.Errorf("404 body = %s, want Type User and Message", nf.raw)
	}
	// Another account's ARN names a function the emulator does not have.
	other := url.PathEscape("arn:aws:lambda:us-east-1:999999999999:function:fn")
	want(t, call(t, srv, "GET", "/2015-03-31/functions/"+other+"/configuration", ""), 404, "ResourceNotFoundException")
}

func TestRevisionId_StaleFunctionTokenIs412(t *testing.T) {
	srv := newServer(t, lambdatest.Options{SettlePolls: -1})
	cur := call(t, srv, "GET", fnPath+"/configuration", "").str("RevisionId")
	r := call(t, srv, "PUT", fnPath+"/configuration", fmt.Sprintf(`{"MemorySize":256,"RevisionId":%q}`, cur))
	want(t, r, 200, "")
	next := r.str("RevisionId")
	if next == cur || next == "" {
		t.Fatalf("a mutation must issue a new RevisionId: %q → %q", cur, next)
	}
	for _, tc := range []struct{ method, path, body string }{
		{"PUT", fnPath + "/configuration", fmt.Sprintf(`{"MemorySize":512,"RevisionId":%q}`, cur)},
		{"PUT", fnPath + "/code", fmt.Sprintf(`{"ZipFile":%q,"RevisionId":%q}`, b64("x"), cur)},
		{"POST", fnPath + "/versions", fmt.Sprintf(`{"RevisionId":%q}`, cur)},
	} {
		r := call(t, srv, tc.method, tc.path, tc.body)
		want(t, r, 412, "PreconditionFailedException")
		if r.str("Type") != "User" || r.str("message") == "" {
			t.Errorf("%s %s: body = %s, want Type and message", tc.method, tc.path, r.raw)
		}
	}
	// Nothing changed.
	if got := call(t, srv, "GET", fnPath+"/configuration", "").body["MemorySize"].(float64); got != 256 {
		t.Errorf("MemorySize = %v after refused updates, want 256", got)
	}
}

func TestRevisionId_AliasTokensAreSeparate(t *testing.T) {
	srv := newServer(t, lambdatest.Options{SettlePolls: -1})
	publishN(t, srv, 2)
	a := call(t, srv, "POST", fnPath+"/aliases", `{"Name":"live","FunctionVersion":"1"}`)
	want(t, a, 201, "")
	b := call(t, srv, "POST", fnPath+"/aliases", `{"Name":"beta","FunctionVersion":"1"}`)
	want(t, b, 201, "")
	fnRev := call(t, srv, "GET", fnPath+"/configuration", "").str("RevisionId")
	// The function's token is not the alias's.
	want(t, call(t, srv, "PUT", fnPath+"/aliases/live", fmt.Sprintf(`{"FunctionVersion":"2","RevisionId":%q}`, fnRev)), 412, "PreconditionFailedException")
	// Another alias's token is not this alias's.
	want(t, call(t, srv, "PUT", fnPath+"/aliases/live", fmt.Sprintf(`{"FunctionVersion":"2","RevisionId":%q}`, b.str("RevisionId"))), 412, "PreconditionFailedException")
	ok := call(t, srv, "PUT", fnPath+"/aliases/live", fmt.Sprintf(`{"FunctionVersion":"2","RevisionId":%q}`, a.str("RevisionId")))
	want(t, ok, 200, "")
	// The old alias token is now stale; the function's did not change.
	want(t, call(t, srv, "PUT", fnPath+"/aliases/live", fmt.Sprintf(`{"FunctionVersion":"1","RevisionId":%q}`, a.str("RevisionId"))), 412, "PreconditionFailedException")
	if got := call(t, srv, "GET", fnPath+"/configuration", "").str("RevisionId"); got != fnRev {
		t.Errorf("alias update changed the function RevisionId %q → %q", fnRev, got)
	}
}

func TestPublish_CodeSha256MismatchIs400InvalidParameterValue(t *testing.T) {
	srv := newServer(t, lambdatest.Options{})
	cur := call(t, srv, "GET", fnPath+"/configuration", "").str("CodeSha256")
	wrong := "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="
	r := call(t, srv, "POST", fnPath+"/versions", fmt.Sprintf(`{"CodeSha256":%q}`, wrong))
	want(t, r, 400, "InvalidParameterValueException")
	msg := r.str("message")
	if !strings.Contains(msg, "CodeSHA256 ("+wrong+") is different from current CodeSHA256 in $LATEST ("+cur+")") {
		t.Errorf("message = %q", msg)
	}
	ok := call(t, srv, "POST", fnPath+"/versions", fmt.Sprintf(`{"CodeSha256":%q}`, cur))
	want(t, ok, 201, "")
	if ok.str("Version") != "1" || ok.str("CodeSha256") != cur {
		t.Errorf("published %s", ok.raw)
	}
}

func TestPublish_UnchangedReturnsTheNewestVersion(t *testing.T) {
	srv := newServer(t, lambdatest.Options{})
	first := call(t, srv, "POST", fnPath+"/versions", `{"Description":"first"}`)
	want(t, first, 201, "")
	again := call(t, srv, "POST", fnPath+"/versions", `{"Description":"second try"}`)
	want(t, again, 201, "")
	if again.str("Version") != "1" || again.str("Description") != "first" {
		t.Errorf("unchanged publish = version %s %q, want version 1 as published", again.str("Version"), again.str("Description"))
	}
	// A configuration change is a change.
	want(t, call(t, srv, "PUT", fnPath+"/configuration", `{"Timeout":10}`), 200, "")
	call(t, srv, "GET", fnPath+"/configuration", "")
	call(t, srv, "GET", fnPath+"/configuration", "")
	if v := call(t, srv, "POST", fnPath+"/versions", `{}`).str("Version"); v != "2" {
		t.Errorf("publish after a config change = version %s, want 2", v)
	}
}

func TestUpdateInProgress_Is409UntilSettledByPolls(t *testing.T) {
	srv := newServer(t, lambdatest.Options{SettlePolls: 2})
	r := call(t, srv, "PUT", fnPath+"/code", fmt.Sprintf(`{"ZipFile":%q}`, b64("v2")))
	want(t, r, 200, "")
	if r.str("LastUpdateStatus") != "InProgress" {
		t.Fatalf("after UpdateFunctionCode LastUpdateStatus = %q, want InProgress", r.str("LastUpdateStatus"))
	}
	pub := call(t, srv, "POST", fnPath+"/versions", `{}`)
	want(t, pub, 409, "ResourceConflictException")
	if !strings.Contains(pub.str("message"), "An update is in progress for resource: arn:aws:lambda:us-east-1:123456789012:function:fn") {
		t.Errorf("message = %q", pub.str("message"))
	}
	want(t, call(t, srv, "PUT", fnPath+"/configuration", `{"Timeout":5}`), 409, "ResourceConflictException")
	want(t, call(t, srv, "PUT", fnPath+"/code", fmt.Sprintf(`{"ZipFile":%q}`, b64("v3"))), 409, "ResourceConflictException")
	var statuses []string
	for range 3 {
		statuses = append(statuses, call(t, srv, "GET", fnPath+"/configuration?Qualifier=%24LATEST", "").str("LastUpdateStatus"))
	}
	if diff := cmp.Diff([]string{"InProgress", "InProgress", "Successful"}, statuses); diff != "" {
		t.Errorf("LastUpdateStatus per poll (-want +got):\n%s", diff)
	}
	want(t, call(t, srv, "POST", fnPath+"/versions", `{}`), 201, "")
}

func TestUpdateInProgress_SettlesOnTheEmulatorClock(t *testing.T) {
	clk := newClock()
	srv := newServer(t, lambdatest.Options{Now: clk.Now, SettleDelay: 5 * time.Second})
	want(t, call(t, srv, "PUT", fnPath+"/configuration", `{"MemorySize":1024}`), 200, "")
	for range 5 {
		if s := call(t, srv, "GET", fnPath+"/configuration", "").str("LastUpdateStatus"); s != "InProgress" {
			t.Fatalf("polls before the delay: %q, want InProgress", s)
		}
	}
	want(t, call(t, srv, "POST", fnPath+"/versions", `{}`), 409, "ResourceConflictException")
	clk.Advance(5 * time.Second)
	// No poll needed: the update settled on its own clock.
	want(t, call(t, srv, "POST", fnPath+"/versions", `{}`), 201, "")
}

func TestVersionNumbers_NeverReusedAfterDelete(t *testing.T) {
	srv := newServer(t, lambdatest.Options{SettlePolls: -1})
	publishN(t, srv, 3)
	want(t, call(t, srv, "DELETE", fnPath+"?Qualifier=3", ""), 204, "")
	want(t, call(t, srv, "DELETE", fnPath+"?Qualifier=2", ""), 204, "")
	update(t, srv, b64("after deletes"))
	if v := call(t, srv, "POST", fnPath+"/versions", `{}`).str("Version"); v != "4" {
		t.Errorf("next version after deleting 2 and 3 = %s, want 4", v)
	}
	want(t, call(t, srv, "GET", fnPath+"/configuration?Qualifier=3", ""), 404, "ResourceNotFoundException")
}

func TestAliasRouting_DocumentedRules(t *testing.T) {
	srv := newServer(t, lambdatest.Options{SettlePolls: -1})
	publishN(t, srv, 2)
	// Version 3 runs under another execution role.
	want(t, call(t, srv, "PUT", fnPath+"/configuration", `{"Role":"arn:aws:iam::123456789012:role/other"}`), 200, "")
	want(t, call(t, srv, "POST", fnPath+"/versions", `{}`), 201, "")
	tests := []struct {
		name, body string
		status     int
		code       string
	}{
		{"one additional version", `{"Name":"a1","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"2":0.25}}}`, 201, ""},
		{"weight 0 allowed", `{"Name":"a2","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"2":0}}}`, 201, ""},
		{"empty routing on $LATEST", `{"Name":"a3","FunctionVersion":"$LATEST","RoutingConfig":{"AdditionalVersionWeights":{}}}`, 201, ""},
		{"two additional versions", `{"Name":"b1","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"2":0.1,"3":0.1}}}`, 400, "InvalidParameterValueException"},
		{"$LATEST primary with weights", `{"Name":"b2","FunctionVersion":"$LATEST","RoutingConfig":{"AdditionalVersionWeights":{"1":0.1}}}`, 400, "InvalidParameterValueException"},
		{"additional equals primary", `{"Name":"b3","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"1":0.1}}}`, 400, "InvalidParameterValueException"},
		{"weight above 1", `{"Name":"b4","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"2":1.5}}}`, 400, "ValidationException"},
		{"negative weight", `{"Name":"b5","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"2":-0.1}}}`, 400, "ValidationException"},
		{"non-numeric key", `{"Name":"b6","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"$LATEST":0.1}}}`, 400, "ValidationException"},
		{"missing additional version", `{"Name":"b7","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"9":0.1}}}`, 404, "ResourceNotFoundException"},
		{"missing primary version", `{"Name":"b8","FunctionVersion":"9"}`, 404, "ResourceNotFoundException"},
		{"different execution role", `{"Name":"b9","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"3":0.1}}}`, 400, "InvalidParameterValueException"},
		{"alias name all digits", `{"Name":"123","FunctionVersion":"1"}`, 400, "ValidationException"},
		{"alias name bad characters", `{"Name":"a.b","FunctionVersion":"1"}`, 400, "ValidationException"},
		{"version pattern", `{"Name":"b10","FunctionVersion":"latest"}`, 400, "ValidationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, srv, "POST", fnPath+"/aliases", tt.body)
			want(t, r, tt.status, tt.code)
		})
	}
	// The refused aliases were not created.
	r := call(t, srv, "GET", fnPath+"/aliases", "")
	var names []string
	for _, a := range r.body["Aliases"].([]any) {
		names = append(names, a.(map[string]any)["Name"].(string))
	}
	if diff := cmp.Diff([]string{"a1", "a2", "a3"}, names); diff != "" {
		t.Errorf("aliases (-want +got):\n%s", diff)
	}
	// An existing alias → 409.
	want(t, call(t, srv, "POST", fnPath+"/aliases", `{"Name":"a1","FunctionVersion":"2"}`), 409, "ResourceConflictException")
	// The same rules on UpdateAlias, e.g. routing an alias moved to $LATEST.
	want(t, call(t, srv, "PUT", fnPath+"/aliases/a1", `{"FunctionVersion":"$LATEST"}`), 400, "InvalidParameterValueException")
	want(t, call(t, srv, "PUT", fnPath+"/aliases/nope", `{"FunctionVersion":"1"}`), 404, "ResourceNotFoundException")
}

func TestUpdateAlias_OmittedRoutingKeepsEmptyMapClears(t *testing.T) {
	srv := newServer(t, lambdatest.Options{SettlePolls: -1})
	publishN(t, srv, 3)
	want(t, call(t, srv, "POST", fnPath+"/aliases", `{"Name":"live","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"2":0.125}}}`), 201, "")
	r := call(t, srv, "PUT", fnPath+"/aliases/live", `{"Description":"d"}`)
	want(t, r, 200, "")
	if got := fmt.Sprint(r.body["RoutingConfig"]); got != "map[AdditionalVersionWeights:map[2:0.125]]" {
		t.Errorf("RoutingConfig after an update without it = %s", got)
	}
	r = call(t, srv, "PUT", fnPath+"/aliases/live", `{"FunctionVersion":"2","RoutingConfig":{"AdditionalVersionWeights":{}}}`)
	want(t, r, 200, "")
	if r.str("FunctionVersion") != "2" || r.body["RoutingConfig"] != nil {
		t.Errorf("promotion = %s, want version 2 and no routing", r.raw)
	}
	g := call(t, srv, "GET", fnPath+"/aliases/live", "")
	if g.str("RevisionId") != r.str("RevisionId") || g.str("Description") != "d" {
		t.Errorf("GetAlias = %s", g.raw)
	}
}

func TestDeleteVersion_AliasedIs409(t *testing.T) {
	srv := newServer(t, lambdatest.Options{SettlePolls: -1})
	publishN(t, srv, 4)
	want(t, call(t, srv, "POST", fnPath+"/aliases", `{"Name":"live","FunctionVersion":"1"}`), 201, "")
	want(t, call(t, srv, "POST", fnPath+"/aliases", `{"Name":"beta","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"2":0.5}}}`), 201, "")
	r := call(t, srv, "DELETE", fnPath+"?Qualifier=1", "")
	want(t, r, 409, "ResourceConflictException")
	if msg := r.str("message"); msg != "Unable to delete version because the following aliases reference it: [beta, live]" {
		t.Errorf("message = %q", msg)
	}
	// As additional routing version (unverified in docs/platforms/aws-lambda.md).
	want(t, call(t, srv, "DELETE", fnPath+"?Qualifier=2", ""), 409, "ResourceConflictException")
	want(t, call(t, srv, "DELETE", fnPath+"?Qualifier=3", ""), 204, "")
	want(t, call(t, srv, "DELETE", fnPath+"?Qualifier=3", ""), 404, "ResourceNotFoundException")
	want(t, call(t, srv, "DELETE", fnPath+"?Qualifier=%24LATEST", ""), 400, "InvalidParameterValueException")
	want(t, call(t, srv, "DELETE", fnPath+"?Qualifier=live", ""), 400, "InvalidParameterValueException")
	// $LATEST stays.
	want(t, call(t, srv, "GET", fnPath+"/configuration", ""), 200, "")
	// Without a qualifier the whole function goes.
	want(t, call(t, srv, "DELETE", fnPath, ""), 204, "")
	want(t, call(t, srv, "GET", fnPath+"/aliases/live", ""), 404, "ResourceNotFoundException")
}

func versionsOf(r reply) []string {
	var out []string
	for _, v := range r.body["Versions"].([]any) {
		out = append(out, v.(map[string]any)["Version"].(string))
	}
	return out
}

func TestListVersions_AtMost50PerPageAndNoMarkerOnLastPage(t *testing.T) {
	srv := newServer(t, lambdatest.Options{SettlePolls: -1})
	publishN(t, srv, 120)
	var pages [][]string
	marker := ""
	for {
		q := "?MaxItems=1000"
		if marker != "" {
			q += "&Marker=" + url.QueryEscape(marker)
		}
		r := call(t, srv, "GET", fnPath+"/versions"+q, "")
		want(t, r, 200, "")
		pages = append(pages, versionsOf(r))
		next, has := r.body["NextMarker"]
		if !has {
			break
		}
		marker = next.(string)
	}
	var sizes []int
	var all []string
	for _, p := range pages {
		sizes = append(sizes, len(p))
		all = append(all, p...)
	}
	if diff := cmp.Diff([]int{50, 50, 21}, sizes); diff != "" {
		t.Errorf("page sizes (-want +got):\n%s", diff)
	}
	if all[0] != "$LATEST" || all[1] != "1" || all[120] != "120" {
		t.Errorf("order: first %v last %v, want $LATEST, 1 … 120", all[:2], all[120])
	}
	small := call(t, srv, "GET", fnPath+"/versions?MaxItems=7", "")
	if n := len(versionsOf(small)); n != 7 {
		t.Errorf("MaxItems=7 gave %d", n)
	}
	want(t, call(t, srv, "GET", fnPath+"/versions?Marker=bogus", ""), 400, "InvalidParameterValueException")
	want(t, call(t, srv, "GET", fnPath+"/versions?MaxItems=0", ""), 400, "ValidationException")
}

func TestListAliases_PagingAndVersionFilter(t *testing.T) {
	srv := newServer(t, lambdatest.Options{SettlePolls: -1})
	publishN(t, srv, 2)
	for i := range 5 {
		want(t, call(t, srv, "POST", fnPath+"/aliases", fmt.Sprintf(`{"Name":"a%d","FunctionVersion":"%d"}`, i, 1+i%2)), 201, "")
	}
	var names []string
	marker := ""
	pages := 0
	for {
		q := "?MaxItems=2"
		if marker != "" {
			q += "&Marker=" + url.QueryEscape(marker)
		}
		r := call(t, srv, "GET", fnPath+"/aliases"+q, "")
		pages++
		for _, a := range r.body["Aliases"].([]any) {
			names = append(names, a.(map[string]any)["Name"].(string))
		}
		next, ok := r.body["NextMarker"]
		if !ok {
			break
		}
		marker = next.(string)
	}
	if diff := cmp.Diff([]string{"a0", "a1", "a2", "a3", "a4"}, names); diff != "" || pages != 3 {
		t.Errorf("aliases over %d pages (-want +got):\n%s", pages, diff)
	}
	r := call(t, srv, "GET", fnPath+"/aliases?FunctionVersion=2", "")
	if n := len(r.body["Aliases"].([]any)); n != 2 {
		t.Errorf("FunctionVersion=2 filter gave %d aliases, want 2", n)
	}
}

func TestThrottle_Is429WithRetryAfterAndReason(t *testing.T) {
	var mu sync.Mutex
	throttled := map[string]bool{"GetAlias": true}
	srv := newServer(t, lambdatest.Options{Throttle: func(op string) (time.Duration, bool) {
		mu.Lock()
		defer mu.Unlock()
		return 1500 * time.Millisecond, throttled[op]
	}})
	r := call(t, srv, "GET", fnPath+"/aliases/live", "")
	want(t, r, 429, "TooManyRequestsException")
	if got := r.header.Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After = %q, want whole seconds rounded up: 2", got)
	}
	if r.str("Reason") != "CallerRateLimitExceeded" || r.str("Type") != "User" || r.str("message") == "" {
		t.Errorf("body = %s", r.raw)
	}
	// Other operations pass.
	want(t, call(t, srv, "GET", fnPath+"/configuration", ""), 200, "")
	reqs := srv.Requests()
	if len(reqs) != 2 || reqs[0].Op != "GetAlias" || reqs[0].Status != 429 || reqs[1].Status != 200 {
		t.Errorf("request log = %+v", reqs)
	}
}

func TestFault_ServiceExceptionBody(t *testing.T) {
	srv := newServer(t, lambdatest.Options{Fault: func(op string) *lambdatest.Fault {
		if op == "PublishVersion" {
			return &lambdatest.Fault{Status: 500, Code: "ServiceException", Message: "boom"}
		}
		return nil
	}})
	r := call(t, srv, "POST", fnPath+"/versions", `{}`)
	want(t, r, 500, "ServiceException")
	if r.str("Type") != "Service" || r.str("Message") != "boom" {
		t.Errorf("body = %s", r.raw)
	}
	// Nothing was published.
	if vs := versionsOf(call(t, srv, "GET", fnPath+"/versions", "")); len(vs) != 1 {
		t.Errorf("versions after a failed publish = %v", vs)
	}
}

func TestUpdateFunctionConfiguration_Constraints(t *testing.T) {
	srv := newServer(t, lambdatest.Options{SettlePolls: -1})
	want(t, call(t, srv, "PUT", fnPath+"/configuration", `{"MemorySize":64}`), 400, "ValidationException")
	want(t, call(t, srv, "PUT", fnPath+"/configuration", `{"Timeout":0}`), 400, "ValidationException")
	want(t, call(t, srv, "PUT", fnPath+"/configuration", `{"Environment":{"Variables":{"AWS_REGION":"x"}}}`), 400, "InvalidParameterValueException")
	want(t, call(t, srv, "PUT", fnPath+"/configuration", `{"Description":"`+strings.Repeat("x", 257)+`"}`), 400, "ValidationException")
	want(t, call(t, srv, "POST", fnPath+"/versions", `{"Description":"`+strings.Repeat("x", 257)+`"}`), 400, "ValidationException")
	want(t, call(t, srv, "PUT", fnPath+"/code", `{}`), 400, "InvalidParameterValueException")
	want(t, call(t, srv, "PUT", fnPath+"/code", `{"S3Bucket":"b","S3Key":"k"}`), 400, "InvalidParameterValueException")
	srv.PutObject("b", "k", []byte("from s3"))
	r := call(t, srv, "PUT", fnPath+"/code", `{"S3Bucket":"b","S3Key":"k"}`)
	want(t, r, 200, "")
	if r.str("CodeSha256") != "YebSrbHyfaN1VUplFbsU/6/Rc7CIa4s3FjJsECjl94Y=" { // sha256("from s3")
		t.Errorf("CodeSha256 of the S3 object = %s", r.str("CodeSha256"))
	}
	// Qualified names are refused where the operation takes no qualifier.
	want(t, call(t, srv, "POST", "/2015-03-31/functions/fn%3A1/versions", `{}`), 400, "InvalidParameterValueException")
	// Unknown routes.
	want(t, call(t, srv, "GET", "/2015-03-31/layers", ""), 404, "UnknownOperationException")
}

func TestEventSourceMappings_PagingAndQualifiers(t *testing.T) {
	srv := newServer(t, lambdatest.Options{SettlePolls: -1})
	publishN(t, srv, 1)
	want(t, call(t, srv, "POST", fnPath+"/aliases", `{"Name":"live","FunctionVersion":"1"}`), 201, "")
	for i := range 105 {
		q := []string{"", "live", "1"}[i%3]
		if _, err := srv.AddEventSourceMapping("fn", q, fmt.Sprintf("arn:aws:sqs:us-east-1:123456789012:q%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// SDK v2 sends no trailing slash; the older model has one.
	for _, base := range []string{"/2015-03-31/event-source-mappings", "/2015-03-31/event-source-mappings/"} {
		var sizes []int
		total, pinned := 0, 0
		marker := ""
		for {
			q := "?FunctionName=fn&MaxItems=500"
			if marker != "" {
				q += "&Marker=" + url.QueryEscape(marker)
			}
			r := call(t, srv, "GET", base+q, "")
			want(t, r, 200, "")
			ms := r.body["EventSourceMappings"].([]any)
			sizes = append(sizes, len(ms))
			for _, m := range ms {
				total++
				if strings.HasSuffix(m.(map[string]any)["FunctionArn"].(string), ":function:fn:1") {
					pinned++
				}
			}
			next, ok := r.body["NextMarker"]
			if !ok {
				break
			}
			marker = next.(string)
		}
		if diff := cmp.Diff([]int{100, 5}, sizes); diff != "" || total != 105 || pinned != 35 {
			t.Errorf("%s: pages (-want +got):\n%s total %d pinned %d", base, diff, total, pinned)
		}
	}
	r := call(t, srv, "GET", "/2015-03-31/event-source-mappings?FunctionName="+url.QueryEscape("fn:live"), "")
	if n := len(r.body["EventSourceMappings"].([]any)); n != 35 {
		t.Errorf("qualified filter gave %d, want 35", n)
	}
}

func TestGetPolicy_StatementsAndMissingPolicy(t *testing.T) {
	srv := newServer(t, lambdatest.Options{SettlePolls: -1})
	publishN(t, srv, 1)
	want(t, call(t, srv, "GET", fnPath+"/policy", ""), 404, "ResourceNotFoundException")
	if err := srv.AddPermission("fn", "1", lambdatest.Permission{Sid: "public", Principal: "*"}); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddPermission("fn", "1", lambdatest.Permission{Sid: "s3", Principal: "s3.amazonaws.com", SourceArn: "arn:aws:s3:::bucket"}); err != nil {
		t.Fatal(err)
	}
	r := call(t, srv, "GET", fnPath+"/policy?Qualifier=1", "")
	want(t, r, 200, "")
	var doc struct {
		Statement []map[string]any
	}
	if err := json.Unmarshal([]byte(r.str("Policy")), &doc); err != nil {
		t.Fatalf("Policy is not JSON: %v", err)
	}
	if len(doc.Statement) != 2 || doc.Statement[0]["Principal"] != "*" || r.str("RevisionId") == "" {
		t.Errorf("policy = %s", r.str("Policy"))
	}
	want(t, call(t, srv, "GET", fnPath+"/policy?Qualifier=7", ""), 404, "ResourceNotFoundException")
}

func TestProvisionedConcurrency_List(t *testing.T) {
	srv := newServer(t, lambdatest.Options{SettlePolls: -1})
	publishN(t, srv, 2)
	if err := srv.SetProvisionedConcurrency("fn", "2", 5); err != nil {
		t.Fatal(err)
	}
	r := call(t, srv, "GET", "/2019-09-30/functions/fn/provisioned-concurrency?List=ALL", "")
	want(t, r, 200, "")
	cs := r.body["ProvisionedConcurrencyConfigs"].([]any)
	if len(cs) != 1 || !strings.HasSuffix(cs[0].(map[string]any)["FunctionArn"].(string), ":fn:2") {
		t.Errorf("configs = %s", r.raw)
	}
}

func TestConcurrentAliasUpdates_ExactlyOneWins(t *testing.T) {
	srv := newServer(t, lambdatest.Options{SettlePolls: -1})
	publishN(t, srv, 2)
	a := call(t, srv, "POST", fnPath+"/aliases", `{"Name":"live","FunctionVersion":"1"}`)
	rev := a.str("RevisionId")
	const n = 8
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			body := fmt.Sprintf(`{"FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"2":0.%d}},"RevisionId":%q}`, i+1, rev)
			statuses[i] = call(t, srv, "PUT", fnPath+"/aliases/live", body).status
		})
	}
	wg.Wait()
	slices.Sort(statuses)
	if diff := cmp.Diff([]int{200, 412, 412, 412, 412, 412, 412, 412}, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

// A failed update (Options.FailUpdate): LastUpdateStatus turns Failed when
// the update settles, with LastUpdateStatusReason and
// LastUpdateStatusReasonCode, and $LATEST keeps its previous code (Lambda
// "function states" page; AWS Compute Blog "Tracking the state of AWS
// Lambda functions"). A failed update does not block the next one.
func TestUpdateFailed_SettlesToFailedWithReasonAndPreviousCode(t *testing.T) {
	srv := newServer(t, lambdatest.Options{SettlePolls: 1, FailUpdate: func(fn, op string) *lambdatest.UpdateFailure {
		if op == "UpdateFunctionCode" {
			return &lambdatest.UpdateFailure{ReasonCode: "InvalidZipFileException", Reason: "Could not unzip uploaded file."}
		}
		return nil
	}})
	before := call(t, srv, "GET", fnPath+"/configuration", "")
	want(t, before, 200, "")
	r := call(t, srv, "PUT", fnPath+"/code", fmt.Sprintf(`{"ZipFile":%q}`, b64("not a zip")))
	want(t, r, 200, "")
	if r.str("LastUpdateStatus") != "InProgress" {
		t.Fatalf("after UpdateFunctionCode LastUpdateStatus = %q, want InProgress", r.str("LastUpdateStatus"))
	}
	call(t, srv, "GET", fnPath+"/configuration", "")
	g := call(t, srv, "GET", fnPath+"/configuration", "")
	if g.str("LastUpdateStatus") != "Failed" || g.str("LastUpdateStatusReasonCode") != "InvalidZipFileException" || g.str("LastUpdateStatusReason") != "Could not unzip uploaded file." {
		t.Fatalf("settled configuration = %s", g.raw)
	}
	if g.str("CodeSha256") != before.str("CodeSha256") {
		t.Fatalf("CodeSha256 = %q after a failed update, want the previous %q", g.str("CodeSha256"), before.str("CodeSha256"))
	}
	// The next update is accepted and, succeeding, clears the reason.
	want(t, call(t, srv, "PUT", fnPath+"/configuration", `{"Timeout":7}`), 200, "")
	call(t, srv, "GET", fnPath+"/configuration", "")
	ok := call(t, srv, "GET", fnPath+"/configuration", "")
	if ok.str("LastUpdateStatus") != "Successful" || ok.str("LastUpdateStatusReason") != "" || ok.body["Timeout"] != float64(7) {
		t.Fatalf("after a successful update = %s", ok.raw)
	}
}

// Settling belongs to each update of each function (Lambda "function
// states" page: LastUpdateStatus is a property of the function's last
// update, the same for every reader). Polls count for the update of the
// function they read, whichever caller makes them; they never count for
// another function, nor for a later update of the same function.
func TestUpdateSettling_PerFunctionAndPerUpdate(t *testing.T) {
	srv := newServer(t, lambdatest.Options{SettlePolls: 2})
	if err := srv.CreateFunction("other", lambdatest.FunctionSpec{Runtime: "provided.al2023", Handler: "bootstrap"}); err != nil {
		t.Fatal(err)
	}
	const otherPath = "/2015-03-31/functions/other"
	alice := &http.Client{Transport: &http.Transport{}}
	bob := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(alice.CloseIdleConnections)
	t.Cleanup(bob.CloseIdleConnections)
	status := func(c *http.Client, path string) string {
		t.Helper()
		r := callAs(t, c, srv, "GET", path+"/configuration?Qualifier=%24LATEST", "")
		want(t, r, 200, "")
		return r.str("LastUpdateStatus")
	}

	want(t, callAs(t, alice, srv, "PUT", fnPath+"/code", fmt.Sprintf(`{"ZipFile":%q}`, b64("alice"))), 200, "")
	want(t, callAs(t, bob, srv, "PUT", otherPath+"/configuration", `{"Timeout":9}`), 200, "")
	// Polls of fn, by either caller, count for fn's update only: both
	// callers see the same status at each step.
	got := []string{status(bob, fnPath), status(alice, fnPath), status(bob, fnPath), status(alice, fnPath)}
	if diff := cmp.Diff([]string{"InProgress", "InProgress", "Successful", "Successful"}, got); diff != "" {
		t.Errorf("fn's LastUpdateStatus per poll (-want +got):\n%s", diff)
	}
	// other's update has had none of its own polls yet.
	want(t, callAs(t, bob, srv, "POST", otherPath+"/versions", `{}`), 409, "ResourceConflictException")
	got = []string{status(bob, otherPath), status(bob, otherPath), status(bob, otherPath)}
	if diff := cmp.Diff([]string{"InProgress", "InProgress", "Successful"}, got); diff != "" {
		t.Errorf("other's LastUpdateStatus per poll (-want +got):\n%s", diff)
	}

	// Polls made while fn was settled do not count for its next update.
	for range 5 {
		status(alice, fnPath)
	}
	want(t, callAs(t, bob, srv, "PUT", fnPath+"/configuration", `{"Timeout":11}`), 200, "")
	want(t, callAs(t, alice, srv, "POST", fnPath+"/versions", `{}`), 409, "ResourceConflictException")
	got = []string{status(alice, fnPath), status(bob, fnPath), status(alice, fnPath)}
	if diff := cmp.Diff([]string{"InProgress", "InProgress", "Successful"}, got); diff != "" {
		t.Errorf("fn's second update, LastUpdateStatus per poll (-want +got):\n%s", diff)
	}
	want(t, callAs(t, alice, srv, "POST", fnPath+"/versions", `{}`), 201, "")
}

// With SettleDelay each update settles on its own deadline, counted from
// its own start on the emulator clock, whoever polls and however often.
func TestUpdateSettling_DelayPerUpdate(t *testing.T) {
	clk := newClock()
	srv := newServer(t, lambdatest.Options{Now: clk.Now, SettleDelay: 5 * time.Second})
	if err := srv.CreateFunction("other", lambdatest.FunctionSpec{Runtime: "provided.al2023", Handler: "bootstrap"}); err != nil {
		t.Fatal(err)
	}
	const otherPath = "/2015-03-31/functions/other"
	latest := func(path string) string {
		t.Helper()
		return call(t, srv, "GET", path+"/configuration", "").str("LastUpdateStatus")
	}
	want(t, call(t, srv, "PUT", fnPath+"/configuration", `{"Timeout":9}`), 200, "")
	clk.Advance(3 * time.Second)
	want(t, call(t, srv, "PUT", otherPath+"/configuration", `{"Timeout":9}`), 200, "")
	for range 10 {
		latest(fnPath)
		latest(otherPath)
	}
	clk.Advance(2 * time.Second) // fn's update is 5s old, other's 2s
	if got := []string{latest(fnPath), latest(otherPath)}; !slices.Equal(got, []string{"Successful", "InProgress"}) {
		t.Errorf("after 5s: fn, other = %v; want [Successful InProgress]", got)
	}
	clk.Advance(3 * time.Second)
	if got := latest(otherPath); got != "Successful" {
		t.Errorf("other 5s after its update: %q, want Successful", got)
	}
}

// A version CloudFront replicated for Lambda@Edge cannot be deleted, nor can
// the function, until its replicas are gone: 400
// InvalidParameterValueException naming the version's ARN (CloudFront
// developer guide, "Delete Lambda@Edge functions and replicas"; the message
// as Lambda returns it to CloudFormation).
func TestDeleteVersion_ReplicatedIs400(t *testing.T) {
	srv := newServer(t, lambdatest.Options{SettlePolls: -1})
	publishN(t, srv, 3)
	if err := srv.SetReplicated("fn", "2", true); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetReplicated("fn", "9", true); err == nil {
		t.Error("SetReplicated of a missing version succeeded")
	}
	r := call(t, srv, "DELETE", fnPath+"?Qualifier=2", "")
	want(t, r, 400, "InvalidParameterValueException")
	arn := "arn:aws:lambda:us-east-1:123456789012:function:fn:2"
	if msg := r.str("message"); msg != "Lambda was unable to delete "+arn+" because it is a replicated function. "+
		"Please see our documentation for Deleting Lambda@Edge Functions and Replicas." {
		t.Errorf("message = %q", msg)
	}
	want(t, call(t, srv, "DELETE", fnPath, ""), 400, "InvalidParameterValueException")
	want(t, call(t, srv, "DELETE", fnPath+"?Qualifier=1", ""), 204, "")
	// The replicas are gone: the version can go.
	if err := srv.SetReplicated("fn", "2", false); err != nil {
		t.Fatal(err)
	}
	want(t, call(t, srv, "DELETE", fnPath+"?Qualifier=2", ""), 204, "")
}

// GetFunction: the configuration of $LATEST, a version or an alias's
// version, and the code's location; 404 for a version that does not exist
// (API_GetFunction: ResourceNotFoundException).
func TestGetFunction(t *testing.T) {
	srv := newServer(t, lambdatest.Options{SettlePolls: -1})
	publishN(t, srv, 2)
	want(t, call(t, srv, "POST", fnPath+"/aliases", `{"Name":"live","FunctionVersion":"1"}`), 201, "")
	for q, version := range map[string]string{"": "$LATEST", "?Qualifier=2": "2", "?Qualifier=live": "1"} {
		r := call(t, srv, "GET", fnPath+q, "")
		want(t, r, 200, "")
		cfg, _ := r.body["Configuration"].(map[string]any)
		code, _ := r.body["Code"].(map[string]any)
		if cfg["Version"] != version || code["RepositoryType"] != "S3" || code["Location"] == "" {
			t.Errorf("GetFunction%s: configuration version %v, code %v; want version %s and an S3 location", q, cfg["Version"], code, version)
		}
	}
	want(t, call(t, srv, "GET", fnPath+"?Qualifier=3", ""), 404, "ResourceNotFoundException")
	want(t, call(t, srv, "GET", "/2015-03-31/functions/nope", ""), 404, "ResourceNotFoundException")
}

// ListVersionsByFunction's $LATEST entry carries the qualified FunctionArn,
// ending ":$LATEST", as the versions carry theirs ("…:1"): the AWS CLI
// command reference's list-versions-by-function example shows
// "FunctionArn": "arn:aws:lambda:us-west-2:123456789012:function:my-function:$LATEST"
// for "Version": "$LATEST". GetFunctionConfiguration without a qualifier
// keeps the unqualified ARN (the emulator's choice, unverified).
func TestListVersions_LatestCarriesQualifiedArn(t *testing.T) {
	srv := newServer(t, lambdatest.Options{SettlePolls: -1})
	publishN(t, srv, 2)
	r := call(t, srv, "GET", fnPath+"/versions", "")
	want(t, r, 200, "")
	unqualified := call(t, srv, "GET", fnPath+"/configuration", "").str("FunctionArn")
	if !strings.HasSuffix(unqualified, ":function:fn") {
		t.Fatalf("unqualified FunctionArn = %q", unqualified)
	}
	wantArn := map[string]string{"$LATEST": unqualified + ":$LATEST", "1": unqualified + ":1", "2": unqualified + ":2"}
	got := map[string]string{}
	for _, v := range r.body["Versions"].([]any) {
		m := v.(map[string]any)
		got[m["Version"].(string)] = m["FunctionArn"].(string)
	}
	if diff := cmp.Diff(wantArn, got); diff != "" {
		t.Errorf("FunctionArn by version (-want +got):\n%s", diff)
	}
}

// Model constraints of the alias operations, from the Lambda API reference
// (API_CreateAlias, API_UpdateAlias, API_GetAlias, API_DeleteAlias,
// API_ListAliases, API_PublishVersion; the same shapes in the SDK model
// lambda/2015-03-31/api-2.json): Description "Minimum length of 0. Maximum
// length of 256"; Name "Minimum length of 1. Maximum length of 128",
// pattern (?!^[0-9]+$)([a-zA-Z0-9-_]+), in the body or the URI;
// FunctionVersion "Minimum length of 1. Maximum length of 1024", pattern
// (\$LATEST|[0-9]+); AdditionalVersionWeights keys 1–1024 digits. A request
// breaking one is refused with 400 ValidationException and changes nothing.
func TestAliases_ModelConstraints(t *testing.T) {
	srv := newServer(t, lambdatest.Options{SettlePolls: -1})
	publishN(t, srv, 2)
	want(t, call(t, srv, "POST", fnPath+"/aliases", `{"Name":"live","FunctionVersion":"1","Description":"first"}`), 201, "")
	desc := func(n int) string { return strings.Repeat("é", n) } // characters, not bytes
	long := strings.Repeat("9", 1025)
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"create: description of 256", "POST", "/aliases", `{"Name":"d256","FunctionVersion":"1","Description":"` + desc(256) + `"}`, 201, ""},
		{"create: description of 257", "POST", "/aliases", `{"Name":"d257","FunctionVersion":"1","Description":"` + desc(257) + `"}`, 400, "ValidationException"},
		{"update: description of 256", "PUT", "/aliases/live", `{"Description":"` + desc(256) + `"}`, 200, ""},
		{"update: description of 257", "PUT", "/aliases/live", `{"Description":"` + desc(257) + `"}`, 400, "ValidationException"},
		{"publish: description of 257", "POST", "/versions", `{"Description":"` + desc(257) + `"}`, 400, "ValidationException"},
		{"create: name of 128", "POST", "/aliases", `{"Name":"` + strings.Repeat("n", 128) + `","FunctionVersion":"1"}`, 201, ""},
		{"create: name of 129", "POST", "/aliases", `{"Name":"` + strings.Repeat("n", 129) + `","FunctionVersion":"1"}`, 400, "ValidationException"},
		{"get: name all digits", "GET", "/aliases/123", "", 400, "ValidationException"},
		{"get: name of 129", "GET", "/aliases/" + strings.Repeat("n", 129), "", 400, "ValidationException"},
		{"get: well-formed but missing", "GET", "/aliases/nope", "", 404, "ResourceNotFoundException"},
		{"update: name with a dot", "PUT", "/aliases/a.b", `{"FunctionVersion":"2"}`, 400, "ValidationException"},
		{"delete: name all digits", "DELETE", "/aliases/42", "", 400, "ValidationException"},
		{"create: version of 1025 digits", "POST", "/aliases", `{"Name":"v1025","FunctionVersion":"` + long + `"}`, 400, "ValidationException"},
		{"update: version of 1025 digits", "PUT", "/aliases/live", `{"FunctionVersion":"` + long + `"}`, 400, "ValidationException"},
		{"create: weight key of 1025 digits", "POST", "/aliases", `{"Name":"k1025","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"` + long + `":0.1}}}`, 400, "ValidationException"},
		{"list: version filter pattern", "GET", "/aliases?FunctionVersion=latest", "", 400, "ValidationException"},
		{"list: version filter of 1025 digits", "GET", "/aliases?FunctionVersion=" + long, "", 400, "ValidationException"},
		{"list: version filter", "GET", "/aliases?FunctionVersion=1", "", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want(t, call(t, srv, tt.method, fnPath+tt.path, tt.body), tt.status, tt.code)
		})
	}
	// The refused requests changed nothing: live keeps its version and its
	// description of 256 characters, and no refused alias exists.
	live := call(t, srv, "GET", fnPath+"/aliases/live", "")
	if live.str("FunctionVersion") != "1" || live.str("Description") != desc(256) {
		t.Errorf("live: version %q, description of %d characters", live.str("FunctionVersion"), len([]rune(live.str("Description"))))
	}
	var names []string
	for _, a := range call(t, srv, "GET", fnPath+"/aliases", "").body["Aliases"].([]any) {
		names = append(names, a.(map[string]any)["Name"].(string))
	}
	if diff := cmp.Diff([]string{"d256", "live", strings.Repeat("n", 128)}, names); diff != "" {
		t.Errorf("aliases (-want +got):\n%s", diff)
	}
	if n := len(versionsOf(call(t, srv, "GET", fnPath+"/versions", ""))); n != 3 {
		t.Errorf("%d versions after a refused publish, want 3 ($LATEST, 1, 2)", n)
	}
}

package lambdatest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider/awslambda/lambdatest"
)

// Raw-HTTP tests of Invoke, AddPermission/RemovePermission and
// Get/UpdateEventSourceMapping against the rules cited in invoke.go,
// permissions.go and esm.go (Lambda API reference pages of those
// operations; MODEL-L = aws-sdk-go v1.55.8 models/apis/lambda/2015-03-31).

type rawReply struct {
	status int
	header http.Header
	body   []byte
}

func invokeRaw(t *testing.T, srv *lambdatest.Server, path, typ string, payload []byte) rawReply {
	t.Helper()
	req, err := http.NewRequest("POST", srv.URL()+path, bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	if typ != "" {
		req.Header.Set("X-Amz-Invocation-Type", typ)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rawReply{resp.StatusCode, resp.Header, b}
}

func wantRaw(t *testing.T, r rawReply, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %.300s", r.status, status, r.body)
	}
	if got := r.header.Get("X-Amzn-ErrorType"); got != code {
		t.Fatalf("X-Amzn-ErrorType = %q, want %q; body %.300s", got, code, r.body)
	}
}

// twoVersions publishes versions 1 and 2 with handlers that answer their
// number and the payload's "n".
func twoVersions(t *testing.T) *lambdatest.Server {
	t.Helper()
	srv := newServer(t, lambdatest.Options{SettlePolls: -1})
	publishN(t, srv, 2)
	for _, v := range []string{"1", "2"} {
		srv.SetHandler("fn", v, func(_ context.Context, p []byte) ([]byte, error) {
			var in struct{ N int }
			if len(p) > 0 {
				if err := json.Unmarshal(p, &in); err != nil {
					return nil, err
				}
			}
			if in.N < 0 {
				return nil, &lambdatest.FunctionError{Type: "ValidationError", Message: "n is negative"}
			}
			return json.Marshal(map[string]any{"version": v, "n": in.N})
		})
	}
	return srv
}

// "Specify a version or alias to invoke a published version of the
// function" (Invoke, Qualifier); X-Amz-Executed-Version names what ran.
func TestInvoke_QualifierVersionAndAlias(t *testing.T) {
	srv := twoVersions(t)
	want(t, call(t, srv, "POST", fnPath+"/aliases", `{"Name":"live","FunctionVersion":"1"}`), 201, "")

	r := invokeRaw(t, srv, fnPath+"/invocations?Qualifier=2", "", []byte(`{"n":7}`))
	wantRaw(t, r, 200, "")
	if got := string(r.body); got != `{"n":7,"version":"2"}` {
		t.Errorf("body = %s", got)
	}
	if got := r.header.Get("X-Amz-Executed-Version"); got != "2" {
		t.Errorf("X-Amz-Executed-Version = %q, want 2", got)
	}
	if got := r.header.Get("X-Amz-Function-Error"); got != "" {
		t.Errorf("X-Amz-Function-Error = %q on success", got)
	}
	r = invokeRaw(t, srv, fnPath+"/invocations?Qualifier=live", "", nil)
	wantRaw(t, r, 200, "")
	if got := r.header.Get("X-Amz-Executed-Version"); got != "1" {
		t.Errorf("alias live ran %q, want 1", got)
	}
	// The name's own qualifier works too.
	r = invokeRaw(t, srv, "/2015-03-31/functions/fn:2/invocations", "", nil)
	if got := r.header.Get("X-Amz-Executed-Version"); got != "2" {
		t.Errorf("fn:2 ran %q, want 2", got)
	}
	// Unqualified runs $LATEST, which has no handler here: "null".
	r = invokeRaw(t, srv, fnPath+"/invocations", "", nil)
	if got := r.header.Get("X-Amz-Executed-Version"); got != "$LATEST" || string(r.body) != "null" {
		t.Errorf("unqualified: version %q body %s, want $LATEST null", got, r.body)
	}
}

// A missing function, version or alias → 404 ResourceNotFoundException
// (MODEL-L Invoke errors).
func TestInvoke_MissingIs404(t *testing.T) {
	srv := twoVersions(t)
	for _, path := range []string{
		"/2015-03-31/functions/nope/invocations",
		fnPath + "/invocations?Qualifier=9",
		fnPath + "/invocations?Qualifier=staging",
	} {
		wantRaw(t, invokeRaw(t, srv, path, "", nil), 404, "ResourceNotFoundException")
	}
}

// "The status code in the API response doesn't reflect function errors"
// (Invoke): 200, X-Amz-Function-Error, the error document as body.
func TestInvoke_FunctionErrorIs200WithHeader(t *testing.T) {
	srv := twoVersions(t)
	r := invokeRaw(t, srv, fnPath+"/invocations?Qualifier=1", "", []byte(`{"n":-1}`))
	wantRaw(t, r, 200, "")
	if got := r.header.Get("X-Amz-Function-Error"); got != "Unhandled" {
		t.Errorf("X-Amz-Function-Error = %q, want Unhandled", got)
	}
	var doc map[string]string
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"errorType": "ValidationError", "errorMessage": "n is negative"}, doc); diff != "" {
		t.Errorf("error document (-want +got):\n%s", diff)
	}
}

// Payload limits (Invoke: "For synchronous invocations, the maximum
// payload size is 6 MB. For asynchronous invocations, the maximum payload
// size is 1 MB"): 413 RequestTooLargeException (MODEL-L) one byte over.
func TestInvoke_PayloadLimits(t *testing.T) {
	srv := twoVersions(t)
	jsonOf := func(n int) []byte { return []byte(`"` + strings.Repeat("a", n-2) + `"`) }
	wantRaw(t, invokeRaw(t, srv, fnPath+"/invocations?Qualifier=1", "", jsonOf(lambdatest.MaxSyncRequest)), 200, "")
	r := invokeRaw(t, srv, fnPath+"/invocations?Qualifier=1", "", jsonOf(lambdatest.MaxSyncRequest+1))
	wantRaw(t, r, 413, "RequestTooLargeException")
	if !strings.Contains(string(r.body), "Request must be smaller than 6291456 bytes for the InvokeFunction operation") {
		t.Errorf("message: %s", r.body)
	}
	wantRaw(t, invokeRaw(t, srv, fnPath+"/invocations?Qualifier=1", "Event", jsonOf(lambdatest.MaxAsyncRequest)), 202, "")
	wantRaw(t, invokeRaw(t, srv, fnPath+"/invocations?Qualifier=1", "Event", jsonOf(lambdatest.MaxAsyncRequest+1)), 413, "RequestTooLargeException")
}

// A response over 6,291,556 bytes becomes Function.ResponseSizeTooLarge,
// still 200 (observed; see invoke.go).
func TestInvoke_ResponseTooLarge(t *testing.T) {
	srv := twoVersions(t)
	srv.SetHandler("fn", "1", func(context.Context, []byte) ([]byte, error) {
		return bytes.Repeat([]byte("a"), lambdatest.MaxSyncResponse+1), nil
	})
	r := invokeRaw(t, srv, fnPath+"/invocations?Qualifier=1", "", nil)
	wantRaw(t, r, 200, "")
	if r.header.Get("X-Amz-Function-Error") != "Unhandled" || !strings.Contains(string(r.body), "Function.ResponseSizeTooLarge") {
		t.Errorf("header %q body %.200s", r.header.Get("X-Amz-Function-Error"), r.body)
	}
}

// InvalidRequestContentException: "The request body could not be parsed
// as JSON" (MODEL-L); DryRun → 204 without running; Event → 202; an
// unknown type violates the enum.
func TestInvoke_ContentAndInvocationTypes(t *testing.T) {
	srv := twoVersions(t)
	wantRaw(t, invokeRaw(t, srv, fnPath+"/invocations?Qualifier=1", "", []byte(`{not json`)), 400, "InvalidRequestContentException")
	srv.SetHandler("fn", "2", func(context.Context, []byte) ([]byte, error) { return nil, errors.New("ran") })
	r := invokeRaw(t, srv, fnPath+"/invocations?Qualifier=2", "DryRun", nil)
	wantRaw(t, r, 204, "")
	r = invokeRaw(t, srv, fnPath+"/invocations?Qualifier=2", "Event", []byte(`{}`))
	wantRaw(t, r, 202, "")
	if len(r.body) != 0 {
		t.Errorf("Event body = %s, want empty", r.body)
	}
	wantRaw(t, invokeRaw(t, srv, fnPath+"/invocations?Qualifier=2", "Sometimes", nil), 400, "ValidationException")
	var got []string
	for _, iv := range srv.Invocations() {
		got = append(got, iv.Type+":"+iv.Version+":"+iv.FunctionError)
	}
	if diff := cmp.Diff([]string{"DryRun:2:", "Event:2:Unhandled"}, got); diff != "" {
		t.Errorf("invocation log (-want +got):\n%s", diff)
	}
}

// An alias with an additional version of weight 0.25 sends it a quarter
// of the invocations, exactly (the emulator's deterministic split).
func TestInvoke_WeightedAliasSplits(t *testing.T) {
	srv := twoVersions(t)
	want(t, call(t, srv, "POST", fnPath+"/aliases", `{"Name":"live","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"2":0.25}}}`), 201, "")
	counts := map[string]int{}
	for range 100 {
		counts[invokeRaw(t, srv, fnPath+"/invocations?Qualifier=live", "", nil).header.Get("X-Amz-Executed-Version")]++
	}
	if diff := cmp.Diff(map[string]int{"1": 75, "2": 25}, counts); diff != "" {
		t.Errorf("versions run (-want +got):\n%s", diff)
	}
}

func TestInvoke_Throttled(t *testing.T) {
	srv := newServer(t, lambdatest.Options{Throttle: func(op string) (d time.Duration, ok bool) { return time.Second, op == "Invoke" }})
	wantRaw(t, invokeRaw(t, srv, fnPath+"/invocations", "", nil), 429, "TooManyRequestsException")
}

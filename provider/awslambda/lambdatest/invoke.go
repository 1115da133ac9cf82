package lambdatest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
)

// Invocation (Invoke, POST /2015-03-31/functions/{FunctionName}/invocations).
// Rules and their sources (the Invoke page of the Lambda API reference and
// MODEL-L, aws-sdk-go v1.55.8 models/apis/lambda/2015-03-31):
//   - Qualifier (query, or the name's :qualifier) names a version, an alias or
//     $LATEST; none means $LATEST. A missing function or qualifier → 404
//     ResourceNotFoundException.
//   - X-Amz-Invocation-Type RequestResponse (default) → 200 with the
//     function's response as body; Event → 202, empty body; DryRun → 204,
//     the function does not run. Another value violates the enum →
//     ValidationException (unverified wording).
//   - "For synchronous invocations, the maximum payload size is 6 MB. For
//     asynchronous invocations, the maximum payload size is 1 MB" (API
//     reference, Invoke). A larger request → 413 RequestTooLargeException
//     (MODEL-L: httpStatusCode 413; observed message "Request must be smaller
//     than 6291456 bytes for the InvokeFunction operation", transcripts
//     awslabs/aws-athena-query-federation#793, pelmers/streetwarp-web#14,
//     which report the code as RequestEntityTooLargeException: the emulator
//     sends the reference's code).
//   - A body that is not JSON → 400 InvalidRequestContentException ("The
//     request body could not be parsed as JSON", MODEL-L); an empty body is
//     accepted.
//   - "The status code in the API response doesn't reflect function errors"
//     (API reference): a failed function answers 200 with the
//     X-Amz-Function-Error header ("Unhandled") and an error document
//     {"errorType", "errorMessage"} as body.
//   - A response larger than 6,291,556 bytes is replaced by the error
//     document Function.ResponseSizeTooLarge, still with status 200 (observed:
//     Zac Charles, "Deep Dive: Lambda's Response Payload Size Limit", 2022).
//   - X-Amz-Executed-Version names the version that ran; an alias with an
//     additional version sends it its weight's share of invocations (the
//     emulator alternates deterministically, see Server.Invoke).

// Payload limits of Invoke.
const (
	// MaxSyncRequest is the largest RequestResponse request body, 6 MiB.
	MaxSyncRequest = 6 << 20
	// MaxAsyncRequest is the largest Event request body, 1 MiB.
	MaxAsyncRequest = 1 << 20
	// MaxSyncResponse is the largest response Lambda returns as is.
	MaxSyncResponse = 6291556
)

// Handler is the code of a version as the emulator runs it: the payload in,
// the response body or an error out. An error is a function error: its
// text becomes the errorMessage of the error document (errorType "Error",
// or the Type of a *FunctionError).
type Handler func(ctx context.Context, payload []byte) ([]byte, error)

// FunctionError chooses the errorType of a failed invocation's document.
type FunctionError struct {
	Type    string
	Message string
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// invokeState is the Server's invocation state, under its mutex.
type invokeState struct {
	handlers map[string]Handler // by "function:version"
	log      []Invocation
	credits  map[string]float64 // by "function:alias", see pickVersion
}

// errTooLarge: RequestTooLargeException, 413 (MODEL-L).
func errTooLarge(format string, a ...any) *apiError {
	return &apiError{http.StatusRequestEntityTooLarge, "RequestTooLargeException", fmt.Sprintf(format, a...)}
}

// Invocation is one entry of the invocation log (Server.Invocations).
type Invocation struct {
	Function string
	// Qualifier as requested ("" for unqualified) and the version that ran
	// ("$LATEST" or a number).
	Qualifier, Version string
	// Type is RequestResponse, Event or DryRun.
	Type          string
	Payload       []byte
	FunctionError string
}

// SetHandler sets the code version (a version number or "$LATEST") of fn
// runs when invoked; nil removes it. A version without a handler answers
// "null", as a handler returning nothing does. The version need not exist
// yet.
func (s *Server) SetHandler(fn, version string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inv.handlers == nil {
		s.inv.handlers = map[string]Handler{}
	}
	key := fn + ":" + version
	if h == nil {
		delete(s.inv.handlers, key)
		return
	}
	s.inv.handlers[key] = h
}

// Invocations returns a copy of the invocation log, oldest first.
func (s *Server) Invocations() []Invocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.inv.log)
}

// pickVersion resolves what an invocation runs. For an alias with an
// additional version of weight w, the emulator keeps a running credit per
// alias: each invocation adds w, and one that brings it to 1 or more runs
// the additional version and takes 1 off, so n invocations send it
// floor(n·w) or ceil(n·w) of them, never a random count. The caller holds
// s.mu.
func (s *Server) pickVersion(f *function, q string) (string, *apiError) {
	if q == "" || q == latest {
		return latest, nil
	}
	if a, ok := f.aliases[q]; ok {
		key := f.name + ":" + q
		for _, k := range slices.Sorted(maps.Keys(a.additional)) {
			if s.inv.credits == nil {
				s.inv.credits = map[string]float64{}
			}
			s.inv.credits[key] += a.additional[k]
			if s.inv.credits[key] >= 1 {
				s.inv.credits[key]--
				return k, nil
			}
		}
		return a.version, nil
	}
	if digitsRe.MatchString(q) {
		if n, err := strconv.Atoi(q); err == nil {
			if _, ok := f.versions[n]; ok {
				return q, nil
			}
		}
	}
	return "", errNotFound("Function not found: %s:%s", s.functionARN(f.name), q)
}

func (s *Server) invoke(w http.ResponseWriter, r *http.Request, rt route) {
	typ := r.Header.Get("X-Amz-Invocation-Type")
	if typ == "" {
		typ = "RequestResponse"
	}
	limit := MaxSyncRequest
	switch typ {
	case "RequestResponse", "DryRun":
	case "Event":
		limit = MaxAsyncRequest
	default:
		writeAPIError(w, errValidation("Value '%s' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]", typ))
		return
	}
	payload, rerr := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if rerr != nil {
		writeAPIError(w, errBadRequest("Could not read the request body: %v", rerr))
		return
	}
	if len(payload) > limit {
		if typ == "Event" {
			writeAPIError(w, errTooLarge("%d byte payload is too large for the Event invocation type (limit %d bytes)", max(r.ContentLength, int64(len(payload))), limit))
			return
		}
		writeAPIError(w, errTooLarge("Request must be smaller than %d bytes for the InvokeFunction operation", limit))
		return
	}
	if len(payload) > 0 && !json.Valid(payload) {
		writeAPIError(w, errBadRequest("Could not parse request body into json: the payload is not valid JSON"))
		return
	}
	s.mu.Lock()
	f, q, aerr := s.qualified(r, rt)
	var version string
	if aerr == nil {
		version, aerr = s.pickVersion(f, q)
	}
	if aerr != nil {
		s.mu.Unlock()
		writeAPIError(w, aerr)
		return
	}
	h := s.inv.handlers[f.name+":"+version]
	name := f.name
	_, viaAlias := f.aliases[q]
	began := s.now()
	s.mu.Unlock()

	w.Header().Set("X-Amz-Executed-Version", version)
	if typ == "DryRun" {
		s.logInvocation(Invocation{Function: name, Qualifier: q, Version: version, Type: typ, Payload: payload})
		w.WriteHeader(http.StatusNoContent)
		return
	}
	body, ferr := []byte("null"), error(nil)
	if h != nil {
		body, ferr = h(r.Context(), slices.Clone(payload))
	}
	fnErr := ""
	switch {
	case ferr != nil:
		fnErr, body = "Unhandled", errorDocument(ferr)
	case len(body) > MaxSyncResponse && typ == "RequestResponse":
		fnErr, body = "Unhandled", errorDocument(&FunctionError{Type: "Function.ResponseSizeTooLarge",
			Message: "Response payload size exceeded maximum allowed payload size (" + strconv.Itoa(MaxSyncResponse) + " bytes)."})
	}
	s.logInvocation(Invocation{Function: name, Qualifier: q, Version: version, Type: typ, Payload: payload, FunctionError: fnErr})
	s.countCall(f, call{at: began, resource: q, alias: viaAlias, version: version, failed: fnErr != ""})
	if typ == "Event" {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if fnErr != "" {
		w.Header().Set("X-Amz-Function-Error", fnErr)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-RequestId", "lambdatest")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// countCall records an invocation that ran for the metrics (traffic.go,
// call), its duration measured on the emulator clock: zero under a
// virtual clock that does not move while the handler runs. An invocation
// of a function deleted meanwhile is not counted.
func (s *Server) countCall(f *function, k call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k.ms = ms(s.now().Sub(k.at))
	if s.funcs[f.name] != f {
		return
	}
	f.traffic.calls = append(f.traffic.calls, k)
}

func (s *Server) logInvocation(iv Invocation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inv.log = append(s.inv.log, iv)
}

func errorDocument(err error) []byte {
	doc := struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}{"Error", err.Error()}
	var fe *FunctionError
	if errors.As(err, &fe) {
		doc.ErrorType, doc.ErrorMessage = fe.Type, fe.Message
	}
	b, _ := json.Marshal(doc) // two strings always marshal
	return b
}

package release

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/schemadiff"
)

// ErrContractBroken: the candidate refused, failed or answered differently
// to a recorded event (Contract), or an event no longer satisfies its input
// schema. The release stops before production; staging is put back.
var ErrContractBroken = errors.New("contract replay failed")

// Contract is a set of recorded events a candidate must still accept: the
// events producers send and the ones already queued before the deploy.
// Release replays them against the candidate on the staging alias (or, with
// no staging stage, against the candidate version) before any production
// traffic, through the provider's Invoker power.
//
// In the CLI's configuration file (keys as the JSON names below):
//
//	contract:
//	  events: "contract/*.json"   # LoadEvents pattern, relative to the file
//	  schema: "schema/input.json" # the candidate's input schema, optional
type Contract struct {
	// Events are replayed in order.
	Events []RecordedEvent `json:"events"`
	// Schema, when set, is the candidate's input JSON Schema: every event is
	// validated against it first (an event it rejects fails the replay and
	// is not sent). Request.Publish.Schema.Candidate is used when this is
	// nil.
	Schema []byte `json:"schema,omitempty"`
}

// RecordedEvent is one event and what the candidate must answer.
type RecordedEvent struct {
	// Name identifies the event in reports (a file name).
	Name    string          `json:"name"`
	Payload json.RawMessage `json:"payload"`
	// Expect is the answer required; the zero value requires success.
	Expect Expectation `json:"expect,omitzero"`
}

// Expectation is what a replayed event must produce.
type Expectation struct {
	// Status is the platform status required; 0 means 200.
	Status int `json:"status,omitempty"`
	// FunctionError requires the function to fail (true) — an event the
	// function is meant to reject. False requires success.
	FunctionError bool `json:"functionError,omitempty"`
	// Response, when set, must equal the body as JSON (key order and
	// spacing aside).
	Response json.RawMessage `json:"response,omitempty"`
}

// Validate checks the contract: at least one event, each with a name and
// a JSON payload, JSON expected responses, and a schema that compiles.
// Errors wrap provider.ErrInvalid.
func (c Contract) Validate() error {
	if len(c.Events) == 0 {
		return provider.Invalid("contract", "events", "is empty")
	}
	for i, e := range c.Events {
		field := fmt.Sprintf("events[%d]", i)
		switch {
		case e.Name == "":
			return provider.Invalid("contract", field+".name", "is empty")
		case len(e.Payload) > 0 && !json.Valid(e.Payload):
			return provider.Invalid("contract", field+".payload", "is not JSON")
		case len(e.Expect.Response) > 0 && !json.Valid(e.Expect.Response):
			return provider.Invalid("contract", field+".expect.response", "is not JSON")
		}
	}
	if c.Schema != nil {
		if _, err := schemadiff.Compile(c.Schema); err != nil {
			return provider.Invalid("contract", "schema", err.Error())
		}
	}
	return nil
}

// LoadEvents reads the events matching pattern (fs.Glob) from fsys: each
// NAME.json holds one event's payload, and an optional NAME.expect.json
// beside it holds its Expectation. Events are in the order of their file
// names. Errors wrap provider.ErrInvalid for a file that is not JSON and
// for a pattern that matches no event.
func LoadEvents(fsys fs.FS, pattern string) ([]RecordedEvent, error) {
	names, err := fs.Glob(fsys, pattern)
	if err != nil {
		return nil, provider.Invalid("contract", "events", err.Error())
	}
	var out []RecordedEvent
	for _, name := range names {
		if strings.HasSuffix(name, ".expect.json") {
			continue
		}
		payload, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("release: contract event %s: %w", name, err)
		}
		if !json.Valid(payload) {
			return nil, provider.Invalid("contract", name, "is not JSON")
		}
		ev := RecordedEvent{Name: path.Base(name), Payload: payload}
		exp := strings.TrimSuffix(name, path.Ext(name)) + ".expect.json"
		if b, err := fs.ReadFile(fsys, exp); err == nil {
			if err := json.Unmarshal(b, &ev.Expect); err != nil {
				return nil, provider.Invalid("contract", exp, err.Error())
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("release: contract expectation %s: %w", exp, err)
		}
		out = append(out, ev)
	}
	if len(out) == 0 {
		return nil, provider.Invalid("contract", "events", fmt.Sprintf("pattern %q matches no event", pattern))
	}
	return out, nil
}

// Replay outcomes of one event (EventResult.Outcome).
const (
	ReplayPassed   = "passed"
	ReplayRejected = "rejected by schema" // the event fails the candidate's schema
	ReplayFailed   = "failed"             // the answer is not what was expected
	ReplayError    = "error"              // the invocation itself failed
)

// EventResult is how one recorded event fared.
type EventResult struct {
	Name    string `json:"name"`
	Outcome string `json:"outcome"`
	// Detail says what differed; Version is the version that answered.
	Detail  string `json:"detail,omitempty"`
	Version string `json:"version,omitempty"`
}

// ReplayReport is a whole replay.
type ReplayReport struct {
	Function  string        `json:"function"`
	Qualifier string        `json:"qualifier"`
	Results   []EventResult `json:"results"`
}

// Failed returns the results that did not pass.
func (r ReplayReport) Failed() []EventResult {
	var out []EventResult
	for _, e := range r.Results {
		if e.Outcome != ReplayPassed {
			out = append(out, e)
		}
	}
	return out
}

// Text is one line for the journal and the summary: "3/3 events passed",
// or "1/3 events failed: order-v1.json: rejected by schema (at /: missing
// property 'customerId')".
func (r ReplayReport) Text() string {
	failed := r.Failed()
	if len(failed) == 0 {
		return fmt.Sprintf("%d/%d events passed", len(r.Results), len(r.Results))
	}
	parts := make([]string, 0, len(failed))
	for _, f := range failed {
		parts = append(parts, fmt.Sprintf("%s: %s (%s)", f.Name, f.Outcome, f.Detail))
	}
	return fmt.Sprintf("%d/%d events failed: %s", len(failed), len(r.Results), strings.Join(parts, "; "))
}

// Replay sends every event of c to fn:qualifier through inv and compares
// each answer with the event's expectation, after validating the event
// against c.Schema when set. Every event is tried; the error wraps
// ErrContractBroken when any did not pass (the report says which), and is
// otherwise one of c.Validate's or the context's. An invocation that fails
// (throttled, not found) is a failed event, not an error of Replay.
func Replay(ctx context.Context, inv provider.Invoker, fn, qualifier string, c Contract) (ReplayReport, error) {
	if err := c.Validate(); err != nil {
		return ReplayReport{}, err
	}
	var v *schemadiff.Validator
	if c.Schema != nil {
		v, _ = schemadiff.Compile(c.Schema) // Validate compiled it
	}
	rep := ReplayReport{Function: fn, Qualifier: qualifier}
	for _, e := range c.Events {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("release: contract replay: %w", err)
		}
		rep.Results = append(rep.Results, replayOne(ctx, inv, fn, qualifier, v, e))
	}
	if n := len(rep.Failed()); n > 0 {
		return rep, fmt.Errorf("release: %w on %s:%s: %s", ErrContractBroken, fn, qualifier, rep.Text())
	}
	return rep, nil
}

func replayOne(ctx context.Context, inv provider.Invoker, fn, qualifier string, v *schemadiff.Validator, e RecordedEvent) EventResult {
	res := EventResult{Name: e.Name}
	if v != nil {
		payload := e.Payload
		if len(payload) == 0 {
			payload = json.RawMessage("{}")
		}
		if err := v.Validate(payload); err != nil {
			res.Outcome, res.Detail = ReplayRejected, strings.TrimPrefix(err.Error(), schemadiff.ErrRejected.Error()+": ")
			return res
		}
	}
	out, err := inv.Invoke(ctx, fn, provider.InvokeInput{Qualifier: qualifier, Payload: e.Payload})
	if err != nil {
		res.Outcome, res.Detail = ReplayError, err.Error()
		return res
	}
	res.Version = out.ExecutedVersion
	status := e.Expect.Status
	if status == 0 {
		status = 200
	}
	switch {
	case out.Status != status:
		res.Outcome, res.Detail = ReplayFailed, fmt.Sprintf("status %d, want %d", out.Status, status)
	case out.Failed() && !e.Expect.FunctionError:
		res.Outcome, res.Detail = ReplayFailed, fmt.Sprintf("function error %s: %s", out.FunctionError, clip(out.Body))
	case !out.Failed() && e.Expect.FunctionError:
		res.Outcome, res.Detail = ReplayFailed, "succeeded, want a function error"
	case len(e.Expect.Response) > 0 && !jsonEqual(e.Expect.Response, out.Body):
		res.Outcome, res.Detail = ReplayFailed, fmt.Sprintf("response %s, want %s", clip(out.Body), clip(e.Expect.Response))
	default:
		res.Outcome = ReplayPassed
	}
	return res
}

// jsonEqual compares two JSON documents as values.
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xb, _ := json.Marshal(x) // maps marshal with sorted keys
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}

// clip shortens a body for a one-line report.
func clip(b []byte) string {
	const n = 200
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// ContractSource is how a configuration file names a contract: a
// LoadEvents pattern and an optional schema file, both relative to fsys
// (the configuration file's directory, say os.DirFS(dir)).
//
//	contract:
//	  events: "contract/*.json"
//	  schema: "schema/input.json"
type ContractSource struct {
	Events string `json:"events"`
	Schema string `json:"schema,omitempty"`
}

// Load reads the events and the schema and returns the contract, checked
// by Contract.Validate.
func (s ContractSource) Load(fsys fs.FS) (Contract, error) {
	if s.Events == "" {
		return Contract{}, provider.Invalid("contract", "events", "is empty")
	}
	evs, err := LoadEvents(fsys, s.Events)
	if err != nil {
		return Contract{}, err
	}
	c := Contract{Events: evs}
	if s.Schema != "" {
		if c.Schema, err = fs.ReadFile(fsys, s.Schema); err != nil {
			return Contract{}, fmt.Errorf("release: contract schema: %w", err)
		}
	}
	return c, c.Validate()
}

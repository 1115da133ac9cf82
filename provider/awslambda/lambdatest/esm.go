package lambdatest

import (
	"fmt"
	"net/http"
	"slices"
)

// Event-source mapping reads and updates: GetEventSourceMapping
// (GET /2015-03-31/event-source-mappings/{UUID}, 200) and
// UpdateEventSourceMapping (PUT …/{UUID}, 202). Rules and sources (MODEL-L
// operations and docs; the UpdateEventSourceMapping page of the Lambda API
// reference):
//   - An unknown UUID → 404 ResourceNotFoundException.
//   - FunctionName may be a name, an ARN, or a version or alias ARN
//     ("MyFunction:PROD"): the mapping then invokes that qualifier. A missing
//     function or qualifier → 404 ResourceNotFoundException.
//   - Enabled false/true pauses or resumes the mapping (State Disabled or
//     Enabled).
//   - A mapping being created, updated or deleted (State Creating, Updating,
//     Deleting) is busy: "you tried to update an event source mapping in the
//     CREATING state" → 400 ResourceInUseException (MODEL-L docs of the
//     exception). The emulator answers an accepted update with State
//     "Updating" and settles it at once; SetEventSourceMappingState holds a
//     mapping in a busy state for tests.

// esmJSON is an EventSourceMappingConfiguration (the members the emulator
// keeps).
type esmJSON struct {
	UUID           string  `json:"UUID"`
	FunctionArn    string  `json:"FunctionArn"`
	EventSourceArn string  `json:"EventSourceArn"`
	State          string  `json:"State"`
	LastModified   float64 `json:"LastModified"`
}

func (s *Server) esmJSON(m *eventSourceMapping) esmJSON {
	arn := s.functionARN(m.function)
	if m.qualifier != "" {
		arn += ":" + m.qualifier
	}
	return esmJSON{UUID: m.uuid, FunctionArn: arn, EventSourceArn: m.source, State: m.state,
		LastModified: float64(m.modified.UnixMilli()) / 1e3}
}

// esm finds a mapping by UUID; the caller holds s.mu.
func (s *Server) esm(uuid string) (*eventSourceMapping, *apiError) {
	i := slices.IndexFunc(s.esms, func(m *eventSourceMapping) bool { return m.uuid == uuid })
	if i < 0 {
		return nil, errNotFound("The resource you requested does not exist.")
	}
	return s.esms[i], nil
}

// SetEventSourceMappingState sets the State a mapping reports, e.g.
// "Creating", "Updating" or "Deleting" to make updates meet
// ResourceInUseException, or "Enabled" again.
func (s *Server) SetEventSourceMappingState(uuid, state string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.esm(uuid)
	if err != nil {
		return fmt.Errorf("lambdatest: event source mapping state: %w", err)
	}
	m.state = state
	return nil
}

func (s *Server) getEventSourceMapping(w http.ResponseWriter, r *http.Request, rt route) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.esm(rt.id)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.esmJSON(m))
}

type updateESMRequest struct {
	FunctionName *string `json:"FunctionName"`
	Enabled      *bool   `json:"Enabled"`
}

func (s *Server) updateEventSourceMapping(w http.ResponseWriter, r *http.Request, rt route) {
	var in updateESMRequest
	if err := decodeBody(r, &in); err != nil {
		writeAPIError(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.esm(rt.id)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	switch m.state {
	case "Creating", "Updating", "Deleting":
		writeAPIError(w, &apiError{http.StatusBadRequest, "ResourceInUseException",
			fmt.Sprintf("Cannot update the event source mapping because it is in use. State: %s", m.state)})
		return
	}
	fn, q := m.function, m.qualifier
	if in.FunctionName != nil {
		f, qq, err := s.lookup(*in.FunctionName, true)
		if err != nil {
			writeAPIError(w, err)
			return
		}
		if qq != "" && !f.hasQualifier(qq) {
			writeAPIError(w, errNotFound("Function not found: %s:%s", s.functionARN(f.name), qq))
			return
		}
		fn, q = f.name, qq
	}
	state := m.state
	if in.Enabled != nil {
		state = "Disabled"
		if *in.Enabled {
			state = "Enabled"
		}
	}
	m.function, m.qualifier, m.state, m.modified = fn, q, state, s.now()
	out := s.esmJSON(m)
	out.State = "Updating"
	writeJSON(w, http.StatusAccepted, out)
}

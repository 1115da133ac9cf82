package runtest

import (
	"context"
	"fmt"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// operation is a google.longrunning.Operation. It finishes after
// Options.Polls reads (GetOperation, or GetService for a service update),
// when finish computes its response or error.
type operation struct {
	name      string
	pollsLeft int
	done      bool
	metadata  proto.Message
	finish    func() (proto.Message, error)
	response  proto.Message
	err       error
}

// startOp registers a running operation. Callers hold s.mu.
func (s *Server) startOp(kind string, metadata proto.Message, finish func() (proto.Message, error)) *operation {
	s.opSeq++
	op := &operation{
		name:      fmt.Sprintf("%s/operations/%s-%d", s.locationName(), kind, s.opSeq),
		pollsLeft: s.polls(),
		metadata:  proto.Clone(metadata),
		finish:    finish,
	}
	s.ops[op.name] = op
	return op
}

// settleNow finishes op at once when Options.Polls is negative.
func (s *Server) settleNow(op *operation) {
	if op.pollsLeft <= 0 {
		s.complete(op)
	}
}

// newOp starts an operation and returns its proto; immediate ones (no
// change to reconcile) are done when returned.
func (s *Server) newOp(kind string, metadata proto.Message, finish func() (proto.Message, error), immediate bool) *longrunningpb.Operation {
	op := s.startOp(kind, metadata, finish)
	if immediate {
		s.complete(op)
	} else {
		s.settleNow(op)
	}
	return op.proto()
}

func (s *Server) complete(op *operation) {
	if op.done {
		return
	}
	op.done = true
	op.pollsLeft = 0
	op.response, op.err = op.finish()
	if op.response != nil {
		op.metadata = proto.Clone(op.response)
	}
}

// advance counts one read of a running operation.
func (s *Server) advance(op *operation) {
	if op.done {
		return
	}
	op.pollsLeft--
	if op.pollsLeft <= 0 {
		s.complete(op)
	}
}

func (op *operation) proto() *longrunningpb.Operation {
	out := &longrunningpb.Operation{Name: op.name, Done: op.done}
	if op.metadata != nil {
		if m, err := anypb.New(op.metadata); err == nil {
			out.Metadata = m
		}
	}
	if !op.done {
		return out
	}
	if op.err != nil {
		out.Result = &longrunningpb.Operation_Error{Error: status.Convert(op.err).Proto()}
		return out
	}
	if r, err := anypb.New(op.response); err == nil {
		out.Result = &longrunningpb.Operation_Response{Response: r}
	}
	return out
}

type operationsServer struct {
	longrunningpb.UnimplementedOperationsServer
	s *Server
}

// GetOperation returns an operation, counting the read towards its
// completion.
func (x operationsServer) GetOperation(_ context.Context, req *longrunningpb.GetOperationRequest) (*longrunningpb.Operation, error) {
	s := x.s
	s.mu.Lock()
	defer s.mu.Unlock()
	op, ok := s.ops[req.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "operation %q not found", req.GetName())
	}
	s.advance(op)
	return op.proto(), nil
}

package schemadiff

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Validator checks documents against one compiled schema. It is safe for
// concurrent use.
type Validator struct {
	s *jsonschema.Schema
}

// Compile compiles a JSON Schema document (draft 2020-12 unless its $schema
// names another draft). Errors wrap ErrInvalid. Remote references are not
// fetched: a schema must be self-contained.
func Compile(schema []byte) (*Validator, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return nil, fmt.Errorf("%w: not JSON: %w", ErrInvalid, err)
	}
	c := jsonschema.NewCompiler()
	const loc = "urn:slipway:input-schema"
	if err := c.AddResource(loc, doc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	s, err := c.Compile(loc)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return &Validator{s: s}, nil
}

// ErrRejected is wrapped by Validate's error when the document does not
// satisfy the schema (as opposed to not being JSON).
var ErrRejected = errors.New("schemadiff: document rejected by the schema")

// Validate checks one JSON document. The error wraps ErrRejected, and its
// text lists the failing keywords with their locations, when the document
// does not satisfy the schema.
func (v *Validator) Validate(doc []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("schemadiff: the document is not JSON: %w", err)
	}
	if err := v.s.Validate(inst); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return fmt.Errorf("%w: %s", ErrRejected, oneLine(ve))
		}
		return fmt.Errorf("%w: %w", ErrRejected, err)
	}
	return nil
}

// oneLine renders the basic output's errors as "at /x: msg; at /y: msg".
func oneLine(ve *jsonschema.ValidationError) string {
	out := ve.BasicOutput()
	var b bytes.Buffer
	for _, u := range out.Errors {
		if u.Error == nil {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		loc := u.InstanceLocation
		if loc == "" {
			loc = "/"
		}
		fmt.Fprintf(&b, "at %s: %s", loc, u.Error.String())
	}
	if b.Len() == 0 {
		return ve.Error()
	}
	return b.String()
}

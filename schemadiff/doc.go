// Package schemadiff classifies a change to the JSON Schema of a function's
// input as a semantic-version bump, and validates events against a schema.
//
// A function's input schema is a contract with the producers that send it
// events (and with the events already queued when a new version deploys).
// Semantic Versioning calls a breaking change to that contract MAJOR. Diff
// compares the schema of the last release with the candidate's:
//
//   - MAJOR when the candidate may refuse an input the last release
//     accepted: a property removed, a property newly required, a type
//     narrowed ("number" → "integer", ["string","null"] → "string", a type
//     where there was none), an enum or const narrowed or added, a bound
//     tightened (minimum, maxLength, …), a pattern or format added or
//     changed, additionalProperties closed, and — conservatively — any change
//     of a composition (allOf, anyOf, oneOf, not, if/then/else), which Diff
//     does not analyse;
//   - MINOR when the only changes add optional properties;
//   - PATCH otherwise (widened types or enums, relaxed bounds, a requirement
//     dropped, annotations such as description edited, or no change).
//
// Bump takes the larger of that level and the Conventional Commits level of
// the release's commit messages (semver.LevelFromCommits) and says why, for
// the journal and the summary.
//
// Local references ("#/$defs/order", "#/definitions/order") are followed;
// remote ones are compared as text. Schema keywords are read as JSON Schema
// draft 2020-12 names them (draft-07's "definitions" too).
//
// Validation (Compile, Validator.Validate) uses
// github.com/santhosh-tekuri/jsonschema/v6, which implements drafts 4 to
// 2020-12; the contract replay of the release package validates every
// recorded event against the candidate's schema with it.
//
// schemadiff imports semver only, of slipway's packages.
package schemadiff

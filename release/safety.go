package release

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slipway-dev/slipway/provider"
)

// ConfigReport is the drift and safety report of two configurations: the
// differences between them (values of environment variables masked) and
// the findings of the safety checks, with the status of every check so a
// check that could not be made is never mistaken for one that passed.
//
// Compare fills it for two stages of a function, CompareConfig for a
// desired configuration and an actual one. It is plain data: it serialises
// to JSON and compares under cmp.Diff.
type ConfigReport struct {
	// Function is the function compared; empty for CompareConfig.
	Function string `json:"function,omitempty"`
	// A and B name the two sides: the stages (aliases) given to Compare,
	// or "want" and "got" for CompareConfig.
	A string `json:"a"`
	B string `json:"b"`
	// AVersion and BVersion are the version IDs the stages send their
	// traffic to (their primary versions); empty for CompareConfig.
	AVersion string `json:"aVersion,omitempty"`
	BVersion string `json:"bVersion,omitempty"`
	// Differences lists the fields that differ from A to B, in the order
	// of provider.Config's fields, environment variables by name.
	Differences []Difference `json:"differences,omitempty"`
	// Findings lists what the safety checks found.
	Findings []Finding `json:"findings,omitempty"`
	// Checks lists every safety check with its status, in the order of
	// the Check… constants.
	Checks []SafetyCheck `json:"checks"`
}

// Difference is one configuration field that differs between the sides of
// a ConfigReport.
type Difference struct {
	// Field is the JSON name of the provider.Config field: "runtime",
	// "handler", "memoryMB", "timeout", "environment" or "role".
	Field string `json:"field"`
	// Name is the environment variable's name when Field is
	// "environment".
	Name string `json:"name,omitempty"`
	// A and B are the values on each side as text, "(default)" for a zero
	// value. For environment variables they never hold the value: they are
	// "(absent)" or "(set)", and "(masked)" on both sides when both set it
	// to different values.
	A string `json:"a"`
	B string `json:"b"`
}

func (d Difference) String() string {
	if d.Field == "environment" {
		switch {
		case d.A == absent:
			return "environment " + d.Name + ": added"
		case d.B == absent:
			return "environment " + d.Name + ": removed"
		}
		return "environment " + d.Name + ": value differs (masked)"
	}
	return d.Field + ": " + d.A + " → " + d.B
}

// FindingKind names what a safety check found.
type FindingKind string

const (
	// FindingPlainSecret: an environment variable whose name says it holds
	// a secret (…_SECRET, …_TOKEN, …_KEY, …PASSWORD…) has a literal value
	// instead of a reference to a secret manager.
	FindingPlainSecret FindingKind = "plain-text secret"
	// FindingRoleChanged: the execution role (service identity) differs
	// between the sides; a release that changes what a function may do
	// deserves a second look.
	FindingRoleChanged FindingKind = "execution role changed"
	// FindingPinnedEventSource: an event-source mapping invokes a version
	// instead of an alias, so it does not follow releases (or rollbacks).
	FindingPinnedEventSource FindingKind = "event source pinned to a version"
	// FindingPublicVersion: a version no route sends traffic to can still
	// be invoked by anyone.
	FindingPublicVersion FindingKind = "old version publicly invocable"
)

// Finding is one thing a safety check found.
type Finding struct {
	Kind FindingKind `json:"kind"`
	// Subject says where: `got environment DB_PASSWORD`, `event source
	// arn:aws:sqs:…`, `version 3`.
	Subject string `json:"subject"`
	// Detail says what, never a secret's value.
	Detail string `json:"detail"`
}

func (f Finding) String() string { return string(f.Kind) + ": " + f.Subject + ": " + f.Detail }

// The safety checks, by name, in report order.
const (
	CheckSecrets      = "plain-text secrets"
	CheckRole         = "execution role"
	CheckEventSources = "event-source mappings"
	CheckPublic       = "public old versions"
)

// SafetyStatus is the outcome of one safety check.
type SafetyStatus string

const (
	// SafetyPassed: the check ran and found nothing.
	SafetyPassed SafetyStatus = "passed"
	// SafetyFound: the check ran and reported findings.
	SafetyFound SafetyStatus = "found"
	// SafetyNotChecked: the check could not run (the provider lacks the
	// optional interface it needs, or answered provider.ErrUnsupported,
	// or there was no provider). It says nothing either way.
	SafetyNotChecked SafetyStatus = "not checked"
)

// SafetyCheck is one check of a ConfigReport and its status.
type SafetyCheck struct {
	Name   string       `json:"name"`
	Status SafetyStatus `json:"status"`
	// Detail says why a check was not made.
	Detail string `json:"detail,omitempty"`
}

// Check returns the check named name and whether the report has it.
func (r ConfigReport) Check(name string) (SafetyCheck, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return SafetyCheck{}, false
}

// String renders the report as text: the differences, the findings and
// the checks, one per line. No environment value appears in it.
func (r ConfigReport) String() string {
	var b strings.Builder
	head := r.A + " → " + r.B
	if r.Function != "" {
		head = fmt.Sprintf("%s: %s (version %s) → %s (version %s)", r.Function, r.A, r.AVersion, r.B, r.BVersion)
	}
	b.WriteString(head + "\n")
	if len(r.Differences) == 0 {
		b.WriteString("  no differences\n")
	}
	for _, d := range r.Differences {
		b.WriteString("  " + d.String() + "\n")
	}
	if len(r.Findings) > 0 {
		b.WriteString("findings:\n")
		for _, f := range r.Findings {
			b.WriteString("  " + f.String() + "\n")
		}
	}
	b.WriteString("checks:\n")
	for _, c := range r.Checks {
		b.WriteString("  " + c.Name + ": " + string(c.Status))
		if c.Detail != "" {
			b.WriteString(" (" + c.Detail + ")")
		}
		b.WriteString("\n")
	}
	return b.String()
}

const (
	absent   = "(absent)"
	set      = "(set)"
	masked   = "(masked)"
	defaultV = "(default)"
)

// CompareConfig compares a desired configuration with an actual one: the
// Differences from want to got, and the checks that need no provider
// (plain-text secrets on both sides, a changed execution role). The
// event-source and public-version checks need a provider and are reported
// as not checked; use Compare for them.
//
// A nil and an empty Environment are alike; zero fields show as
// "(default)".
func CompareConfig(want, got provider.Config) ConfigReport {
	r := ConfigReport{A: "want", B: "got"}
	r.Differences = diffConfig(want, got)
	r.configChecks(want, got)
	r.Checks = append(r.Checks,
		SafetyCheck{Name: CheckEventSources, Status: SafetyNotChecked, Detail: "configurations only: no provider"},
		SafetyCheck{Name: CheckPublic, Status: SafetyNotChecked, Detail: "configurations only: no provider"})
	return r
}

// configChecks adds the secret and role checks of configurations a and b.
func (r *ConfigReport) configChecks(a, b provider.Config) {
	var secrets []Finding
	for _, side := range []struct {
		name string
		env  map[string]string
	}{{r.A, a.Environment}, {r.B, b.Environment}} {
		for _, k := range slices.Sorted(maps.Keys(side.env)) {
			if LooksLikePlainSecret(k, side.env[k]) {
				secrets = append(secrets, Finding{Kind: FindingPlainSecret, Subject: side.name + " environment " + k,
					Detail: "literal value instead of a secret-manager reference"})
			}
		}
	}
	r.add(CheckSecrets, secrets)
	var role []Finding
	if a.Role != b.Role {
		role = append(role, Finding{Kind: FindingRoleChanged, Subject: "role", Detail: orDefault(a.Role) + " → " + orDefault(b.Role)})
	}
	r.add(CheckRole, role)
}

// add records a check that ran, with its findings.
func (r *ConfigReport) add(name string, fs []Finding) {
	st := SafetyPassed
	if len(fs) > 0 {
		st = SafetyFound
	}
	r.Findings = append(r.Findings, fs...)
	r.Checks = append(r.Checks, SafetyCheck{Name: name, Status: st})
}

// Compare reports the drift between two stages of fn and the safety of
// its setup: the configuration of the version stageA sends its traffic to
// (the route's primary version) against stageB's, the secret and role
// checks on both, and, where the provider can answer:
//
//   - event-source mappings (provider.EventSourceLister) whose qualifier is
//     a version rather than an alias or the unqualified function (a
//     qualifier that is not the name of one of fn's routes, and is not
//     "$LATEST", counts as a version);
//   - versions no route references that anyone may invoke
//     (provider.PermissionReader, asked for each such version).
//
// A provider without one of those interfaces, or that answers
// provider.ErrUnsupported, gets that check reported as SafetyNotChecked.
//
// Errors: provider.ErrNotFound (wrapped) when fn or a stage does not
// exist, provider.ErrInvalid for empty names, and the provider's other
// errors, wrapped; no partial report is returned.
func Compare(ctx context.Context, p provider.Provider, fn, stageA, stageB string) (ConfigReport, error) {
	for _, n := range []struct{ field, v string }{{"function", fn}, {"stageA", stageA}, {"stageB", stageB}} {
		if err := provider.CheckName(n.field, n.v); err != nil {
			return ConfigReport{}, err
		}
	}
	routes, err := p.Routes(ctx, fn)
	if err != nil {
		return ConfigReport{}, fmt.Errorf("release: compare %s: %w", fn, err)
	}
	va, err := stageVersion(ctx, p, fn, stageA, routes)
	if err != nil {
		return ConfigReport{}, err
	}
	vb, err := stageVersion(ctx, p, fn, stageB, routes)
	if err != nil {
		return ConfigReport{}, err
	}
	r := ConfigReport{Function: fn, A: stageA, B: stageB, AVersion: va.ID, BVersion: vb.ID}
	r.Differences = diffConfig(va.Config, vb.Config)
	r.configChecks(va.Config, vb.Config)
	if err := r.checkEventSources(ctx, p, fn, routes); err != nil {
		return ConfigReport{}, err
	}
	if err := r.checkPublic(ctx, p, fn, routes); err != nil {
		return ConfigReport{}, err
	}
	return r, nil
}

func stageVersion(ctx context.Context, p provider.Provider, fn, stage string, routes []provider.Route) (provider.Version, error) {
	for _, r := range routes {
		if r.Alias == stage {
			v, err := p.Version(ctx, fn, r.Primary())
			if err != nil {
				return provider.Version{}, fmt.Errorf("release: compare %s: stage %q: %w", fn, stage, err)
			}
			return v, nil
		}
	}
	return provider.Version{}, fmt.Errorf("release: compare %s: stage %q: %w", fn, stage, provider.ErrNotFound)
}

func (r *ConfigReport) notChecked(name, detail string) {
	r.Checks = append(r.Checks, SafetyCheck{Name: name, Status: SafetyNotChecked, Detail: detail})
}

func (r *ConfigReport) checkEventSources(ctx context.Context, p provider.Provider, fn string, routes []provider.Route) error {
	el, ok := p.(provider.EventSourceLister)
	if !ok {
		r.notChecked(CheckEventSources, "the provider cannot list event sources")
		return nil
	}
	es, err := el.EventSources(ctx, fn)
	if errors.Is(err, provider.ErrUnsupported) {
		r.notChecked(CheckEventSources, err.Error())
		return nil
	}
	if err != nil {
		return fmt.Errorf("release: compare %s: event sources: %w", fn, err)
	}
	aliases := make(map[string]bool, len(routes))
	for _, rt := range routes {
		aliases[rt.Alias] = true
	}
	var fs []Finding
	for _, e := range es {
		if e.Qualifier == "" || e.Qualifier == "$LATEST" || aliases[e.Qualifier] {
			continue
		}
		fs = append(fs, Finding{Kind: FindingPinnedEventSource, Subject: "event source " + e.Source,
			Detail: fmt.Sprintf("mapping %s invokes version %s, not an alias", e.ID, e.Qualifier)})
	}
	r.add(CheckEventSources, fs)
	return nil
}

func (r *ConfigReport) checkPublic(ctx context.Context, p provider.Provider, fn string, routes []provider.Route) error {
	pr, ok := p.(provider.PermissionReader)
	if !ok {
		r.notChecked(CheckPublic, "the provider cannot read invoke permissions")
		return nil
	}
	var fs []Finding
	for v, err := range p.Versions(ctx, fn) {
		if err != nil {
			return fmt.Errorf("release: compare %s: versions: %w", fn, err)
		}
		if referenced(routes, v.ID) {
			continue
		}
		ps, err := pr.Permissions(ctx, fn, v.ID)
		switch {
		case errors.Is(err, provider.ErrUnsupported):
			r.notChecked(CheckPublic, err.Error())
			return nil
		case errors.Is(err, provider.ErrNotFound):
			continue // deleted since it was listed
		case err != nil:
			return fmt.Errorf("release: compare %s: permissions of version %s: %w", fn, v.ID, err)
		}
		for _, perm := range ps {
			if perm.Public {
				fs = append(fs, Finding{Kind: FindingPublicVersion, Subject: "version " + v.ID,
					Detail: fmt.Sprintf("statement %s lets %s %s", perm.ID, perm.Principal, perm.Action)})
			}
		}
	}
	r.add(CheckPublic, fs)
	return nil
}

func referenced(routes []provider.Route, id string) bool {
	for _, r := range routes {
		if r.References(id) {
			return true
		}
	}
	return false
}

// LooksLikePlainSecret reports whether the environment variable name=value
// looks like a secret stored in plain text: the name (in any case) ends in
// _SECRET, _TOKEN or _KEY, is SECRET or TOKEN, or contains PASSWORD or
// PASSWD, and the value is neither empty nor a reference to a secret
// manager. References are values starting with arn:aws:secretsmanager:,
// arn:aws:ssm:, {{resolve: or @Microsoft.KeyVault(, Secret Manager names
// projects/P/secrets/S (optionally /versions/V), and placeholders ${…}
// resolved at deploy time.
func LooksLikePlainSecret(name, value string) bool {
	n := strings.ToUpper(name)
	if !(strings.HasSuffix(n, "_SECRET") || strings.HasSuffix(n, "_TOKEN") || strings.HasSuffix(n, "_KEY") ||
		n == "SECRET" || n == "TOKEN" || strings.Contains(n, "PASSWORD") || strings.Contains(n, "PASSWD")) {
		return false
	}
	v := strings.TrimSpace(value)
	if v == "" {
		return false
	}
	// References to a secret kept elsewhere: a Secrets Manager or SSM
	// Parameter Store ARN, a CloudFormation dynamic reference, an Azure
	// Key Vault reference.
	for _, p := range [...]string{"arn:aws:secretsmanager:", "arn:aws:ssm:", "{{resolve:", "@Microsoft.KeyVault("} {
		if strings.HasPrefix(v, p) {
			return false
		}
	}
	if strings.HasPrefix(v, "${") && strings.HasSuffix(v, "}") {
		return false
	}
	return !isGCPSecretName(v)
}

// isGCPSecretName reports whether v is projects/P/secrets/S or
// projects/P/secrets/S/versions/V.
func isGCPSecretName(v string) bool {
	parts := strings.Split(v, "/")
	if len(parts) != 4 && len(parts) != 6 {
		return false
	}
	for _, p := range parts {
		if p == "" {
			return false
		}
	}
	return parts[0] == "projects" && parts[2] == "secrets" && (len(parts) == 4 || parts[4] == "versions")
}

// configView is provider.Config as compared: fields in report order, the
// environment never nil.
type configView struct {
	Runtime     string
	Handler     string
	MemoryMB    int
	Timeout     time.Duration
	Environment map[string]string
	Role        string
}

// fieldName returns the JSON name of a configView field.
func fieldName(goName string) string {
	switch goName {
	case "MemoryMB":
		return "memoryMB"
	case "Environment":
		return "environment"
	}
	return strings.ToLower(goName)
}

func view(c provider.Config) configView {
	env := c.Environment
	if env == nil {
		env = map[string]string{}
	}
	return configView{Runtime: c.Runtime, Handler: c.Handler, MemoryMB: c.MemoryMB, Timeout: c.Timeout, Environment: env, Role: c.Role}
}

// diffConfig compares a and b with go-cmp and turns every difference it
// reports into a Difference, masking environment values.
func diffConfig(a, b provider.Config) []Difference {
	var rep diffReporter
	cmp.Equal(view(a), view(b), cmp.Reporter(&rep))
	return rep.diffs
}

// diffReporter is a cmp.Reporter collecting differences.
type diffReporter struct {
	path  cmp.Path
	diffs []Difference
}

func (r *diffReporter) PushStep(ps cmp.PathStep) { r.path = append(r.path, ps) }

func (r *diffReporter) PopStep() { r.path = r.path[:len(r.path)-1] }

func (r *diffReporter) Report(rs cmp.Result) {
	if rs.Equal() {
		return
	}
	var field, name string
	for _, s := range r.path {
		switch s := s.(type) {
		case cmp.StructField:
			field = fieldName(s.Name())
		case cmp.MapIndex:
			name = s.Key().String()
		}
	}
	vx, vy := r.path.Last().Values()
	d := Difference{Field: field, Name: name}
	if field == "environment" {
		d.A, d.B = masked, masked
		if !vx.IsValid() {
			d.A, d.B = absent, set
		}
		if !vy.IsValid() {
			d.A, d.B = set, absent
		}
	} else {
		d.A, d.B = valueText(vx), valueText(vy)
	}
	r.diffs = append(r.diffs, d)
}

// valueText renders a non-environment field's value.
func valueText(v reflect.Value) string {
	if !v.IsValid() || v.IsZero() {
		return defaultV
	}
	switch x := v.Interface().(type) {
	case time.Duration:
		return x.String()
	case int:
		return strconv.Itoa(x)
	case string:
		return x
	}
	return fmt.Sprint(v.Interface())
}

func orDefault(s string) string {
	if s == "" {
		return defaultV
	}
	return s
}

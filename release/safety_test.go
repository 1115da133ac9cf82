package release_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
	"github.com/slipway-dev/slipway/release"
)

func TestLooksLikePlainSecret(t *testing.T) {
	tests := []struct {
		name, value string
		want        bool
	}{
		{"DB_PASSWORD", "hunter2", true},
		{"db_password", "hunter2", true},
		{"PASSWORD", "hunter2", true},
		{"SMTP_PASSWD", "x", true},
		{"API_TOKEN", "tok", true},
		{"STRIPE_SECRET", "sk_live_1", true},
		{"AWS_SECRET_ACCESS_KEY", "abc", true},
		{"API_KEY", "abc", true},
		{"SECRET", "abc", true},
		{"TOKEN", "abc", true},
		{"API_KEY", "", false},
		{"API_KEY", "   ", false},
		{"DB_PASSWORD", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf", false},
		{"API_TOKEN", "arn:aws:ssm:eu-west-1:123456789012:parameter/api/token", false},
		{"API_TOKEN", "{{resolve:secretsmanager:api:SecretString:token}}", false},
		{"API_KEY", "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/api/)", false},
		{"API_KEY", "projects/acme/secrets/api-key", false},
		{"API_KEY", "projects/acme/secrets/api-key/versions/latest", false},
		{"API_KEY", "projects/acme/secrets/", true},
		{"API_KEY", "projects/acme/buckets/api-key", true},
		{"API_KEY", "${API_KEY}", false},
		{"API_KEY", "${API_KEY", true},
		{"API_KEY", "prefix-${API_KEY}", true},
		{"TOKEN_URL", "https://auth.example/token", false},
		{"KEYBOARD", "qwerty", false},
		{"LOG_LEVEL", "debug", false},
		{"SECRETS_BUCKET", "s3://x", false},
	}
	for _, tt := range tests {
		if got := release.LooksLikePlainSecret(tt.name, tt.value); got != tt.want {
			t.Errorf("LooksLikePlainSecret(%q, %q) = %v, want %v", tt.name, tt.value, got, tt.want)
		}
	}
}

func checks(secrets, role, events, public release.SafetyStatus, detail string) []release.SafetyCheck {
	cs := []release.SafetyCheck{
		{Name: release.CheckSecrets, Status: secrets},
		{Name: release.CheckRole, Status: role},
		{Name: release.CheckEventSources, Status: events},
		{Name: release.CheckPublic, Status: public},
	}
	for i := range cs {
		if cs[i].Status == release.SafetyNotChecked {
			cs[i].Detail = detail
		}
	}
	return cs
}

func TestCompareConfig(t *testing.T) {
	const (
		secretWant = "s3cr3t-want-value"
		secretGot  = "s3cr3t-got-value"
	)
	want := provider.Config{
		Runtime: "nodejs20.x", Handler: "index.handler", MemoryMB: 128, Timeout: 3 * time.Second,
		Environment: map[string]string{
			"DB_PASSWORD": "arn:aws:secretsmanager:eu-west-1:1:secret:db",
			"API_TOKEN":   secretWant,
			"LOG_LEVEL":   "info",
			"OLD_FLAG":    "1",
		},
		Role: "arn:aws:iam::1:role/fn",
	}
	got := provider.Config{
		Runtime: "nodejs22.x", Handler: "index.handler", MemoryMB: 256,
		Environment: map[string]string{
			"DB_PASSWORD": "arn:aws:secretsmanager:eu-west-1:1:secret:db",
			"API_TOKEN":   secretGot,
			"LOG_LEVEL":   "info",
			"NEW_KEY":     "n3w-k3y-value",
		},
		Role: "arn:aws:iam::1:role/admin",
	}
	r := release.CompareConfig(want, got)
	const noProvider = "configurations only: no provider"
	wantReport := release.ConfigReport{
		A: "want", B: "got",
		Differences: []release.Difference{
			{Field: "runtime", A: "nodejs20.x", B: "nodejs22.x"},
			{Field: "memoryMB", A: "128", B: "256"},
			{Field: "timeout", A: "3s", B: "(default)"},
			{Field: "environment", Name: "API_TOKEN", A: "(masked)", B: "(masked)"},
			{Field: "environment", Name: "NEW_KEY", A: "(absent)", B: "(set)"},
			{Field: "environment", Name: "OLD_FLAG", A: "(set)", B: "(absent)"},
			{Field: "role", A: "arn:aws:iam::1:role/fn", B: "arn:aws:iam::1:role/admin"},
		},
		Findings: []release.Finding{
			{Kind: release.FindingPlainSecret, Subject: "want environment API_TOKEN", Detail: "literal value instead of a secret-manager reference"},
			{Kind: release.FindingPlainSecret, Subject: "got environment API_TOKEN", Detail: "literal value instead of a secret-manager reference"},
			{Kind: release.FindingPlainSecret, Subject: "got environment NEW_KEY", Detail: "literal value instead of a secret-manager reference"},
			{Kind: release.FindingRoleChanged, Subject: "role", Detail: "arn:aws:iam::1:role/fn → arn:aws:iam::1:role/admin"},
		},
		Checks: checks(release.SafetyFound, release.SafetyFound, release.SafetyNotChecked, release.SafetyNotChecked, noProvider),
	}
	if diff := cmp.Diff(wantReport, r); diff != "" {
		t.Fatalf("CompareConfig (-want +got):\n%s", diff)
	}

	// No value of any environment variable appears in the text or JSON
	// forms of the report.
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{r.String(), string(js)} {
		for _, v := range []string{secretWant, secretGot, "n3w-k3y-value", "info", "arn:aws:secretsmanager"} {
			if strings.Contains(out, v) {
				t.Errorf("report shows environment value %q:\n%s", v, out)
			}
		}
	}

	// Equal configurations, nil and empty environments alike.
	same := release.CompareConfig(provider.Config{Runtime: "go", Environment: map[string]string{}}, provider.Config{Runtime: "go"})
	if len(same.Differences) != 0 || len(same.Findings) != 0 {
		t.Errorf("CompareConfig(equal) = %+v, want no differences or findings", same)
	}
	if diff := cmp.Diff(checks(release.SafetyPassed, release.SafetyPassed, release.SafetyNotChecked, release.SafetyNotChecked, noProvider), same.Checks); diff != "" {
		t.Errorf("CompareConfig(equal).Checks (-want +got):\n%s", diff)
	}
	// A nil environment against a set one reports each variable.
	added := release.CompareConfig(provider.Config{}, provider.Config{Environment: map[string]string{"A": "1", "B": "2"}, Handler: "main"})
	wantAdded := []release.Difference{
		{Field: "handler", A: "(default)", B: "main"},
		{Field: "environment", Name: "A", A: "(absent)", B: "(set)"},
		{Field: "environment", Name: "B", A: "(absent)", B: "(set)"},
	}
	if diff := cmp.Diff(wantAdded, added.Differences); diff != "" {
		t.Errorf("CompareConfig(nil env → set) (-want +got):\n%s", diff)
	}
}

// compareFixture publishes three versions of "fn" on a memory provider:
// 1 (production), 2 (staging) and 3 (routed nowhere), with event sources
// and permissions.
func compareFixture(t *testing.T) *memory.Provider {
	t.Helper()
	ctx := context.Background()
	p := newMemory(t)
	cfgs := []provider.Config{
		{Runtime: "go1.x", MemoryMB: 128, Role: "arn:aws:iam::1:role/fn", Environment: map[string]string{"DB_PASSWORD": "arn:aws:ssm:eu-west-1:1:parameter/db"}},
		{Runtime: "provided.al2023", MemoryMB: 128, Role: "arn:aws:iam::1:role/fn", Environment: map[string]string{"DB_PASSWORD": "hunter2"}},
		{Runtime: "go1.x", MemoryMB: 64},
	}
	for i, c := range cfgs {
		if _, err := p.Publish(ctx, "fn", provider.PublishInput{Artifact: zipArtifact(fmt.Sprint(i)), Config: c}); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []provider.Route{provider.To("production", "1"), provider.To("staging", "2")} {
		if _, err := p.SetRoute(ctx, "fn", r); err != nil {
			t.Fatal(err)
		}
	}
	p.SetEventSources("fn", []provider.EventSource{
		{ID: "m-1", Source: "arn:aws:sqs:eu-west-1:1:orders", Qualifier: "production"},
		{ID: "m-2", Source: "arn:aws:sqs:eu-west-1:1:legacy", Qualifier: "3"},
		{ID: "m-3", Source: "arn:aws:kinesis:eu-west-1:1:stream/clicks"},
	})
	public := []provider.Permission{{ID: "url", Principal: "*", Action: "lambda:InvokeFunctionUrl", Public: true}}
	p.SetPermissions("fn", "1", public) // routed: not an old version
	p.SetPermissions("fn", "3", append(public, provider.Permission{ID: "events", Principal: "events.amazonaws.com", Action: "lambda:InvokeFunction"}))
	return p
}

func TestCompare(t *testing.T) {
	p := compareFixture(t)
	r, err := release.Compare(context.Background(), p, "fn", "production", "staging")
	if err != nil {
		t.Fatalf("Compare: %v", err)
	}
	want := release.ConfigReport{
		Function: "fn", A: "production", B: "staging", AVersion: "1", BVersion: "2",
		Differences: []release.Difference{
			{Field: "runtime", A: "go1.x", B: "provided.al2023"},
			{Field: "environment", Name: "DB_PASSWORD", A: "(masked)", B: "(masked)"},
		},
		Findings: []release.Finding{
			{Kind: release.FindingPlainSecret, Subject: "staging environment DB_PASSWORD", Detail: "literal value instead of a secret-manager reference"},
			{Kind: release.FindingPinnedEventSource, Subject: "event source arn:aws:sqs:eu-west-1:1:legacy", Detail: "mapping m-2 invokes version 3, not an alias"},
			{Kind: release.FindingPublicVersion, Subject: "version 3", Detail: "statement url lets * lambda:InvokeFunctionUrl"},
		},
		Checks: checks(release.SafetyFound, release.SafetyPassed, release.SafetyFound, release.SafetyFound, ""),
	}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Fatalf("Compare (-want +got):\n%s", diff)
	}
	wantText := `fn: production (version 1) → staging (version 2)
  runtime: go1.x → provided.al2023
  environment DB_PASSWORD: value differs (masked)
findings:
  plain-text secret: staging environment DB_PASSWORD: literal value instead of a secret-manager reference
  event source pinned to a version: event source arn:aws:sqs:eu-west-1:1:legacy: mapping m-2 invokes version 3, not an alias
  old version publicly invocable: version 3: statement url lets * lambda:InvokeFunctionUrl
checks:
  plain-text secrets: found
  execution role: passed
  event-source mappings: found
  public old versions: found
`
	if got := r.String(); got != wantText {
		t.Errorf("String() =\n%s\nwant\n%s", got, wantText)
	}
	if strings.Contains(r.String(), "hunter2") {
		t.Error("the report shows a secret")
	}

	// Same stage on both sides: no differences, the same findings.
	self, err := release.Compare(context.Background(), p, "fn", "production", "production")
	if err != nil || len(self.Differences) != 0 {
		t.Errorf("Compare(production, production) = %+v, %v; want no differences", self, err)
	}
}

// A provider without the optional interfaces gets those checks reported as
// "not checked", never as passed, and no findings from them, even though
// the platform behind it has a pinned mapping and a public old version.
func TestCompareNotChecked(t *testing.T) {
	mem := compareFixture(t)
	bare := struct{ provider.Provider }{mem} // hides EventSources and Permissions
	tests := []struct {
		name   string
		p      provider.Provider
		detail []string // per check: event sources, public
	}{
		{"interfaces absent", bare, []string{"the provider cannot list event sources", "the provider cannot read invoke permissions"}},
		{"wrapper answers ErrUnsupported", provider.WithRetry(bare, provider.RetryPolicy{}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := release.Compare(context.Background(), tt.p, "fn", "production", "staging")
			if err != nil {
				t.Fatalf("Compare: %v", err)
			}
			for i, name := range []string{release.CheckEventSources, release.CheckPublic} {
				c, ok := r.Check(name)
				if !ok || c.Status != release.SafetyNotChecked || c.Status == release.SafetyPassed {
					t.Errorf("check %q = %+v, %v; want not checked", name, c, ok)
				}
				if tt.detail != nil && c.Detail != tt.detail[i] {
					t.Errorf("check %q detail = %q, want %q", name, c.Detail, tt.detail[i])
				}
				if tt.detail == nil && !strings.Contains(c.Detail, provider.ErrUnsupported.Error()) {
					t.Errorf("check %q detail = %q, want the ErrUnsupported error", name, c.Detail)
				}
			}
			for _, f := range r.Findings {
				if f.Kind == release.FindingPinnedEventSource || f.Kind == release.FindingPublicVersion {
					t.Errorf("finding %v from a check that was not made", f)
				}
			}
			if c, _ := r.Check(release.CheckSecrets); c.Status != release.SafetyFound {
				t.Errorf("secrets check = %+v, want found (it needs no optional interface)", c)
			}
			if !strings.Contains(r.String(), "event-source mappings: not checked (") {
				t.Errorf("String() does not say the event sources were not checked:\n%s", r)
			}
		})
	}
}

func TestCompareErrors(t *testing.T) {
	ctx := context.Background()
	p := compareFixture(t)
	tests := []struct {
		name     string
		fn, a, b string
		fault    *memory.Fault
		want     error
	}{
		{name: "unknown function", fn: "nope", a: "production", b: "staging", want: provider.ErrNotFound},
		{name: "unknown stage", fn: "fn", a: "production", b: "qa", want: provider.ErrNotFound},
		{name: "empty stage", fn: "fn", a: "", b: "staging", want: provider.ErrInvalid},
		{name: "empty function", fn: "", a: "production", b: "staging", want: provider.ErrInvalid},
		{name: "event sources throttled", fn: "fn", a: "production", b: "staging", want: provider.ErrThrottled,
			fault: &memory.Fault{Ops: []string{memory.OpEventSources}, Err: &provider.ThrottleError{}, Count: 1}},
		{name: "permissions unavailable", fn: "fn", a: "production", b: "staging", want: provider.ErrUnavailable,
			fault: &memory.Fault{Ops: []string{memory.OpPermissions}, Err: provider.ErrUnavailable, Count: 1}},
		{name: "version read fails", fn: "fn", a: "production", b: "staging", want: provider.ErrUnavailable,
			fault: &memory.Fault{Ops: []string{memory.OpVersion}, Err: provider.ErrUnavailable, Count: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fault != nil {
				p.Inject(*tt.fault)
				defer p.ClearFaults()
			}
			r, err := release.Compare(ctx, p, tt.fn, tt.a, tt.b)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Compare = %+v, %v; want an error wrapping %v", r, err, tt.want)
			}
		})
	}
}

func ExampleCompareConfig() {
	want := provider.Config{
		Runtime:  "nodejs20.x",
		MemoryMB: 256,
		Role:     "arn:aws:iam::123456789012:role/orders",
		Environment: map[string]string{
			"DB_PASSWORD": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders-db",
			"LOG_LEVEL":   "info",
		},
	}
	got := provider.Config{
		Runtime:  "nodejs22.x",
		MemoryMB: 256,
		Role:     "arn:aws:iam::123456789012:role/admin",
		Environment: map[string]string{
			"DB_PASSWORD": "hunter2",
			"LOG_LEVEL":   "debug",
		},
	}
	fmt.Print(release.CompareConfig(want, got))
	// Output:
	// want → got
	//   runtime: nodejs20.x → nodejs22.x
	//   environment DB_PASSWORD: value differs (masked)
	//   environment LOG_LEVEL: value differs (masked)
	//   role: arn:aws:iam::123456789012:role/orders → arn:aws:iam::123456789012:role/admin
	// findings:
	//   plain-text secret: got environment DB_PASSWORD: literal value instead of a secret-manager reference
	//   execution role changed: role: arn:aws:iam::123456789012:role/orders → arn:aws:iam::123456789012:role/admin
	// checks:
	//   plain-text secrets: found
	//   execution role: found
	//   event-source mappings: not checked (configurations only: no provider)
	//   public old versions: not checked (configurations only: no provider)
}

package awslambda_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/awslambda"
	"github.com/slipway-dev/slipway/provider/awslambda/awslambdatest"
	"github.com/slipway-dev/slipway/provider/awslambda/lambdatest"
)

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestPublish_CreatesAVersionWithLabelsAndWaitsForTheUpdate(t *testing.T) {
	e := awslambdatest.New(t, lambdatest.Options{SettlePolls: 3}, awslambda.Options{PollInterval: 2 * time.Second})
	ctx := context.Background()
	in := awslambdatest.Zip("v1 code")
	in.Description = "first release"
	in.Labels = map[string]string{provider.LabelSemver: "1.0.0", provider.LabelCommit: "abc123"}
	start := e.Clock.Now()
	v, err := e.Provider.Publish(ctx, fn, in)
	if err != nil {
		t.Fatal(err)
	}
	want := provider.Version{
		ID: "1", CodeSHA256: hexSHA([]byte("v1 code")),
		Config:      provider.Config{Runtime: "provided.al2023", Handler: "bootstrap", MemoryMB: 128, Timeout: 3 * time.Second, Role: role},
		Description: "first release", Labels: in.Labels, Created: v.Created,
	}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Fatalf("Publish (-want +got):\n%s", diff)
	}
	// SettlePolls 3: three reads still InProgress, the fourth Successful,
	// each after one PollInterval of virtual time.
	awslambdatest.OpsEqual(t, "publish", e.Ops(), "ListVersionsByFunction", "GetFunctionConfiguration", "UpdateFunctionCode",
		"GetFunctionConfiguration", "GetFunctionConfiguration", "GetFunctionConfiguration", "GetFunctionConfiguration", "PublishVersion")
	if waited := e.Clock.Now().Sub(start); waited != 8*time.Second {
		t.Fatalf("virtual time waited = %s, want 4 polls × 2s", waited)
	}
	got, err := e.Provider.Version(ctx, fn, "1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(v, got); diff != "" {
		t.Fatalf("Version(1) (-publish +version):\n%s", diff)
	}
}

func TestPublish_Idempotent(t *testing.T) {
	e := awslambdatest.New(t, lambdatest.Options{}, awslambda.Options{})
	ctx := context.Background()
	a, b := awslambdatest.Zip("code A"), awslambdatest.Zip("code B")
	a.Labels = map[string]string{provider.LabelSemver: "1.0.0"}
	v1, err := e.Provider.Publish(ctx, fn, a)
	if err != nil {
		t.Fatal(err)
	}
	e.Ops()

	// The same code and configuration again: the existing version, found
	// by listing, with no write at all.
	retry := a
	retry.Labels = map[string]string{provider.LabelSemver: "9.9.9"}
	again, err := e.Provider.Publish(ctx, fn, retry)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != v1.ID || again.Labels[provider.LabelSemver] != "1.0.0" {
		t.Fatalf("republish = %+v, want version %s unchanged", again, v1.ID)
	}
	awslambdatest.OpsEqual(t, "republish", e.Ops(), "ListVersionsByFunction")

	v2, err := e.Provider.Publish(ctx, fn, b)
	if err != nil || v2.ID != "2" {
		t.Fatalf("Publish B = %+v, %v", v2, err)
	}
	// Code A again after B: version 1 has it, so version 1 is returned
	// (Lambda itself would publish a version 3).
	back, err := e.Provider.Publish(ctx, fn, a)
	if err != nil || back.ID != "1" {
		t.Fatalf("Publish A after B = %+v, %v; want version 1", back, err)
	}
	// Code A with another memory size is another version.
	withMem := a
	withMem.Config.MemoryMB = 256
	v3, err := e.Provider.Publish(ctx, fn, withMem)
	if err != nil || v3.ID != "3" || v3.Config.MemoryMB != 256 {
		t.Fatalf("Publish A at 256 MB = %+v, %v", v3, err)
	}
	e.Ops()
	// The same again: version 3, not version 1 (whose memory is 128 MB).
	if v, err := e.Provider.Publish(ctx, fn, withMem); err != nil || v.ID != "3" {
		t.Fatalf("republish at 256 MB = %+v, %v", v, err)
	}
	awslambdatest.OpsEqual(t, "republish at 256 MB", e.Ops(), "ListVersionsByFunction")
}

func TestPublish_ConfigurationUpdateIsAppliedThenPublished(t *testing.T) {
	e := awslambdatest.New(t, lambdatest.Options{}, awslambda.Options{})
	in := awslambdatest.Zip("code")
	in.Config = provider.Config{MemoryMB: 512, Timeout: 30 * time.Second, Environment: map[string]string{"MODE": "canary"}}
	v, err := e.Provider.Publish(context.Background(), fn, in)
	if err != nil {
		t.Fatal(err)
	}
	want := provider.Config{Runtime: "provided.al2023", Handler: "bootstrap", Role: role, MemoryMB: 512, Timeout: 30 * time.Second, Environment: map[string]string{"MODE": "canary"}}
	if diff := cmp.Diff(want, v.Config); diff != "" {
		t.Fatalf("Config (-want +got):\n%s", diff)
	}
	awslambdatest.OpsEqual(t, "publish", e.Ops(), "ListVersionsByFunction", "GetFunctionConfiguration", "UpdateFunctionCode", "GetFunctionConfiguration",
		"GetFunctionConfiguration", "UpdateFunctionConfiguration", "GetFunctionConfiguration", "GetFunctionConfiguration", "PublishVersion")
}

func TestPublish_S3AndImageSources(t *testing.T) {
	e := awslambdatest.New(t, lambdatest.Options{}, awslambda.Options{})
	ctx := context.Background()
	pkg := []byte("package in s3")
	e.Server.PutObject("artifacts", "checkout/1.zip", pkg)

	// Without SHA256 the hash is learnt from the upload.
	v, err := e.Provider.Publish(ctx, fn, provider.PublishInput{Artifact: provider.Artifact{URI: "s3://artifacts/checkout/1.zip"}})
	if err != nil || v.CodeSHA256 != hexSHA(pkg) {
		t.Fatalf("Publish s3 = %+v, %v", v, err)
	}
	// With SHA256 a retry is recognised before any write.
	e.Ops()
	again, err := e.Provider.Publish(ctx, fn, provider.PublishInput{Artifact: provider.Artifact{URI: "s3://artifacts/checkout/1.zip?versionId=3", SHA256: hexSHA(pkg)}})
	if err != nil || again.ID != v.ID {
		t.Fatalf("republish s3 = %+v, %v", again, err)
	}
	awslambdatest.OpsEqual(t, "republish s3", e.Ops(), "ListVersionsByFunction")

	for _, bad := range []string{"https://example.com/x.zip", "s3://bucket-only", "s3:///key"} {
		_, err := e.Provider.Publish(ctx, fn, provider.PublishInput{Artifact: provider.Artifact{URI: bad}})
		var ie *provider.InvalidError
		if !errors.As(err, &ie) || ie.Field != "artifact.uri" {
			t.Errorf("Publish %q = %v, want ErrInvalid naming artifact.uri", bad, err)
		}
	}
	if calls := e.Ops(); len(calls) != 0 {
		t.Fatalf("invalid URIs made calls: %v", calls)
	}

	// An image function: CodeSha256 is the digest.
	const image = "checkout-img"
	digest := strings.Repeat("ab", 32)
	if err := e.Server.CreateFunction(image, lambdatest.FunctionSpec{Image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout@sha256:" + strings.Repeat("00", 32)}); err != nil {
		t.Fatal(err)
	}
	iv, err := e.Provider.Publish(ctx, image, provider.PublishInput{Artifact: provider.Artifact{Image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout@sha256:" + digest}})
	if err != nil || iv.CodeSHA256 != digest {
		t.Fatalf("Publish image = %+v, %v", iv, err)
	}
}

func TestPublish_InvalidInputMakesNoCall(t *testing.T) {
	e := awslambdatest.New(t, lambdatest.Options{}, awslambda.Options{})
	long := awslambdatest.Zip("x")
	long.Description = strings.Repeat("d", 250)
	long.Labels = map[string]string{provider.LabelSemver: "1.2.3"}
	tests := []struct {
		name  string
		fn    string
		in    provider.PublishInput
		field string
	}{
		{"no function", "", awslambdatest.Zip("x"), "function"},
		{"no artifact", fn, provider.PublishInput{}, "artifact"},
		{"sha mismatch", fn, provider.PublishInput{Artifact: provider.Artifact{Zip: []byte("x"), SHA256: strings.Repeat("0", 64)}}, "artifact.sha256"},
		{"fractional timeout", fn, provider.PublishInput{Artifact: provider.Artifact{Zip: []byte("x")}, Config: provider.Config{Timeout: 1500 * time.Millisecond}}, "config.timeout"},
		{"description too long with labels", fn, long, "description"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.Provider.Publish(context.Background(), tt.fn, tt.in)
			var ie *provider.InvalidError
			if !errors.Is(err, provider.ErrInvalid) || !errors.As(err, &ie) || ie.Field != tt.field {
				t.Fatalf("Publish = %v, want ErrInvalid naming %q", err, tt.field)
			}
			if calls := e.Ops(); len(calls) != 0 {
				t.Fatalf("calls made: %v", calls)
			}
		})
	}
}

func TestPublish_ContextEndsTheWait(t *testing.T) {
	e := awslambdatest.New(t, lambdatest.Options{SettlePolls: 1000}, awslambda.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	polls := 0
	e.Provider = awslambda.NewFromClients(e.Server.LambdaClient(awslambdatest.NoRetry), nil, awslambda.Options{Sleep: func(ctx context.Context, d time.Duration) error {
		if polls++; polls == 5 {
			cancel()
		}
		return e.Clock.Sleep(ctx, d)
	}})
	_, err := e.Provider.Publish(ctx, fn, awslambdatest.Zip("slow"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish = %v, want context.Canceled", err)
	}
	for _, op := range e.Server.Ops() {
		if op == "PublishVersion" {
			t.Fatal("published after the context ended")
		}
	}
}

func TestPublish_ConcurrentUpdateIsAConflict(t *testing.T) {
	// Another writer's update is in progress when Publish wants to publish:
	// Lambda answers 409 to UpdateFunctionCode, mapped to ErrConflict.
	e := awslambdatest.New(t, lambdatest.Options{Fault: func(op string) *lambdatest.Fault {
		if op == "UpdateFunctionCode" {
			return &lambdatest.Fault{Status: 409, Code: "ResourceConflictException", Message: "An update is in progress"}
		}
		return nil
	}}, awslambda.Options{})
	_, err := e.Provider.Publish(context.Background(), fn, awslambdatest.Zip("x"))
	if !errors.Is(err, provider.ErrConflict) {
		t.Fatalf("Publish = %v, want ErrConflict", err)
	}
}

func TestVersions_PagesOver120VersionsOldestFirst(t *testing.T) {
	e := awslambdatest.New(t, lambdatest.Options{SettlePolls: -1}, awslambda.Options{})
	ctx := context.Background()
	for i := range 120 {
		if _, err := e.Provider.Publish(ctx, fn, awslambdatest.Zip(fmt.Sprint("code ", i))); err != nil {
			t.Fatal(err)
		}
	}
	e.Ops()
	var ids []string
	for v, err := range e.Provider.Versions(ctx, fn) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
	}
	if len(ids) != 120 || ids[0] != "1" || ids[119] != "120" {
		t.Fatalf("Versions = %d ids from %v", len(ids), ids[:min(3, len(ids))])
	}
	awslambdatest.OpsEqual(t, "versions", e.Ops(), "ListVersionsByFunction", "ListVersionsByFunction", "ListVersionsByFunction")

	// Stopping early stops paging.
	for range e.Provider.Versions(ctx, fn) {
		break
	}
	awslambdatest.OpsEqual(t, "versions, one taken", e.Ops(), "ListVersionsByFunction")
}

func TestVersion_NotFound(t *testing.T) {
	e := awslambdatest.New(t, lambdatest.Options{}, awslambda.Options{})
	ctx := context.Background()
	for _, id := range []string{"7", "$LATEST", "live"} {
		if _, err := e.Provider.Version(ctx, fn, id); !errors.Is(err, provider.ErrNotFound) {
			t.Errorf("Version(%q) = %v, want ErrNotFound", id, err)
		}
	}
	if _, err := e.Provider.Version(ctx, "nope", "1"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Version of a missing function = %v, want ErrNotFound", err)
	}
	for _, err := range e.Provider.Versions(ctx, "nope") {
		if !errors.Is(err, provider.ErrNotFound) {
			t.Errorf("Versions of a missing function = %v, want ErrNotFound", err)
		}
	}
}

func TestPublish_FailedUpdateStopsWithLambdasReason(t *testing.T) {
	for _, tt := range []struct {
		code string
		want error
	}{{"InvalidZipFileException", provider.ErrInvalid}, {"InternalError", provider.ErrUnavailable}} {
		t.Run(tt.code, func(t *testing.T) {
			e := awslambdatest.New(t, lambdatest.Options{SettlePolls: 2, FailUpdate: func(fn, op string) *lambdatest.UpdateFailure {
				return &lambdatest.UpdateFailure{ReasonCode: tt.code, Reason: "Could not unzip uploaded file."}
			}}, awslambda.Options{})
			_, err := e.Provider.Publish(context.Background(), fn, awslambdatest.Zip("broken"))
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), "Could not unzip uploaded file.") || !strings.Contains(err.Error(), tt.code) {
				t.Fatalf("Publish = %v, want %v with Lambda's reason", err, tt.want)
			}
			awslambdatest.OpsEqual(t, "failed publish", e.Ops(), "ListVersionsByFunction", "GetFunctionConfiguration", "UpdateFunctionCode",
				"GetFunctionConfiguration", "GetFunctionConfiguration", "GetFunctionConfiguration")
		})
	}
}

// The adapter's debug log names functions, aliases and versions, never the
// credentials or the code.
func TestLogsCarryNoCredentialsOrCode(t *testing.T) {
	var buf strings.Builder
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := awslambdatest.New(t, lambdatest.Options{}, awslambda.Options{Logger: logger})
	ctx := context.Background()
	v, err := e.Provider.Publish(ctx, fn, awslambdatest.Zip("secret-code-bytes"))
	must(t, err)
	_, err = e.Provider.SetRoute(ctx, fn, provider.To("live", v.ID))
	must(t, err)
	out := buf.String()
	if !strings.Contains(out, "awslambda: publish") || !strings.Contains(out, "awslambda: set route") {
		t.Fatalf("log lacks the steps:\n%s", out)
	}
	for _, secret := range []string{"AKIDLAMBDATEST", "lambdatest-secret", "secret-code-bytes", "Authorization", "Signature"} {
		if strings.Contains(out, secret) {
			t.Fatalf("log contains %q:\n%s", secret, out)
		}
	}
}

// PublishVersion's CodeSha256 precondition failing means $LATEST changed
// after the upload: a concurrent writer, ErrConflict (not ErrInvalid).
func TestPublish_CodeSha256PreconditionFailureIsAConflict(t *testing.T) {
	e := awslambdatest.New(t, lambdatest.Options{Fault: func(op string) *lambdatest.Fault {
		if op == "PublishVersion" {
			return &lambdatest.Fault{Status: 400, Code: "InvalidParameterValueException",
				Message: "CodeSHA256 (a) is different from current CodeSHA256 in $LATEST (b). Please try again with the CodeSHA256 in $LATEST."}
		}
		return nil
	}}, awslambda.Options{})
	_, err := e.Provider.Publish(context.Background(), fn, awslambdatest.Zip("x"))
	if !errors.Is(err, provider.ErrConflict) || errors.Is(err, provider.ErrInvalid) {
		t.Fatalf("Publish = %v, want ErrConflict only", err)
	}
}

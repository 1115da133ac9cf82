package awslambda_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/awslambda"
	"github.com/slipway-dev/slipway/provider/awslambda/awslambdatest"
	"github.com/slipway-dev/slipway/provider/awslambda/lambdatest"
)

// Every basis-point value survives the conversion to Lambda's float weight
// and back, including through its JSON text (Go's shortest round-trip
// formatting, as the SDK's encoder writes doubles).
func TestWeightRoundTripIsExactForEveryBasisPoint(t *testing.T) {
	for bp := 0; bp <= provider.AllTraffic; bp++ {
		w := awslambda.WeightOf(bp)
		if w < 0 || w > 1 {
			t.Fatalf("WeightOf(%d) = %v, outside Lambda's 0.0–1.0", bp, w)
		}
		if got := awslambda.BasisPointsOf(w); got != bp {
			t.Fatalf("BasisPointsOf(WeightOf(%d)) = %d", bp, got)
		}
		b, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		var back float64
		if err := json.Unmarshal(b, &back); err != nil || back != w {
			t.Fatalf("weight %v did not survive JSON %s: %v", w, b, back)
		}
	}
	// Worked numbers of the doc comment.
	for _, tt := range []struct {
		bp int
		w  float64
	}{{500, 0.05}, {1, 0.0001}, {1000, 0.1}, {9999, 0.9999}} {
		if got := awslambda.WeightOf(tt.bp); got != tt.w {
			t.Errorf("WeightOf(%d) = %v, want %v", tt.bp, got, tt.w)
		}
	}
	// A weight another tool wrote in finer steps is rounded to the nearest.
	if got := awslambda.BasisPointsOf(0.123456); got != 1235 {
		t.Errorf("BasisPointsOf(0.123456) = %d, want 1235", got)
	}
}

// A sample of weights through the SDK and the emulator: what SetRoute
// writes, Route reads back exactly.
func TestWeightRoundTripThroughTheAPI(t *testing.T) {
	e := awslambdatest.New(t, lambdatest.Options{SettlePolls: -1}, awslambda.Options{})
	ctx := context.Background()
	e.PublishN(t, 2)
	cur, err := e.Provider.SetRoute(ctx, fn, provider.To("live", "1"))
	if err != nil {
		t.Fatal(err)
	}
	for bp := 1; bp < provider.AllTraffic; bp += 97 {
		want := provider.Split("live", "1", "2", bp)
		want.Revision = cur.Revision
		if cur, err = e.Provider.SetRoute(ctx, fn, want); err != nil {
			t.Fatal(err)
		}
		got, err := e.Provider.Route(ctx, fn, "live")
		if err != nil {
			t.Fatal(err)
		}
		if got.Share("2") != bp || got.Share("1") != provider.AllTraffic-bp {
			t.Fatalf("wrote %d bp, read back %+v", bp, got.Weights)
		}
	}
}

func TestDescriptionEncoding(t *testing.T) {
	tests := []struct {
		name   string
		desc   string
		labels map[string]string
		stored string
	}{
		{"plain", "hotfix for checkout", nil, "hotfix for checkout"},
		{"empty", "", nil, ""},
		{"labels", "release", map[string]string{provider.LabelSemver: "1.4.0", provider.LabelCommit: "9fceb02"},
			`slipway:{"d":"release","l":{"slipway.dev/commit":"9fceb02","slipway.dev/semver":"1.4.0"}}`},
		{"labels only", "", map[string]string{"team": "payments"}, `slipway:{"l":{"team":"payments"}}`},
		{"prefix in a plain description", "slipway: note", nil, `slipway:{"d":"slipway: note"}`},
		{"html kept", "a<b & c>d", map[string]string{"k": "<v>"}, `slipway:{"d":"a<b & c>d","l":{"k":"<v>"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := awslambda.EncodeDescription(tt.desc, tt.labels)
			if err != nil || got != tt.stored {
				t.Fatalf("EncodeDescription = %q, %v; want %q", got, err, tt.stored)
			}
			d, l := awslambda.DecodeDescription(got)
			if d != tt.desc || !cmp.Equal(l, tt.labels) {
				t.Fatalf("DecodeDescription(%q) = %q, %v", got, d, l)
			}
		})
	}
	// Descriptions written by other tools read back as they are.
	for _, s := range []string{"slipway:", "slipway:{not json", `slipway:{"x":1}`, `slipway:{"d":"a"} trailing`} {
		if d, l := awslambda.DecodeDescription(s); d != s || l != nil {
			t.Errorf("DecodeDescription(%q) = %q, %v; want it unchanged", s, d, l)
		}
	}
	// Lambda's limit is 256 characters, counted as characters, not bytes.
	if _, err := awslambda.EncodeDescription(strings.Repeat("é", awslambda.MaxDescription), nil); err != nil {
		t.Errorf("256 two-byte characters refused: %v", err)
	}
	_, err := awslambda.EncodeDescription(strings.Repeat("x", 240), map[string]string{provider.LabelSemver: "1.0.0"})
	var ie *provider.InvalidError
	if !errors.As(err, &ie) || ie.Field != "description" {
		t.Errorf("over-long encoding = %v, want ErrInvalid naming description", err)
	}
}

// FuzzDescriptionRoundTrip: whatever fits, reads back as written.
func FuzzDescriptionRoundTrip(f *testing.F) {
	f.Add("release", "slipway.dev/semver", "1.0.0")
	f.Add("slipway:", "", "")
	f.Add("", "k", "")
	f.Fuzz(func(t *testing.T, desc, k, v string) {
		var labels map[string]string
		if k != "" {
			labels = map[string]string{k: v}
		}
		s, err := awslambda.EncodeDescription(desc, labels)
		if err != nil {
			return
		}
		d, l := awslambda.DecodeDescription(s)
		if !strings.ContainsRune(desc+k+v, '\uFFFD') && (d != desc || !cmp.Equal(l, labels)) {
			t.Fatalf("%q %v → %q → %q %v", desc, labels, s, d, l)
		}
	})
}

// Error translation: each Lambda error code reaches the caller as the
// contract's sentinel with the SDK's error still in the chain.
func TestErrorMapping(t *testing.T) {
	tests := []struct {
		code   string
		status int
		want   error
	}{
		{"ResourceNotFoundException", 404, provider.ErrNotFound},
		{"PreconditionFailedException", 412, provider.ErrConflict},
		{"ResourceConflictException", 409, provider.ErrConflict},
		{"InvalidParameterValueException", 400, provider.ErrInvalid},
		{"ValidationException", 400, provider.ErrInvalid},
		{"CodeStorageExceededException", 400, provider.ErrUnsupported},
		{"ServiceException", 500, provider.ErrUnavailable},
		{"EC2UnexpectedException", 502, provider.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			e := awslambdatest.New(t, lambdatest.Options{Fault: func(op string) *lambdatest.Fault {
				if op == "GetAlias" {
					return &lambdatest.Fault{Status: tt.status, Code: tt.code}
				}
				return nil
			}}, awslambda.Options{})
			_, err := e.Provider.Route(context.Background(), fn, "live")
			if !errors.Is(err, tt.want) {
				t.Fatalf("Route = %v, want %v", err, tt.want)
			}
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != tt.code {
				t.Fatalf("SDK error missing from %v", err)
			}
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.Function != fn || !strings.HasPrefix(err.Error(), "awslambda: route checkout: ") {
				t.Fatalf("error %q does not name the operation and function", err)
			}
		})
	}
	t.Run("AccessDeniedException has no sentinel", func(t *testing.T) {
		e := awslambdatest.New(t, lambdatest.Options{Fault: func(op string) *lambdatest.Fault {
			return &lambdatest.Fault{Status: 403, Code: "AccessDeniedException"}
		}}, awslambda.Options{})
		_, err := e.Provider.Route(context.Background(), fn, "live")
		for _, s := range []error{provider.ErrNotFound, provider.ErrConflict, provider.ErrInvalid, provider.ErrUnavailable, provider.ErrThrottled} {
			if errors.Is(err, s) {
				t.Fatalf("Route = %v, matched %v", err, s)
			}
		}
		if provider.Retryable(err) {
			t.Fatal("an access refusal must not be retried")
		}
	})
}

func TestThrottleCarriesRetryAfter(t *testing.T) {
	e := awslambdatest.New(t, lambdatest.Options{Throttle: func(op string) (time.Duration, bool) {
		return 2500 * time.Millisecond, op == "UpdateAlias"
	}}, awslambda.Options{})
	ctx := context.Background()
	e.PublishN(t, 1)
	r, err := e.Provider.SetRoute(ctx, fn, provider.To("live", "1"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Provider.SetRoute(ctx, fn, r)
	var te *provider.ThrottleError
	var tmr *types.TooManyRequestsException
	if !errors.Is(err, provider.ErrThrottled) || !errors.As(err, &te) || !errors.As(err, &tmr) {
		t.Fatalf("SetRoute = %v, want *provider.ThrottleError with TooManyRequestsException", err)
	}
	// The emulator rounds the hint up to whole seconds, as Retry-After is.
	if d, ok := provider.RetryAfter(err); !ok || d != 3*time.Second {
		t.Fatalf("RetryAfter = %v, %v; want 3s", d, ok)
	}
	if tmr.Reason != types.ThrottleReasonCallerRateLimitExceeded {
		t.Fatalf("Reason = %q", tmr.Reason)
	}

	// CloudWatch throttling ("Throttling", 400) is ErrThrottled too.
	cw := awslambdatest.New(t, lambdatest.Options{Throttle: func(op string) (time.Duration, bool) { return 0, op == "GetMetricData" }}, awslambda.Options{})
	t0 := provider.AlignDown(cw.Clock.Now(), time.Minute)
	cw.Clock.Advance(time.Hour)
	_, err = cw.Provider.Observe(ctx, provider.Query{Function: fn, Alias: "live", Versions: []string{"1"}, Start: t0, End: t0.Add(5 * time.Minute), Period: time.Minute})
	if !errors.Is(err, provider.ErrThrottled) {
		t.Fatalf("Observe = %v, want ErrThrottled", err)
	}
}

// The SDK's own retryer, as New configures it (one attempt), leaves
// retrying to provider.WithRetry, which honours the hint.
func TestWithRetryIsTheOnlyRetryLayer(t *testing.T) {
	throttles := 2
	e := awslambdatest.New(t, lambdatest.Options{Throttle: func(op string) (time.Duration, bool) {
		if op == "GetAlias" && throttles > 0 {
			throttles--
			return time.Second, true
		}
		return 0, false
	}}, awslambda.Options{})
	ctx := context.Background()
	e.PublishN(t, 1)
	if _, err := e.Provider.SetRoute(ctx, fn, provider.To("live", "1")); err != nil {
		t.Fatal(err)
	}
	e.Ops()
	var waits []time.Duration
	// New, pointed at the emulator by endpoint only.
	cfg := aws.Config{
		Region:       e.Server.Region(),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(e.Server.URL()),
	}
	p := provider.WithRetry(awslambda.New(cfg, awslambda.Options{}), provider.RetryPolicy{Sleep: func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return nil
	}, Jitter: func() float64 { return 0 }})
	if _, err := p.Route(ctx, fn, "live"); err != nil {
		t.Fatal(err)
	}
	awslambdatest.OpsEqual(t, "retried route", e.Ops(), "GetAlias", "GetAlias", "GetAlias")
	if !cmp.Equal(waits, []time.Duration{time.Second, time.Second}) {
		t.Fatalf("waits = %v, want the 1s Retry-After twice", waits)
	}
}

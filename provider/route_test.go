package provider

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRouteValidate(t *testing.T) {
	w := func(v string, bp int) Weight { return Weight{Version: v, BasisPoints: bp} }
	tests := []struct {
		name  string
		route Route
		field string // "" = valid
	}{
		{"all to one", To("prod", "3"), ""},
		{"canary split", Split("prod", "3", "4", 1000), ""},
		{"three way", Route{Alias: "a", Weights: []Weight{w("1", 5000), w("2", 2500), w("3", 2500)}}, ""},
		{"zero-weight secondary", Route{Alias: "a", Weights: []Weight{w("1", 10000), w("2", 0)}}, ""},
		{"empty alias", To("", "1"), "alias"},
		{"no weights", Route{Alias: "a"}, "weights"},
		{"empty version", Route{Alias: "a", Weights: []Weight{w("", 10000)}}, "weights[0].version"},
		{"negative", Route{Alias: "a", Weights: []Weight{w("1", 10000), w("2", -100)}}, "weights[1].basisPoints"},
		{"above 10000", Route{Alias: "a", Weights: []Weight{w("1", 10001)}}, "weights[0].basisPoints"},
		{"sum short", Route{Alias: "a", Weights: []Weight{w("1", 9000), w("2", 900)}}, "weights"},
		{"sum long", Route{Alias: "a", Weights: []Weight{w("1", 9000), w("2", 1001)}}, "weights"},
		{"duplicate", Route{Alias: "a", Weights: []Weight{w("1", 5000), w("1", 5000)}}, "weights[1].version"},
		{"zero primary", Route{Alias: "a", Weights: []Weight{w("1", 0), w("2", 10000)}}, "weights[0].basisPoints"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.route.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate() = %v, want ErrInvalid", err)
			}
			var ie *InvalidError
			if !errors.As(err, &ie) || ie.Field != tt.field {
				t.Fatalf("Validate() = %v, want the field %q named", err, tt.field)
			}
		})
	}
}

func TestCapabilitiesCheckRoute(t *testing.T) {
	lambda := Capabilities{MaxRouteVersions: 2, Granularity: 1, DeleteVersions: true}
	run := Capabilities{Granularity: 100, SplitRoutes: []string{"production"}}
	tests := []struct {
		name  string
		caps  Capabilities
		route Route
		want  error
	}{
		{"lambda canary 0.01%", lambda, Split("live", "1", "2", 1), nil},
		{"lambda three versions", lambda, Route{Alias: "live", Weights: []Weight{{"1", 5000}, {"2", 2500}, {"3", 2500}}}, ErrUnsupported},
		{"run whole percent", run, Split("production", "a", "b", 500), nil},
		{"run half percent", run, Split("production", "a", "b", 550), ErrUnsupported},
		{"run split on tag", run, Split("staging", "a", "b", 500), ErrUnsupported},
		{"run pin on tag", run, To("staging", "b"), nil},
		{"invalid before capabilities", run, Split("production", "a", "a", 500), ErrInvalid},
		{"zero value allows anything valid", Capabilities{}, Route{Alias: "x", Weights: []Weight{{"1", 3333}, {"2", 3333}, {"3", 3334}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.caps.CheckRoute(tt.route)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("CheckRoute() = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestRouteHelpers(t *testing.T) {
	r := Split("prod", "7", "8", 500)
	if r.Primary() != "7" || r.Share("8") != 500 || r.Share("7") != 9500 || r.Share("9") != 0 {
		t.Fatalf("Split = %+v", r)
	}
	if !r.References("8") || r.References("9") {
		t.Fatal("References wrong")
	}
	swapped := Route{Alias: "other", Revision: "x", Weights: []Weight{{"8", 500}, {"7", 9500}}}
	if !r.SameTraffic(swapped) {
		t.Fatal("SameTraffic should ignore order, alias and revision")
	}
	if r.SameTraffic(Split("prod", "7", "8", 600)) {
		t.Fatal("SameTraffic ignored a different share")
	}
	if withZero := (Route{Weights: []Weight{{"7", 9500}, {"8", 500}, {"9", 0}}}); !r.SameTraffic(withZero) {
		t.Fatal("a zero weight should count as absent")
	}
	c := r.Clone()
	c.Weights[0].BasisPoints = 1
	if r.Weights[0].BasisPoints != 9500 {
		t.Fatal("Clone shares the weights slice")
	}
	if got := Split("p", "a", "b", 0); got.Primary() != "a" || len(got.Weights) != 1 {
		t.Fatalf("Split 0 = %+v", got)
	}
	if got := Split("p", "a", "b", AllTraffic); got.Primary() != "b" || len(got.Weights) != 1 {
		t.Fatalf("Split 10000 = %+v", got)
	}
}

func TestPublishInputValidate(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	tests := []struct {
		name  string
		in    PublishInput
		field string
	}{
		{"zip", PublishInput{Artifact: Artifact{Zip: []byte("x")}}, ""},
		{"uri with sha", PublishInput{Artifact: Artifact{URI: "s3://b/k.zip", SHA256: sha}}, ""},
		{"image", PublishInput{Artifact: Artifact{Image: "r/i@sha256:" + sha}}, ""},
		{"missing", PublishInput{}, "artifact"},
		{"two sources", PublishInput{Artifact: Artifact{Zip: []byte("x"), URI: "s3://b/k"}}, "artifact"},
		{"empty zip", PublishInput{Artifact: Artifact{Zip: []byte{}}}, "artifact.zip"},
		{"bad sha", PublishInput{Artifact: Artifact{URI: "s3://b/k", SHA256: "ABC"}}, "artifact.sha256"},
		{"upper-case sha", PublishInput{Artifact: Artifact{URI: "s3://b/k", SHA256: strings.ToUpper(sha)}}, "artifact.sha256"},
		{"negative memory", PublishInput{Artifact: Artifact{Zip: []byte("x")}, Config: Config{MemoryMB: -1}}, "config.memoryMB"},
		{"negative timeout", PublishInput{Artifact: Artifact{Zip: []byte("x")}, Config: Config{Timeout: -time.Second}}, "config.timeout"},
		{"empty env name", PublishInput{Artifact: Artifact{Zip: []byte("x")}, Config: Config{Environment: map[string]string{"": "v"}}}, "config.environment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.in.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			var ie *InvalidError
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &ie) || ie.Field != tt.field {
				t.Fatalf("Validate() = %v, want ErrInvalid naming %q", err, tt.field)
			}
		})
	}
}

func TestConfigEqual(t *testing.T) {
	a := Config{Runtime: "go", MemoryMB: 128, Environment: map[string]string{}}
	if !a.Equal(Config{Runtime: "go", MemoryMB: 128}) {
		t.Fatal("nil and empty environment should be equal")
	}
	if a.Equal(Config{Runtime: "go", MemoryMB: 256}) {
		t.Fatal("different memory compared equal")
	}
	if a.Equal(Config{Runtime: "go", MemoryMB: 128, Environment: map[string]string{"A": "1"}}) {
		t.Fatal("different environment compared equal")
	}
}

func TestQueryValidateAndAlign(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	ok := Query{Function: "f", Versions: []string{"1", "2"}, Start: t0, End: t0.Add(5 * time.Minute), Period: time.Minute}
	if err := ok.Validate(time.Minute); err != nil {
		t.Fatalf("Validate = %v", err)
	}
	bad := map[string]func(q *Query){
		"function":    func(q *Query) { q.Function = "" },
		"versions":    func(q *Query) { q.Versions = nil },
		"versions[1]": func(q *Query) { q.Versions = []string{"1", ""} },
		"period":      func(q *Query) { q.Period = 90 * time.Second },
		"start":       func(q *Query) { q.Start = t0.Add(time.Second) },
		"end":         func(q *Query) { q.End = t0 },
	}
	for field, mutate := range bad {
		q := ok
		mutate(&q)
		var ie *InvalidError
		if err := q.Validate(time.Minute); !errors.As(err, &ie) || ie.Field != field {
			t.Errorf("%s: Validate = %v, want ErrInvalid naming %q", field, err, field)
		}
	}
	if got := AlignDown(t0.Add(90*time.Second), time.Minute); !got.Equal(t0.Add(time.Minute)) {
		t.Errorf("AlignDown = %v", got)
	}
	if got := AlignDown(time.Unix(-90, 0), time.Minute); got.Unix() != -120 {
		t.Errorf("AlignDown before the epoch = %v, want -120", got.Unix())
	}
}

func TestSeriesTotalAndErrorRate(t *testing.T) {
	s := Series{Version: "2", Points: []Point{
		{Invocations: 100, Errors: 2, P99: 80 * time.Millisecond},
		{Invocations: 300, Errors: 6, Throttles: 1, P99: 120 * time.Millisecond, ColdStarts: 3},
	}}
	tot := s.Total()
	if tot.Invocations != 400 || tot.Errors != 8 || tot.Throttles != 1 || tot.ColdStarts != 3 || tot.P99 != 120*time.Millisecond {
		t.Fatalf("Total = %+v", tot)
	}
	if r, ok := tot.ErrorRate(); !ok || r != 0.02 {
		t.Fatalf("ErrorRate = %v, %v", r, ok)
	}
	if _, ok := (Point{}).ErrorRate(); ok {
		t.Fatal("ErrorRate of no invocations should not be ok")
	}
	obs := Observation{Series: []Series{s}}
	if _, ok := obs.Of("2"); !ok {
		t.Fatal("Of(2) missing")
	}
	if _, ok := obs.Of("3"); ok {
		t.Fatal("Of(3) present")
	}
}

func TestErrors(t *testing.T) {
	sdk := errors.New("TooManyRequestsException: slow down")
	err := &Error{Op: "set route", Function: "f", Err: &ThrottleError{RetryAfter: 3 * time.Second, Err: sdk}}
	if !errors.Is(err, ErrThrottled) || !errors.Is(err, sdk) {
		t.Fatalf("chain broken: %v", err)
	}
	if d, ok := RetryAfter(err); !ok || d != 3*time.Second {
		t.Fatalf("RetryAfter = %v, %v", d, ok)
	}
	if !Retryable(err) || Retryable(ErrConflict) {
		t.Fatal("Retryable wrong")
	}
	want := "set route f: throttled (retry after 3s): TooManyRequestsException: slow down"
	if err.Error() != want {
		t.Fatalf("Error() = %q, want %q", err.Error(), want)
	}
}

func TestPercent(t *testing.T) {
	for bp, want := range map[int]string{
		0: "0%", 1: "0.01%", 10: "0.1%", 99: "0.99%", 100: "1%", 125: "1.25%", 950: "9.5%", 1000: "10%",
		1250: "12.5%", 9000: "90%", 9999: "99.99%", 10000: "100%", -50: "-0.5%",
	} {
		if got := Percent(bp); got != want {
			t.Errorf("Percent(%d) = %q, want %q", bp, got, want)
		}
	}
}

func TestRouteString(t *testing.T) {
	split := Split("prod", "1", "2", 1000)
	split.Revision = "7"
	tests := []struct {
		r             Route
		traffic, text string
	}{
		{split, "1=90% 2=10%", "1=90% 2=10% (rev 7)"},
		{To("prod", "3"), "3=100%", "3=100%"},
		{Route{Alias: "a", Weights: []Weight{{"1", 5000}, {"2", 2500}, {"3", 2500}}}, "1=50% 2=25% 3=25%", "1=50% 2=25% 3=25%"},
		{Route{Alias: "a", Revision: "r"}, "", " (rev r)"},
	}
	for _, tt := range tests {
		if got := tt.r.Traffic(); got != tt.traffic {
			t.Errorf("%#v.Traffic() = %q, want %q", tt.r, got, tt.traffic)
		}
		if got := tt.r.String(); got != tt.text {
			t.Errorf("%#v.String() = %q, want %q", tt.r, got, tt.text)
		}
	}
}

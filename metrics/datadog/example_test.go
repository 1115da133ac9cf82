package datadog_test

import (
	"context"
	"fmt"
	"time"

	"github.com/slipway-dev/slipway/metrics/datadog"
	"github.com/slipway-dev/slipway/metrics/datadog/datadogtest"
	"github.com/slipway-dev/slipway/provider"
)

// A Datadog source reading the error rates of two versions of "checkout"
// from the emulator, as a canary's analysis window would.
func Example() {
	srv := datadogtest.NewServer(datadogtest.Options{APIKey: "api-key", AppKey: "app-key"})
	defer srv.Close()
	start := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	for v, errs := range map[string]float64{"1": 3, "2": 30} {
		tags := []string{"functionname:checkout", "executedversion:" + v}
		for k := range 5 {
			at := start.Add(time.Duration(k) * time.Minute)
			srv.Submit("aws.lambda.invocations", tags, datadogtest.Point{Time: at, Value: 300})
			srv.Submit("aws.lambda.errors", tags, datadogtest.Point{Time: at, Value: errs})
		}
	}

	src, err := datadog.New(datadog.Config{
		URL: srv.URL(), // a Datadog site otherwise: Site: "datadoghq.eu"
		Queries: datadog.Queries{
			Invocations: "sum:aws.lambda.invocations{functionname:{{function}},executedversion:{{version}}}.as_count().rollup(sum, {{period}})",
			Errors:      "sum:aws.lambda.errors{functionname:{{function}},executedversion:{{version}}}.as_count().rollup(sum, {{period}})",
		},
		Now: func() time.Time { return start.Add(10 * time.Minute) },
	}, datadog.Credentials{APIKey: "api-key", AppKey: "app-key"}) // datadog.CredentialsFromEnv() in production
	if err != nil {
		panic(err)
	}
	obs, err := src.Observe(context.Background(), provider.Query{
		Function: "checkout", Versions: []string{"1", "2"}, Start: start, End: start.Add(5 * time.Minute), Period: time.Minute,
	})
	if err != nil {
		panic(err)
	}
	for _, s := range obs.Series {
		t := s.Total()
		rate, _ := t.ErrorRate()
		fmt.Printf("version %s: %d invocations, %.1f%% errors over %d periods\n", s.Version, t.Invocations, 100*rate, len(s.Points))
	}
	// Output:
	// version 1: 1500 invocations, 1.0% errors over 5 periods
	// version 2: 1500 invocations, 10.0% errors over 5 periods
}

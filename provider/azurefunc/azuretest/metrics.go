package azuretest

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Azure Monitor Metrics - List (GET {resourceUri}/providers/Microsoft.Insights/metrics)
// for a function app or one of its slots: each slot is its own resource,
// so a slot's series hold the requests that slot served.
//
// Parameters, as the reference defines them: timespan "start/end"
// (ISO 8601), interval an ISO 8601 duration among the time grains the
// Microsoft.Web/sites metrics support (PT1M, PT5M, PT15M, PT30M, PT1H,
// PT6H, PT12H, P1D), metricnames comma-separated, aggregation
// comma-separated. Metrics served: Requests, Http5xx and
// FunctionExecutionCount (Count, Total) and HttpResponseTime (Seconds,
// Average) — the names of the "Supported metrics for Microsoft.Web/sites"
// page; an unknown name is 400 BadRequest. Points come in ascending time
// order, one per grain; a grain that ends after now − MetricsDelay, or in
// which nothing was served (for the average), comes back with its
// timeStamp only, as Azure leaves a value out where it has none.

var grains = map[string]time.Duration{
	"PT1M": time.Minute, "PT5M": 5 * time.Minute, "PT15M": 15 * time.Minute, "PT30M": 30 * time.Minute,
	"PT1H": time.Hour, "PT6H": 6 * time.Hour, "PT12H": 12 * time.Hour, "P1D": 24 * time.Hour,
}

var metricUnits = map[string]string{"Requests": "Count", "Http5xx": "Count", "FunctionExecutionCount": "Count", "HttpResponseTime": "Seconds"}

func (s *Server) metrics(r *http.Request, req request) (any, *armError) {
	q := r.URL.Query()
	if raw, err := url.QueryUnescape(r.URL.RawQuery); err == nil {
		s.mu.Lock()
		s.queries = append(s.queries, raw)
		s.mu.Unlock()
	}
	span := strings.Split(q.Get("timespan"), "/")
	if len(span) != 2 {
		return nil, errf(http.StatusBadRequest, "BadRequest", "timespan %q is not start/end", q.Get("timespan"))
	}
	start, err1 := time.Parse(time.RFC3339Nano, span[0])
	end, err2 := time.Parse(time.RFC3339Nano, span[1])
	if err1 != nil || err2 != nil || !end.After(start) {
		return nil, errf(http.StatusBadRequest, "BadRequest", "timespan %q: want two ISO 8601 times, start before end", q.Get("timespan"))
	}
	interval := q.Get("interval")
	if interval == "" {
		interval = "PT1M"
	}
	grain, ok := grains[interval]
	if !ok {
		return nil, errf(http.StatusBadRequest, "BadRequest", "Invalid interval %q: supported time grains are PT1M, PT5M, PT15M, PT30M, PT1H, PT6H, PT12H, P1D", interval)
	}
	names := strings.Split(q.Get("metricnames"), ",")
	if q.Get("metricnames") == "" {
		names = []string{"Requests"}
	}
	for _, n := range names {
		if _, ok := metricUnits[n]; !ok {
			return nil, errf(http.StatusBadRequest, "BadRequest",
				"Failed to find metric configuration for provider: Microsoft.Web, resource Type: sites, metric: %s, Valid metrics: Requests,Http5xx,HttpResponseTime,FunctionExecutionCount", n)
		}
	}
	aggs := map[string]bool{}
	for _, a := range strings.Split(q.Get("aggregation"), ",") {
		if a != "" {
			aggs[strings.ToLower(a)] = true
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	st, aerr := s.site(req.app)
	if aerr != nil {
		return nil, aerr
	}
	if _, ok := st.slots[req.slot]; !ok {
		if _, aerr := s.slot(req.app, req.slot); aerr != nil {
			return nil, aerr
		}
	}
	visible := s.now().Add(-s.opts.MetricsDelay)
	var value []any
	for _, n := range names {
		var data []any
		for t := start; t.Before(end); t = t.Add(grain) {
			pt := map[string]any{"timeStamp": t.UTC().Format(time.RFC3339)}
			if !t.Add(grain).After(visible) {
				reqs, errs, mean := s.counts(req.app, req.slot, t, t.Add(grain))
				switch n {
				case "Requests", "FunctionExecutionCount":
					if aggs["total"] || len(aggs) == 0 {
						pt["total"] = float64(reqs)
					}
					if aggs["count"] {
						pt["count"] = float64(reqs)
					}
				case "Http5xx":
					if aggs["total"] || len(aggs) == 0 {
						pt["total"] = float64(errs)
					}
					if aggs["count"] {
						pt["count"] = float64(errs)
					}
				case "HttpResponseTime":
					if (aggs["average"] || len(aggs) == 0) && reqs > 0 {
						pt["average"] = mean
					}
				}
			}
			data = append(data, pt)
		}
		value = append(value, map[string]any{
			"id":   st.id(req.slot) + "/providers/Microsoft.Insights/metrics/" + n,
			"type": "Microsoft.Insights/metrics",
			"name": map[string]any{"value": n, "localizedValue": n},
			"unit": metricUnits[n],
			"timeseries": []any{map[string]any{
				"metadatavalues": []any{},
				"data":           data,
			}},
			"errorCode": "Success",
		})
	}
	ns := "Microsoft.Web/sites"
	if req.slot != "" {
		ns = "Microsoft.Web/sites/slots"
	}
	return map[string]any{
		"cost":           0,
		"timespan":       q.Get("timespan"),
		"interval":       interval,
		"namespace":      ns,
		"resourceregion": st.location,
		"value":          value,
	}, nil
}

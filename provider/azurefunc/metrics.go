package azurefunc

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/monitor/armmonitor"

	"github.com/slipway-dev/slipway/provider"
)

// Resolution is one minute, Azure Monitor's finest time grain for
// Microsoft.Web/sites metrics (PT1M).
func (p *Provider) Resolution() time.Duration { return time.Minute }

// grains are the time grains of the Microsoft.Web/sites metrics ("Supported
// metrics for Microsoft.Web/sites": PT1M, PT5M, PT15M, PT30M, PT1H, PT6H,
// PT12H, P1D), as ISO 8601 durations.
var grains = map[time.Duration]string{
	time.Minute: "PT1M", 5 * time.Minute: "PT5M", 15 * time.Minute: "PT15M", 30 * time.Minute: "PT30M",
	time.Hour: "PT1H", 6 * time.Hour: "PT6H", 12 * time.Hour: "PT12H", 24 * time.Hour: "P1D",
}

// Observe reads Azure Monitor metrics (Metrics - List) per slot: each slot
// is its own resource (…/sites/{app} for production,
// …/sites/{app}/slots/{slot}), so a version's series are the metrics of
// the slot that runs it now: Requests (Total; or FunctionExecutionCount,
// see Options.InvocationsMetric) as invocations, Http5xx
// (Total) as errors. Throttles are 0. Azure has no latency percentiles for
// sites (HttpResponseTime is an average), so P50, P90 and P99 are zero,
// and no cold-start metric, so ColdStarts is -1 (unknown).
//
// Which slots: with q.Alias the production route, production and the
// ramp-up slot; with another alias, that slot; with no alias, production,
// the ramp-up slot and every other slot. The mapping is read now
// (ListApplicationSettings per slot): a swap inside the window moves a
// version's past traffic to the other slot's series, so a check should
// observe before a promotion, as the canary runner does. A version no
// slot runs gets zero points.
//
// Completeness: Through is now − MetricsDelay aligned down, capped at
// q.End; grains after it are not asked for. Period must be one of Azure
// Monitor's time grains (ErrInvalid otherwise).
//
// API calls: the settings reads above, then one Metrics - List per slot
// that runs a requested version.
func (p *Provider) Observe(ctx context.Context, q provider.Query) (provider.Observation, error) {
	const op = "observe"
	if err := q.Validate(p.Resolution()); err != nil {
		return provider.Observation{}, fail(op, q.Function, err)
	}
	grain, ok := grains[q.Period]
	if !ok {
		return provider.Observation{}, fail(op, q.Function, provider.Invalid("metrics query", "period", fmt.Sprintf("%s is not an Azure Monitor time grain (1m, 5m, 15m, 30m, 1h, 6h, 12h, 1d)", q.Period)))
	}
	if p.mon == nil {
		return provider.Observation{}, fail(op, q.Function, fmt.Errorf("%w: the provider has no Azure Monitor client", provider.ErrUnsupported))
	}
	through := q.CompleteThrough(p.now(), p.metricsDelay())
	obs := provider.Observation{Query: q, Through: through}
	n := int(through.Sub(q.Start) / q.Period)
	series := q.EmptySeries(through, -1)
	if n == 0 {
		obs.Series = series
		return obs, nil
	}

	// Which slot runs which version.
	slots := map[string]string{} // slot ("" production) → version
	switch q.Alias {
	case p.prod, "":
		prod, err := p.slotSettings(ctx, q.Function, "")
		if err != nil {
			return provider.Observation{}, fail(op, q.Function, err)
		}
		slots[""] = prod[settingVersion]
		ramp, err := p.slotSettings(ctx, q.Function, p.rampUp)
		switch {
		case err == nil:
			slots[p.rampUp] = ramp[settingVersion]
		case !errIsNotFound(err):
			return provider.Observation{}, fail(op, q.Function, err)
		}
		if q.Alias == "" {
			if _, err := p.slotRoutes(ctx, q.Function, func(slot string, settings map[string]string) {
				slots[slot] = settings[settingVersion]
			}); err != nil {
				return provider.Observation{}, fail(op, q.Function, err)
			}
		}
	default:
		if err := p.checkAlias(op, q.Function, q.Alias); err != nil {
			return provider.Observation{}, err
		}
		settings, err := p.slotSettings(ctx, q.Function, q.Alias)
		if err != nil {
			return provider.Observation{}, fail(op, q.Function, err)
		}
		slots[q.Alias] = settings[settingVersion]
	}

	for slot, v := range slots {
		i := -1
		for j, want := range q.Versions {
			if v != "" && want == v {
				i = j
			}
		}
		if i < 0 {
			continue
		}
		if err := p.slotMetrics(ctx, q, slot, grain, through, series[i].Points); err != nil {
			return provider.Observation{}, fail(op, q.Function, err)
		}
	}
	obs.Series = series
	return obs, nil
}

// slotMetrics adds one slot's Requests and Http5xx totals to points.
func (p *Provider) slotMetrics(ctx context.Context, q provider.Query, slot, grain string, through time.Time, points []provider.Point) error {
	span := q.Start.UTC().Format(time.RFC3339) + "/" + through.UTC().Format(time.RFC3339)
	invocations := p.opts.InvocationsMetric
	if invocations == "" {
		invocations = "Requests"
	}
	out, err := p.mon.List(ctx, p.resourceURI(q.Function, slot), &armmonitor.MetricsClientListOptions{
		Timespan:    to.Ptr(span),
		Interval:    to.Ptr(grain),
		Metricnames: to.Ptr(invocations + ",Http5xx"),
		Aggregation: to.Ptr("Total"),
	})
	if err != nil {
		where := "production"
		if slot != "" {
			where = "slot " + slot
		}
		return fmt.Errorf("metrics of %s: %w", where, translate(err))
	}
	for _, m := range out.Value {
		if m == nil || m.Name == nil || m.Name.Value == nil {
			continue
		}
		name := *m.Name.Value
		for _, ts := range m.Timeseries {
			if ts == nil {
				continue
			}
			for _, d := range ts.Data {
				if d == nil || d.TimeStamp == nil || d.Total == nil {
					continue
				}
				k := int(d.TimeStamp.Sub(q.Start) / q.Period)
				if k < 0 || k >= len(points) || !d.TimeStamp.Equal(points[k].Start) {
					continue
				}
				v := int64(math.Round(*d.Total))
				switch {
				case strings.EqualFold(name, invocations):
					points[k].Invocations += v
				case strings.EqualFold(name, "Http5xx"):
					points[k].Errors += v
				}
			}
		}
	}
	return nil
}

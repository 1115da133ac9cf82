package awslambda_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/awslambda"
	"github.com/slipway-dev/slipway/provider/awslambda/lambdatest"
)

var errorsAlarm = lambdatest.AlarmSpec{Namespace: "AWS/Lambda", MetricName: "Errors",
	Dimensions: map[string]string{"FunctionName": fn, "Resource": fn + ":live"}, Statistic: "Sum",
	Period: time.Minute, EvaluationPeriods: 1, Threshold: 5, ComparisonOperator: "GreaterThanThreshold"}

// TestAlarmsReader reads two alarms through DescribeAlarms, and the
// history of the one that changed since the time asked through
// DescribeAlarmHistory; an unknown name is ErrNotFound.
func TestAlarmsReader(t *testing.T) {
	e := newEnv(t, lambdatest.Options{}, awslambda.Options{})
	ctx := context.Background()
	must(t, e.srv.PutAlarm("checkout-errors", errorsAlarm))
	must(t, e.srv.PutAlarm("checkout-latency", errorsAlarm))
	must(t, e.srv.SetAlarmState("checkout-latency", "OK", "fine"))
	e.clock.Advance(time.Hour)
	since := e.clock.Now()
	must(t, e.srv.SetAlarmState("checkout-errors", "ALARM", "Threshold Crossed"))
	e.clock.Advance(time.Minute)
	must(t, e.srv.SetAlarmState("checkout-errors", "ALARM", "Threshold Crossed again")) // no change of state
	e.clock.Advance(time.Minute)
	must(t, e.srv.SetAlarmState("checkout-errors", "OK", "recovered"))
	e.ops()

	got, err := e.p.Alarms(ctx, []string{"checkout-latency", "checkout-errors"}, since)
	must(t, err)
	opsEqual(t, "alarms", e.ops(), "DescribeAlarms", "DescribeAlarmHistory")
	if len(got) != 2 || got[0].Name != "checkout-latency" || got[0].State != provider.AlarmOK || len(got[0].Changes) != 0 {
		t.Fatalf("latency alarm: %+v", got)
	}
	errs := got[1]
	want := []provider.AlarmChange{
		{Time: since, From: provider.AlarmInsufficientData, To: provider.AlarmFiring, Reason: "Threshold Crossed"},
		{Time: since.Add(2 * time.Minute), From: provider.AlarmFiring, To: provider.AlarmOK, Reason: "recovered"},
	}
	if errs.State != provider.AlarmOK || len(errs.Changes) != 2 {
		t.Fatalf("errors alarm: %+v", errs)
	}
	for i, c := range errs.Changes {
		if !c.Time.Equal(want[i].Time) || c.From != want[i].From || c.To != want[i].To || c.Reason != want[i].Reason {
			t.Errorf("change %d: %+v, want %+v", i, c, want[i])
		}
	}
	if _, err := e.p.Alarms(ctx, []string{"checkout-errors", "nope"}, since); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("unknown alarm: %v, want ErrNotFound", err)
	}
	if _, err := e.p.Alarms(ctx, nil, since); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("no names: %v, want ErrInvalid", err)
	}
}

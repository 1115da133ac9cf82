package awslambda_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/awslambda"
	"github.com/slipway-dev/slipway/provider/awslambda/awslambdatest"
	"github.com/slipway-dev/slipway/provider/awslambda/lambdatest"
)

var errorsAlarm = lambdatest.AlarmSpec{Namespace: "AWS/Lambda", MetricName: "Errors",
	Dimensions: map[string]string{"FunctionName": fn, "Resource": fn + ":live"}, Statistic: "Sum",
	Period: time.Minute, EvaluationPeriods: 1, Threshold: 5, ComparisonOperator: "GreaterThanThreshold"}

// TestAlarmsReader reads two alarms through DescribeAlarms, and the
// history of the one that changed since the time asked through
// DescribeAlarmHistory; an unknown name is ErrNotFound.
func TestAlarmsReader(t *testing.T) {
	e := awslambdatest.New(t, lambdatest.Options{}, awslambda.Options{})
	ctx := context.Background()
	must(t, e.Server.PutAlarm("checkout-errors", errorsAlarm))
	must(t, e.Server.PutAlarm("checkout-latency", errorsAlarm))
	must(t, e.Server.SetAlarmState("checkout-latency", "OK", "fine"))
	e.Clock.Advance(time.Hour)
	since := e.Clock.Now()
	must(t, e.Server.SetAlarmState("checkout-errors", "ALARM", "Threshold Crossed"))
	e.Clock.Advance(time.Minute)
	must(t, e.Server.SetAlarmState("checkout-errors", "ALARM", "Threshold Crossed again")) // no change of state
	e.Clock.Advance(time.Minute)
	must(t, e.Server.SetAlarmState("checkout-errors", "OK", "recovered"))
	e.Ops()

	got, err := e.Provider.Alarms(ctx, []string{"checkout-latency", "checkout-errors"}, since)
	must(t, err)
	awslambdatest.OpsEqual(t, "alarms", e.Ops(), "DescribeAlarms", "DescribeAlarmHistory")
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
	if _, err := e.Provider.Alarms(ctx, []string{"checkout-errors", "nope"}, since); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("unknown alarm: %v, want ErrNotFound", err)
	}
	if _, err := e.Provider.Alarms(ctx, nil, since); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("no names: %v, want ErrInvalid", err)
	}
}

package awslambda

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/slipway-dev/slipway/provider"
)

var _ provider.AlarmReader = (*Provider)(nil)

// maxAlarmNames is DescribeAlarms's limit on AlarmNames per call.
const maxAlarmNames = 100

// Alarms reads CloudWatch alarms (metric and composite) for
// canary.Alarms, SAM's DeploymentPreference.Alarms as a check.
//
// API calls: one DescribeAlarms per 100 names (plus one per NextToken
// page), then, for each alarm whose StateUpdatedTimestamp is at or after
// since (the only ones that can have changed), DescribeAlarmHistory with
// HistoryItemType StateUpdate from since, ascending, following NextToken.
// Each history item's HistoryData document gives the old and new state.
// An alarm that does not exist is ErrNotFound, naming it.
func (p *Provider) Alarms(ctx context.Context, names []string, since time.Time) ([]provider.Alarm, error) {
	const op = "alarms"
	if len(names) == 0 {
		return nil, fail(op, "", provider.Invalid("alarms", "names", "is empty"))
	}
	for i, n := range names {
		if n == "" {
			return nil, fail(op, "", provider.Invalid("alarms", fmt.Sprintf("names[%d]", i), "is empty"))
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fail(op, "", err)
	}
	if p.cw == nil {
		return nil, fail(op, "", fmt.Errorf("%w: the provider has no CloudWatch client", provider.ErrUnsupported))
	}
	found := map[string]provider.Alarm{}
	for start := 0; start < len(names); start += maxAlarmNames {
		in := &cloudwatch.DescribeAlarmsInput{
			AlarmNames: names[start:min(start+maxAlarmNames, len(names))],
			AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm},
			MaxRecords: aws.Int32(100),
		}
		for {
			out, err := p.cw.DescribeAlarms(ctx, in)
			if err != nil {
				return nil, fail(op, "", fmt.Errorf("describe alarms: %w", translate(err, conflictIsConflict)))
			}
			for _, a := range out.MetricAlarms {
				found[aws.ToString(a.AlarmName)] = alarmOf(aws.ToString(a.AlarmName), a.StateValue, aws.ToString(a.StateReason), a.StateTransitionedTimestamp, a.StateUpdatedTimestamp)
			}
			for _, a := range out.CompositeAlarms {
				found[aws.ToString(a.AlarmName)] = alarmOf(aws.ToString(a.AlarmName), a.StateValue, aws.ToString(a.StateReason), a.StateTransitionedTimestamp, a.StateUpdatedTimestamp)
			}
			if aws.ToString(out.NextToken) == "" {
				break
			}
			in.NextToken = out.NextToken
		}
	}
	var missing []string
	for _, n := range names {
		if _, ok := found[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, fail(op, "", fmt.Errorf("alarms %q: %w", missing, provider.ErrNotFound))
	}
	out := make([]provider.Alarm, 0, len(names))
	for _, n := range names {
		a := found[n]
		if !a.Since.Before(since) || a.Since.IsZero() {
			changes, err := p.alarmChanges(ctx, n, since)
			if err != nil {
				return nil, fail(op, "", err)
			}
			a.Changes = changes
		}
		out = append(out, a)
	}
	return out, nil
}

func alarmOf(name string, state cwtypes.StateValue, reason string, transitioned, updated *time.Time) provider.Alarm {
	a := provider.Alarm{Name: name, State: provider.AlarmState(state), Reason: reason}
	switch {
	case transitioned != nil:
		a.Since = *transitioned
	case updated != nil:
		a.Since = *updated
	}
	// Since decides whether history is read: use the later of the two,
	// so a change is never missed.
	if updated != nil && updated.After(a.Since) {
		a.Since = *updated
	}
	return a
}

// historyData is the part of a StateUpdate item's HistoryData read.
type historyData struct {
	OldState struct {
		StateValue string `json:"stateValue"`
	} `json:"oldState"`
	NewState struct {
		StateValue  string `json:"stateValue"`
		StateReason string `json:"stateReason"`
	} `json:"newState"`
}

func (p *Provider) alarmChanges(ctx context.Context, name string, since time.Time) ([]provider.AlarmChange, error) {
	in := &cloudwatch.DescribeAlarmHistoryInput{
		AlarmName:       aws.String(name),
		AlarmTypes:      []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm},
		HistoryItemType: cwtypes.HistoryItemTypeStateUpdate,
		StartDate:       aws.Time(since),
		EndDate:         aws.Time(p.now()),
		ScanBy:          cwtypes.ScanByTimestampAscending,
		MaxRecords:      aws.Int32(100),
	}
	var out []provider.AlarmChange
	for {
		page, err := p.cw.DescribeAlarmHistory(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("describe alarm history %q: %w", name, translate(err, conflictIsConflict))
		}
		for _, it := range page.AlarmHistoryItems {
			var d historyData
			if err := json.Unmarshal([]byte(aws.ToString(it.HistoryData)), &d); err != nil || d.NewState.StateValue == "" {
				return nil, fmt.Errorf("%w: alarm %q history item at %s: HistoryData %q is not a state update", provider.ErrUnavailable, name, aws.ToTime(it.Timestamp).UTC().Format(time.RFC3339), aws.ToString(it.HistoryData))
			}
			if d.OldState.StateValue == d.NewState.StateValue {
				continue // a reason update, not a change of state
			}
			out = append(out, provider.AlarmChange{
				Time: aws.ToTime(it.Timestamp), From: provider.AlarmState(d.OldState.StateValue),
				To: provider.AlarmState(d.NewState.StateValue), Reason: strings.TrimSpace(d.NewState.StateReason),
			})
		}
		if aws.ToString(page.NextToken) == "" {
			break
		}
		in.NextToken = page.NextToken
	}
	slices.SortStableFunc(out, func(a, b provider.AlarmChange) int { return a.Time.Compare(b.Time) })
	return out, nil
}

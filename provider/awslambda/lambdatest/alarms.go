package lambdatest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// CloudWatch alarms: DescribeAlarms and DescribeAlarmHistory over the same
// Smithy RPC v2 CBOR protocol as GetMetricData (POST
// /service/GraniteServiceVersion20100801/operation/<Op>), and the test-side
// PutAlarm and SetAlarmState that make alarms and move them between
// states on the emulator clock.
//
// Emulated, from the CloudWatch API reference (docs/metrics-and-alerting.md
// cites the pages):
//
//   - DescribeAlarms: AlarmNames (at most 100) or AlarmNamePrefix, not both
//     (InvalidParameterCombination); StateValue filter (OK, ALARM,
//     INSUFFICIENT_DATA); AlarmTypes (MetricAlarm, CompositeAlarm; when
//     omitted only metric alarms are returned); MaxRecords 1..100 (default
//     50) with NextToken paging; alarms in name order; names that do not
//     exist are left out, not an error. MetricAlarms carry AlarmName,
//     AlarmArn, StateValue, StateReason, StateUpdatedTimestamp,
//     StateTransitionedTimestamp, AlarmConfigurationUpdatedTimestamp,
//     ActionsEnabled, the metric, statistic, period, threshold and
//     comparison; CompositeAlarms is always empty (none are emulated).
//   - DescribeAlarmHistory: AlarmName (all alarms when omitted),
//     HistoryItemType, StartDate and EndDate (both inclusive), ScanBy
//     (TimestampDescending by default), MaxRecords 1..100 (default 100)
//     with NextToken paging. Items carry AlarmName, AlarmType,
//     HistoryItemType, HistorySummary ("Alarm updated from OK to ALARM"),
//     Timestamp and HistoryData, the JSON document
//     {"version":"1.0","oldState":{"stateValue",…},"newState":{…}}. The
//     history of a deleted alarm is kept, as on the service.
//
// Not emulated: alarm evaluation from metric data (states change only
// through SetAlarmState), composite alarms, mute rules, actions, the
// 30-day history retention.

// AlarmSpec is the configuration of a metric alarm made by PutAlarm.
type AlarmSpec struct {
	Namespace          string            `json:"namespace"`
	MetricName         string            `json:"metricName"`
	Dimensions         map[string]string `json:"dimensions,omitempty"`
	Statistic          string            `json:"statistic"` // e.g. "Sum"
	Period             time.Duration     `json:"period"`
	EvaluationPeriods  int               `json:"evaluationPeriods"`
	Threshold          float64           `json:"threshold"`
	ComparisonOperator string            `json:"comparisonOperator"` // e.g. "GreaterThanThreshold"
}

type alarm struct {
	name         string
	spec         AlarmSpec
	state        string
	reason       string
	configured   time.Time
	updated      time.Time // StateUpdatedTimestamp
	transitioned time.Time // StateTransitionedTimestamp
}

type alarmHistoryItem struct {
	alarm    string
	kind     string // HistoryItemType
	summary  string
	data     string
	at       time.Time
	sequence int
}

// alarmStore holds the emulator's alarms; it has its own lock.
type alarmStore struct {
	mu      sync.Mutex
	alarms  map[string]*alarm
	history []alarmHistoryItem
}

var alarmStates = []string{"OK", "ALARM", "INSUFFICIENT_DATA"}

// PutAlarm creates or updates a metric alarm, as PutMetricAlarm does: a
// new alarm starts in INSUFFICIENT_DATA ("Unchecked: Initial alarm
// creation"), and the change is recorded as a ConfigurationUpdate history
// item.
func (s *Server) PutAlarm(name string, spec AlarmSpec) error {
	if name == "" || len(name) > 255 {
		return fmt.Errorf("lambdatest: alarm name %q must have 1 to 255 characters", name)
	}
	now := s.now()
	st := &s.alarms
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.alarms == nil {
		st.alarms = map[string]*alarm{}
	}
	a, ok := st.alarms[name]
	if !ok {
		a = &alarm{name: name, state: "INSUFFICIENT_DATA", reason: "Unchecked: Initial alarm creation", updated: now, transitioned: now}
		st.alarms[name] = a
	}
	a.spec, a.configured = spec, now
	verb := "updated"
	if !ok {
		verb = "created"
	}
	st.record(alarmHistoryItem{alarm: name, kind: "ConfigurationUpdate", summary: "Alarm \"" + name + "\" " + verb, data: `{"version":"1.0","type":"` + verb + `"}`, at: now})
	return nil
}

// SetAlarmState moves an alarm to state (OK, ALARM, INSUFFICIENT_DATA)
// with a reason, as the SetAlarmState API does: StateUpdatedTimestamp is
// set, StateTransitionedTimestamp too when the state changes, and a
// StateUpdate history item is recorded.
func (s *Server) SetAlarmState(name, state, reason string) error {
	if !slices.Contains(alarmStates, state) {
		return fmt.Errorf("lambdatest: alarm state %q is not one of %v", state, alarmStates)
	}
	now := s.now()
	st := &s.alarms
	st.mu.Lock()
	defer st.mu.Unlock()
	a := st.alarms[name]
	if a == nil {
		return fmt.Errorf("lambdatest: alarm %q does not exist", name)
	}
	old, oldReason := a.state, a.reason
	a.state, a.reason, a.updated = state, reason, now
	if old != state {
		a.transitioned = now
	}
	data, _ := json.Marshal(map[string]any{
		"version":  "1.0",
		"oldState": map[string]string{"stateValue": old, "stateReason": oldReason},
		"newState": map[string]string{"stateValue": state, "stateReason": reason},
	})
	st.record(alarmHistoryItem{alarm: name, kind: "StateUpdate", summary: fmt.Sprintf("Alarm updated from %s to %s", old, state), data: string(data), at: now})
	return nil
}

// DeleteAlarm removes an alarm; its history stays.
func (s *Server) DeleteAlarm(name string) {
	st := &s.alarms
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.alarms, name)
}

func (st *alarmStore) record(it alarmHistoryItem) {
	it.sequence = len(st.history)
	st.history = append(st.history, it)
}

// alarmRoute routes the alarm operations of the CloudWatch service path.
func alarmRoute(op string) (route, bool) {
	switch op {
	case "DescribeAlarms":
		return route{op: op, handler: (*Server).describeAlarms}, true
	case "DescribeAlarmHistory":
		return route{op: op, handler: (*Server).describeAlarmHistory}, true
	}
	return route{}, false
}

func cborStrings(m cbor.Map, k string) ([]string, bool) {
	l, ok := m[k].(cbor.List)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(l))
	for _, v := range l {
		s, ok := v.(cbor.String)
		if !ok {
			return nil, false
		}
		out = append(out, string(s))
	}
	return out, true
}

func readCBORMap(w http.ResponseWriter, r *http.Request) (cbor.Map, bool) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeCBORError(w, http.StatusBadRequest, "SerializationException", err.Error(), true)
		return nil, false
	}
	if len(body) == 0 {
		return cbor.Map{}, true
	}
	v, err := cbor.Decode(body)
	if err != nil {
		writeCBORError(w, http.StatusBadRequest, "SerializationException", "cannot decode CBOR body: "+err.Error(), true)
		return nil, false
	}
	m, ok := v.(cbor.Map)
	if !ok {
		writeCBORError(w, http.StatusBadRequest, "SerializationException", "body is not a CBOR map", true)
		return nil, false
	}
	return m, true
}

// maxRecords reads MaxRecords (1..100, default def).
func maxRecords(m cbor.Map, def int64) (int64, *cwError) {
	n, ok := cborInt(m, "MaxRecords")
	if !ok {
		if _, present := m["MaxRecords"]; present {
			return 0, cwInvalid("The parameter MaxRecords must be an integer.")
		}
		return def, nil
	}
	if n < 1 || n > 100 {
		return 0, &cwError{http.StatusBadRequest, "ValidationError", fmt.Sprintf("1 validation error detected: Value '%d' at 'maxRecords' failed to satisfy constraint: Member must have value between 1 and 100", n)}
	}
	return n, nil
}

// pageToken encodes an offset bound to the request that issued it.
func pageToken(op string, offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(op + ":" + strconv.Itoa(offset)))
}

// readPaging reads the MaxRecords (default def) and NextToken of a request
// to op; when either is not valid it answers the error and returns false.
func readPaging(w http.ResponseWriter, m cbor.Map, op string, def int64) (limit int64, offset int, ok bool) {
	limit, cerr := maxRecords(m, def)
	if cerr != nil {
		writeCBORError(w, cerr.status, cerr.code, cerr.msg, true)
		return 0, 0, false
	}
	tok, _ := cborString(m, "NextToken")
	offset, ok = readPageToken(op, tok)
	if !ok {
		writeCBORError(w, http.StatusBadRequest, "InvalidNextToken", "The service cannot find the NextToken provided.", true)
		return 0, 0, false
	}
	return limit, offset, true
}

func readPageToken(op, tok string) (int, bool) {
	if tok == "" {
		return 0, true
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	rest, ok := strings.CutPrefix(string(raw), op+":")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n >= 0
}

func cborTimeValue(t time.Time) cbor.Value {
	return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(t.UnixMilli()) / 1e3)}
}

func (s *Server) describeAlarms(w http.ResponseWriter, r *http.Request, _ route) {
	m, ok := readCBORMap(w, r)
	if !ok {
		return
	}
	names, hasNames := cborStrings(m, "AlarmNames")
	prefix, hasPrefix := cborString(m, "AlarmNamePrefix")
	if hasNames && len(names) > 100 {
		writeCBORError(w, http.StatusBadRequest, "ValidationError", "1 validation error detected: Value at 'alarmNames' failed to satisfy constraint: Member must have length less than or equal to 100", true)
		return
	}
	if hasNames && len(names) > 0 && hasPrefix {
		writeCBORError(w, http.StatusBadRequest, "InvalidParameterCombination", "AlarmNamePrefix and AlarmNames cannot be used together.", true)
		return
	}
	state, hasState := cborString(m, "StateValue")
	if hasState && !slices.Contains(alarmStates, state) {
		writeCBORError(w, http.StatusBadRequest, "ValidationError", fmt.Sprintf("1 validation error detected: Value '%s' at 'stateValue' failed to satisfy constraint: Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]", state), true)
		return
	}
	types, hasTypes := cborStrings(m, "AlarmTypes")
	for _, t := range types {
		if t != "MetricAlarm" && t != "CompositeAlarm" {
			writeCBORError(w, http.StatusBadRequest, "ValidationError", fmt.Sprintf("1 validation error detected: Value '%s' at 'alarmTypes' failed to satisfy constraint: Member must satisfy enum value set: [CompositeAlarm, MetricAlarm]", t), true)
			return
		}
	}
	metric := !hasTypes || len(types) == 0 || slices.Contains(types, "MetricAlarm")
	limit, offset, ok := readPaging(w, m, "DescribeAlarms", 50)
	if !ok {
		return
	}

	st := &s.alarms
	st.mu.Lock()
	var picked []alarm
	if metric {
		for name, a := range st.alarms {
			if hasNames && len(names) > 0 && !slices.Contains(names, name) {
				continue
			}
			if hasPrefix && !strings.HasPrefix(name, prefix) {
				continue
			}
			if hasState && a.state != state {
				continue
			}
			picked = append(picked, *a)
		}
	}
	st.mu.Unlock()
	slices.SortFunc(picked, func(a, b alarm) int { return strings.Compare(a.name, b.name) })

	out := cbor.Map{"MetricAlarms": cbor.List{}, "CompositeAlarms": cbor.List{}}
	end := min(offset+int(limit), len(picked))
	for _, a := range picked[min(offset, len(picked)):end] {
		out["MetricAlarms"] = append(out["MetricAlarms"].(cbor.List), s.metricAlarm(a))
	}
	if end < len(picked) {
		out["NextToken"] = cbor.String(pageToken("DescribeAlarms", end))
	}
	writeCBOR(w, http.StatusOK, out)
}

func (s *Server) metricAlarm(a alarm) cbor.Map {
	dims := cbor.List{}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range a.spec.Dimensions {
			if !yield(k) {
				return
			}
		}
	}) {
		dims = append(dims, cbor.Map{"Name": cbor.String(k), "Value": cbor.String(a.spec.Dimensions[k])})
	}
	return cbor.Map{
		"AlarmName":                          cbor.String(a.name),
		"AlarmArn":                           cbor.String(fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", s.opts.Region, s.opts.Account, a.name)),
		"AlarmConfigurationUpdatedTimestamp": cborTimeValue(a.configured),
		"ActionsEnabled":                     cbor.Bool(true),
		"StateValue":                         cbor.String(a.state),
		"StateReason":                        cbor.String(a.reason),
		"StateUpdatedTimestamp":              cborTimeValue(a.updated),
		"StateTransitionedTimestamp":         cborTimeValue(a.transitioned),
		"Namespace":                          cbor.String(a.spec.Namespace),
		"MetricName":                         cbor.String(a.spec.MetricName),
		"Dimensions":                         dims,
		"Statistic":                          cbor.String(a.spec.Statistic),
		"Period":                             cbor.Uint(uint64(a.spec.Period / time.Second)),
		"EvaluationPeriods":                  cbor.Uint(uint64(max(a.spec.EvaluationPeriods, 0))),
		"Threshold":                          cbor.Float64(a.spec.Threshold),
		"ComparisonOperator":                 cbor.String(a.spec.ComparisonOperator),
	}
}

var historyItemTypes = []string{"ConfigurationUpdate", "StateUpdate", "Action", "AlarmContributorStateUpdate", "AlarmContributorAction"}

func (s *Server) describeAlarmHistory(w http.ResponseWriter, r *http.Request, _ route) {
	m, ok := readCBORMap(w, r)
	if !ok {
		return
	}
	name, hasName := cborString(m, "AlarmName")
	kind, hasKind := cborString(m, "HistoryItemType")
	if hasKind && !slices.Contains(historyItemTypes, kind) {
		writeCBORError(w, http.StatusBadRequest, "ValidationError", fmt.Sprintf("1 validation error detected: Value '%s' at 'historyItemType' failed to satisfy constraint: Member must satisfy enum value set: %v", kind, historyItemTypes), true)
		return
	}
	start, hasStart := cborTime(m, "StartDate")
	end, hasEnd := cborTime(m, "EndDate")
	ascending := false
	if sb, ok := cborString(m, "ScanBy"); ok {
		switch sb {
		case "TimestampAscending":
			ascending = true
		case "TimestampDescending":
		default:
			writeCBORError(w, http.StatusBadRequest, "ValidationError", fmt.Sprintf("1 validation error detected: Value '%s' at 'scanBy' failed to satisfy constraint: Member must satisfy enum value set: [TimestampDescending, TimestampAscending]", sb), true)
			return
		}
	}
	limit, offset, ok := readPaging(w, m, "DescribeAlarmHistory", 100)
	if !ok {
		return
	}
	st := &s.alarms
	st.mu.Lock()
	var items []alarmHistoryItem
	for _, it := range st.history {
		if (hasName && it.alarm != name) || (hasKind && it.kind != kind) ||
			(hasStart && it.at.Before(start)) || (hasEnd && it.at.After(end)) {
			continue
		}
		items = append(items, it)
	}
	st.mu.Unlock()
	slices.SortStableFunc(items, func(a, b alarmHistoryItem) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.sequence - b.sequence
	})
	if !ascending {
		slices.Reverse(items)
	}
	out := cbor.Map{"AlarmHistoryItems": cbor.List{}}
	stop := min(offset+int(limit), len(items))
	for _, it := range items[min(offset, len(items)):stop] {
		out["AlarmHistoryItems"] = append(out["AlarmHistoryItems"].(cbor.List), cbor.Map{
			"AlarmName":       cbor.String(it.alarm),
			"AlarmType":       cbor.String("MetricAlarm"),
			"HistoryItemType": cbor.String(it.kind),
			"HistorySummary":  cbor.String(it.summary),
			"HistoryData":     cbor.String(it.data),
			"Timestamp":       cborTimeValue(it.at),
		})
	}
	if stop < len(items) {
		out["NextToken"] = cbor.String(pageToken("DescribeAlarmHistory", stop))
	}
	writeCBOR(w, http.StatusOK, out)
}

package retention_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/retention"
)

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name    string
		pol     retention.Policy
		wantErr string // substring of the error; "" means valid
	}{
		{"keep last", retention.Policy{KeepLast: 3}, ""},
		{"keep within", retention.Policy{KeepWithin: time.Hour}, ""},
		{"label range", retention.Policy{KeepLabels: []retention.LabelRule{{Range: "1.x"}}}, ""},
		{"label latest minor", retention.Policy{KeepLabels: []retention.LabelRule{{Latest: "minor"}}}, ""},
		{"label key only", retention.Policy{KeepLabels: []retention.LabelRule{{Key: "keep"}}}, ""},
		{"explicit delete all", retention.Policy{AllowDeleteAllUnreferenced: true}, ""},
		{"pins alone need the flag", retention.Policy{Pinned: map[string][]string{"f": {"1"}}}, "allowDeleteAllUnreferenced"},
		{"empty policy", retention.Policy{}, "sets none of keepLast, keepWithin, keepLabels"},
		{"negative keep last", retention.Policy{KeepLast: -1}, "keepLast is -1"},
		{"negative keep within", retention.Policy{KeepWithin: -time.Second, KeepLast: 1}, "keepWithin is -1s"},
		{"negative rollback points", retention.Policy{KeepLast: 1, KeepRollbackPoints: -2}, "keepRollbackPoints is -2"},
		{"malformed range", retention.Policy{KeepLabels: []retention.LabelRule{{Range: ">=1.0.0 <"}}}, "keepLabels[0].range"},
		{"unknown latest", retention.Policy{KeepLabels: []retention.LabelRule{{Latest: "build"}}}, `keepLabels[0].latest is "build"`},
		{"empty label rule", retention.Policy{KeepLast: 1, KeepLabels: []retention.LabelRule{{Range: "1.x"}, {}}}, "keepLabels[1] is empty"},
		{"empty pin", retention.Policy{KeepLast: 1, Pinned: map[string][]string{"f": {""}}}, `pinned["f"][0] is empty`},
		{"empty pinned function", retention.Policy{KeepLast: 1, Pinned: map[string][]string{"": {"1"}}}, "pinned has an empty function name"},
		{"empty rollback alias", retention.Policy{KeepLast: 1, RollbackPoints: map[string]retention.RouteHistory{"f": {"": {"1"}}}}, "has an empty alias"},
		{"empty rollback version", retention.Policy{KeepLast: 1, RollbackPoints: map[string]retention.RouteHistory{"f": {"live": {"2", ""}}}}, `rollbackPoints["f"]["live"][1] is empty`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.pol.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error containing %q", tt.wantErr)
			}
			if !errors.Is(err, provider.ErrInvalid) {
				t.Errorf("Validate() = %v, does not wrap provider.ErrInvalid", err)
			}
			var ie *provider.InvalidError
			if !errors.As(err, &ie) {
				t.Errorf("Validate() = %v, not a *provider.InvalidError", err)
			}
			if !strings.HasPrefix(err.Error(), "retention: ") || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Validate() = %q, want the prefix \"retention: \" and %q", err, tt.wantErr)
			}
		})
	}
}

func TestPolicyJSON(t *testing.T) {
	pol := retention.Policy{
		KeepLast:   5,
		KeepWithin: 30 * 24 * time.Hour,
		KeepLabels: []retention.LabelRule{{Range: "^1"}, {Latest: retention.LatestOfMinor}, {Key: "env", Equals: "prod"}},
		Pinned:     map[string][]string{"orders": {"7"}},
		RollbackPoints: map[string]retention.RouteHistory{
			"orders": {"live": {"9", "8"}},
		},
		KeepRollbackPoints: 2,
	}
	b, err := json.Marshal(pol)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"keepLast":5,"keepLabels":[{"range":"^1"},{"latest":"minor"},{"key":"env","equals":"prod"}],` +
		`"pinned":{"orders":["7"]},"rollbackPoints":{"orders":{"live":["9","8"]}},"keepRollbackPoints":2,"keepWithin":"720h0m0s"}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("json.Marshal (-want +got):\n%s", diff)
	}
	var got retention.Policy
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(pol, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestPolicyUnmarshalKeepWithin(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{`{"keepWithin":"90m"}`, 90 * time.Minute, false},
		{`{"keepWithin":3600000000000}`, time.Hour, false},
		{`{"keepWithin":null}`, 0, false},
		{`{}`, 0, false},
		{`{"keepWithin":"30d"}`, 0, true},
		{`{"keepWithin":true}`, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			pol := retention.Policy{KeepWithin: time.Minute} // overwritten
			err := json.Unmarshal([]byte(tt.in), &pol)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Unmarshal(%s) = nil error, want one", tt.in)
				}
				return
			}
			if err != nil {
				t.Fatalf("Unmarshal(%s) = %v", tt.in, err)
			}
			if pol.KeepWithin != tt.want {
				t.Errorf("KeepWithin = %v, want %v", pol.KeepWithin, tt.want)
			}
		})
	}
}

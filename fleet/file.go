package fleet

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/release"
)

// LoadPlan reads a plan from a JSON file written for people: durations
// are strings ("5m", "90s"), a strategy may start from a canary preset,
// and checks are named (their code is the executor's). Unknown fields are
// errors. The plan is validated (Plan.Validate) before it is returned.
//
//	{
//	  "id": "checkout-2026-03-04",
//	  "strategy": {"preset": "Canary10Percent5Minutes", "checks": [{"name": "error rate"}]},
//	  "targets": [{"function": "checkout", "region": "eu-west-1", "provider": "aws-eu", "group": "shop"}, …],
//	  "waves": [
//	    {"name": "canary", "regions": ["eu-west-1"], "bake": "10m"},
//	    {"name": "half", "percent": 50, "bake": "10m", "maxParallel": 10},
//	    {"name": "rest", "approval": true}
//	  ],
//	  "regions": {"eu-west-1": {"timeZone": "Europe/Dublin",
//	    "policy": {"windows": [{"days": ["Mon","Tue","Wed","Thu"], "start": "09:00", "end": "16:00"}]}}},
//	  "accounts": {"aws-eu": {"maxParallel": 20, "rate": 10, "burst": 5}},
//	  "onFailure": "group"
//	}
func LoadPlan(r io.Reader) (Plan, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var f filePlan
	if err := dec.Decode(&f); err != nil {
		return Plan{}, fmt.Errorf("fleet: plan file: %w: %w", provider.ErrInvalid, err)
	}
	s, err := f.Strategy.strategy()
	if err != nil {
		return Plan{}, err
	}
	p := Plan{ID: f.ID, Alias: f.Alias, Strategy: s, Publish: f.Publish, Targets: f.Targets, Regions: f.Regions,
		Freezes: f.Freezes, Accounts: f.Accounts, OnFailure: f.OnFailure, BakeChecks: f.BakeChecks, Actor: f.Actor}
	for _, w := range f.Waves {
		p.Waves = append(p.Waves, Wave{Name: w.Name, Targets: w.Targets, Regions: w.Regions, Percent: w.Percent,
			Bake: time.Duration(w.Bake), MaxParallel: w.MaxParallel, Approval: w.Approval})
	}
	if err := p.Validate(); err != nil {
		return Plan{}, err
	}
	return p, nil
}

type filePlan struct {
	ID         string                 `json:"id"`
	Alias      string                 `json:"alias"`
	Strategy   fileStrategy           `json:"strategy"`
	Publish    *provider.PublishInput `json:"publish"`
	Targets    []Target               `json:"targets"`
	Waves      []fileWave             `json:"waves"`
	Regions    map[string]Region      `json:"regions"`
	Freezes    []release.Freeze       `json:"freezes"`
	Accounts   map[string]Limit       `json:"accounts"`
	OnFailure  Scope                  `json:"onFailure"`
	BakeChecks []string               `json:"bakeChecks"`
	Actor      string                 `json:"actor"`
}

type fileWave struct {
	Name        string   `json:"name"`
	Targets     []string `json:"targets"`
	Regions     []string `json:"regions"`
	Percent     int      `json:"percent"`
	Bake        duration `json:"bake"`
	MaxParallel int      `json:"maxParallel"`
	Approval    bool     `json:"approval"`
}

type fileStep struct {
	Weight int      `json:"weight"`
	Bake   duration `json:"bake"`
}

type fileStrategy struct {
	// Preset names a canary preset (canary.Presets); Steps replace its
	// steps when given.
	Preset            string                    `json:"preset"`
	Steps             []fileStep                `json:"steps"`
	Interval          duration                  `json:"interval"`
	WarmUp            duration                  `json:"warmUp"`
	Checks            []canary.CheckSpec        `json:"checks"`
	FailureLimit      int                       `json:"failureLimit"`
	InconclusiveLimit int                       `json:"inconclusiveLimit"`
	OnInconclusive    canary.InconclusivePolicy `json:"onInconclusive"`
}

func (f fileStrategy) strategy() (canary.Strategy, error) {
	var s canary.Strategy
	if f.Preset != "" {
		p, err := canary.Preset(f.Preset)
		if err != nil {
			return s, fmt.Errorf("fleet: plan file: strategy.preset: %w", err)
		}
		s = p
	}
	if len(f.Steps) > 0 {
		s.Steps = nil
		for _, st := range f.Steps {
			s.Steps = append(s.Steps, canary.Step{Weight: st.Weight, Bake: time.Duration(st.Bake)})
		}
	}
	s.Interval, s.WarmUp = time.Duration(f.Interval), time.Duration(f.WarmUp)
	s.Analysis.Checks = f.Checks
	s.Analysis.FailureLimit, s.Analysis.InconclusiveLimit = f.FailureLimit, f.InconclusiveLimit
	s.Analysis.OnInconclusive = f.OnInconclusive
	return s, nil
}

// duration is a time.Duration written as a string ("5m").
type duration time.Duration

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration %s is not a string like \"5m\"", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = duration(v)
	return nil
}

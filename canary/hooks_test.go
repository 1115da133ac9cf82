package canary

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

func TestHookCheckNames(t *testing.T) {
	s := Canary(1000, 5*time.Minute)
	s.PreTraffic = &HookSpec{Name: "smoke"}
	s.PostTraffic = &HookSpec{Name: "e2e"}
	noop := func(context.Context, HookInput) error { return nil }
	if err := hookCheckNames(s, map[string]HookFunc{"smoke": noop, "e2e": noop}); err != nil {
		t.Fatalf("every hook registered: %v", err)
	}
	err := hookCheckNames(s, map[string]HookFunc{"smoke": noop})
	var ie *provider.InvalidError
	if !errors.As(err, &ie) || ie.Field != "strategy.postTraffic.name" {
		t.Fatalf("missing post-traffic hook: %v, want an InvalidError naming strategy.postTraffic.name", err)
	}
}

func TestHookRun(t *testing.T) {
	boom := errors.New("smoke test failed")
	cases := []struct {
		name    string
		fn      func(clk *VirtualClock) HookFunc
		wantErr error // nil: success
		elapsed time.Duration
	}{
		{name: "success", fn: func(*VirtualClock) HookFunc {
			return func(context.Context, HookInput) error { return nil }
		}},
		{name: "takes virtual time within the timeout", elapsed: 9 * time.Minute, fn: func(clk *VirtualClock) HookFunc {
			return func(ctx context.Context, in HookInput) error { return clk.Sleep(ctx, 9*time.Minute) }
		}},
		{name: "error", wantErr: boom, fn: func(*VirtualClock) HookFunc {
			return func(context.Context, HookInput) error { return boom }
		}},
		{name: "times out", wantErr: context.DeadlineExceeded, elapsed: 10 * time.Minute, fn: func(clk *VirtualClock) HookFunc {
			return func(ctx context.Context, in HookInput) error { return clk.Sleep(ctx, time.Hour) }
		}},
		{name: "ignores its context", wantErr: context.DeadlineExceeded, elapsed: 10 * time.Minute, fn: func(clk *VirtualClock) HookFunc {
			return func(ctx context.Context, in HookInput) error {
				_ = clk.Sleep(ctx, time.Hour) // woken at the timeout, then claims success
				return nil
			}
		}},
		{name: "not registered", wantErr: nil, fn: func(*VirtualClock) HookFunc { return nil }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := NewVirtualClock(clockEpoch)
			in := HookInput{Name: "smoke", Stage: StagePreTraffic, RolloutID: "r1", Deadline: clockEpoch.Add(10 * time.Minute)}
			err := hookRun(context.Background(), clk, tc.fn(clk), in)
			var he *HookError
			switch {
			case tc.name == "not registered":
				if !errors.As(err, &he) {
					t.Fatalf("hookRun of a nil HookFunc = %v, want a *HookError", err)
				}
			case tc.wantErr == nil:
				if err != nil {
					t.Fatalf("hookRun = %v, want nil", err)
				}
			default:
				if !errors.Is(err, tc.wantErr) || !errors.As(err, &he) || he.Stage != StagePreTraffic || he.Name != "smoke" {
					t.Fatalf("hookRun = %v, want a *HookError{smoke, PreTraffic} wrapping %v", err, tc.wantErr)
				}
			}
			if got := clk.Now().Sub(clockEpoch); got != tc.elapsed {
				t.Fatalf("virtual time elapsed = %s, want %s", got, tc.elapsed)
			}
		})
	}
	t.Run("deadline passed", func(t *testing.T) {
		clk := NewVirtualClock(clockEpoch)
		called := false
		err := hookRun(context.Background(), clk, func(context.Context, HookInput) error { called = true; return nil },
			HookInput{Name: "smoke", Stage: StagePostTraffic, Deadline: clockEpoch})
		if called || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("hook past its deadline: called %t, err %v; want not called, DeadlineExceeded", called, err)
		}
	})
}

func TestHookApprove(t *testing.T) {
	boom := errors.New("approval service down")
	a := Approval{RolloutID: "r1", Deadline: clockEpoch.Add(time.Hour)}
	cases := []struct {
		name    string
		fn      ApproveFunc
		wantOK  bool
		wantErr error
	}{
		{name: "approved", fn: func(context.Context, Approval) (bool, error) { return true, nil }, wantOK: true},
		{name: "rejected", fn: func(context.Context, Approval) (bool, error) { return false, nil }},
		{name: "error", fn: func(context.Context, Approval) (bool, error) { return true, boom }, wantErr: boom},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := hookApprove(context.Background(), NewVirtualClock(clockEpoch), tc.fn, a)
			if ok != tc.wantOK || tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("hookApprove = %t, %v; want %t, %v", ok, err, tc.wantOK, tc.wantErr)
			}
		})
	}
	t.Run("times out", func(t *testing.T) {
		clk := NewVirtualClock(clockEpoch)
		fn := func(ctx context.Context, a Approval) (bool, error) { return true, clk.Sleep(ctx, 2*time.Hour) }
		if ok, err := hookApprove(context.Background(), clk, fn, a); ok || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("slow approval = %t, %v; want false, context.DeadlineExceeded", ok, err)
		}
	})
}

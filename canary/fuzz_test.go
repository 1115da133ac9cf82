package canary

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// recordingStore keeps the JSON of every state saved through it.
type recordingStore struct {
	Store
	mu   sync.Mutex
	docs [][]byte
}

func (r *recordingStore) Save(ctx context.Context, id string, s State, rev string) (string, error) {
	if b, err := json.Marshal(s); err == nil {
		r.mu.Lock()
		r.docs = append(r.docs, b)
		r.mu.Unlock()
	}
	return r.Store.Save(ctx, id, s, rev)
}

// FuzzResumeDamagedState resumes a rollout from a saved state that may be
// damaged (a file edited by hand, a disk error that still decodes). The
// seeds are every state a healthy rollout saved. Whatever the state says,
// Resume must not panic, must end once its context has ended (a virtual
// day) plus the rollback timeout — a hang is the fuzzer's to report —
// and an error-free end is a terminal phase.
func FuzzResumeDamagedState(f *testing.F) {
	h := newHarness(f, 3)
	rs := &recordingStore{Store: h.store}
	o := crashOptions(h)
	o.Store = rs
	r, err := NewRunner(o)
	if err != nil {
		f.Fatal(err)
	}
	if st, err := r.Start(context.Background(), Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2", Strategy: crashStrategy()}); err != nil || st.Phase != PhaseSucceeded {
		f.Fatalf("seed rollout: %s, %v", st.Phase, err)
	}
	for _, d := range rs.docs {
		f.Add(d)
	}
	// Inputs that once panicked or looped: an empty state (the machine
	// indexed a plan of no steps), and a mid-rollout state without its
	// stable version (the machine wrote a route naming version "", and
	// Next then returned it unchanged forever).
	f.Add([]byte(`{}`))
	var mid State
	if err := json.Unmarshal(rs.docs[len(rs.docs)/2], &mid); err != nil {
		f.Fatal(err)
	}
	mid.Stable = ""
	b, err := json.Marshal(mid)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, doc []byte) {
		var st State
		if json.Unmarshal(doc, &st) != nil {
			return
		}
		h := newHarness(t, 3)
		if _, err := h.store.Save(context.Background(), "r1", st, ""); err != nil {
			return
		}
		// The caller gives up after a virtual day (a paused rollout waits
		// for an operator until then); the runner then ends the rollout
		// as OnCancel says, within its rollback timeout.
		ctx, cancel := withClockTimeout(context.Background(), h.clk, 24*time.Hour)
		defer cancel()
		r, err := NewRunner(crashOptions(h))
		if err != nil {
			t.Fatal(err)
		}
		final, err := r.Resume(ctx, "r1")
		if err == nil && !final.Phase.Terminal() {
			t.Fatalf("Resume of %s ended without error in phase %s", doc, final.Phase)
		}
	})
}

// A damaged state ends in PhaseFailed with the damage as its reason, on
// any event, and the stores refuse to load one.
func TestDamagedState(t *testing.T) {
	h := newHarness(t, 3)
	r := h.runner(crashOptions(h))
	st, err := r.Start(context.Background(), Rollout{ID: "r1", Function: "fn", Alias: "prod", Candidate: "2", Strategy: crashStrategy()})
	if err != nil || st.Validate() != nil {
		t.Fatalf("a finished rollout: %v, valid: %v", err, st.Validate())
	}
	live := st
	live.Phase, live.Step, live.Awaiting = PhaseBaking, 0, AwaitNothing
	if err := live.Validate(); err != nil {
		t.Fatalf("a baking state: %v", err)
	}
	for name, damage := range map[string]func(*State){
		"empty":             func(s *State) { *s = State{} },
		"no stable version": func(s *State) { s.Stable = "" },
		"step beyond plan":  func(s *State) { s.Step = len(s.Plan.Steps) },
		"plan of no steps":  func(s *State) { s.Plan.Steps = nil },
		"plan not ending at all traffic": func(s *State) {
			s.Plan.Steps = []Step{{Weight: 1000}}
		},
		"candidate in the stable route": func(s *State) { s.Candidate = s.Stable },
		"pending but started":           func(s *State) { s.Phase = PhasePending },
	} {
		s := live
		s.Plan.Steps = append([]Step(nil), live.Plan.Steps...)
		damage(&s)
		if err := s.Validate(); !errors.Is(err, provider.ErrInvalid) {
			t.Errorf("%s: Validate = %v, want ErrInvalid", name, err)
			continue
		}
		next, acts := Next(s, Event{Kind: EventTick}, runEpoch)
		if next.Phase != PhaseFailed || !strings.Contains(next.Reason, "damaged state") || len(acts) != 1 || acts[0].Kind != ActionDone {
			t.Errorf("%s: Next → %s %q %v, want Failed for the damage and Done", name, next.Phase, next.Reason, acts)
		}
		store := &MemoryStore{}
		if _, err := store.Save(context.Background(), "d", s, ""); err != nil {
			t.Fatal(err)
		}
		if _, _, err := store.Load(context.Background(), "d"); !errors.Is(err, provider.ErrInvalid) || !errors.Is(err, ErrDamaged) {
			t.Errorf("%s: Load = %v, want ErrDamaged and ErrInvalid", name, err)
		}
	}
}

package fleet_test

import (
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/fleet"
)

// BenchmarkExecutor1000Targets runs a fleet release of 1,000 targets in
// three waves (3, 497, 500 targets) through the in-process executor on
// memory providers and one virtual clock: every target a
// Canary(10%, 5m) judged every minute by the relative error check (five
// windows, two route writes), each wave baked 10 minutes and judged by a
// threshold over its bake; all succeed. One iteration is the whole
// release (about 45 minutes of virtual time); set-up (publishing 2,000
// versions) is not timed.
//
// Reported per target: ns/target (wall time), cpu-ns/target (user and
// system CPU of the process, rusage), B/target and allocs/target
// (allocated during the run).
func BenchmarkExecutor1000Targets(b *testing.B) {
	const n = 1000
	var allocBytes, allocs uint64
	var cpu time.Duration
	var before, after runtime.MemStats
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		p := fleetPlan(n)
		p.Accounts = nil
		p.Waves[1].MaxParallel = 0
		w := newWorld(b, p.Targets, nil)
		runtime.GC()
		runtime.ReadMemStats(&before)
		r0 := rusage()
		b.StartTimer()
		st, err := w.run(b, p, nil)
		b.StopTimer()
		cpu += rusage() - r0
		runtime.ReadMemStats(&after)
		allocBytes += after.TotalAlloc - before.TotalAlloc
		allocs += after.Mallocs - before.Mallocs
		if err != nil || st.Count()[fleet.TargetSucceeded] != n {
			b.Fatalf("release: %v, %v", err, st.Count())
		}
		b.StartTimer()
	}
	targets := float64(b.N * n)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/targets, "ns/target")
	b.ReportMetric(float64(cpu.Nanoseconds())/targets, "cpu-ns/target")
	b.ReportMetric(float64(allocBytes)/targets, "B/target")
	b.ReportMetric(float64(allocs)/targets, "allocs/target")
}

func rusage() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

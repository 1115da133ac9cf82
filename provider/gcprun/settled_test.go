package gcprun

import (
	"testing"

	"cloud.google.com/go/run/apiv2/runpb"
)

// TestSettled: a service is reconciled when it is not reconciling, has
// observed its generation and every traffic target has a matching status,
// in whatever order the statuses are listed (RUNPB Service.reconciling).
func TestSettled(t *testing.T) {
	rev := func(r string, p int32, tag string) *runpb.TrafficTarget {
		return &runpb.TrafficTarget{Type: typeRevision, Revision: r, Percent: p, Tag: tag}
	}
	st := func(r string, p int32, tag string) *runpb.TrafficTargetStatus {
		return &runpb.TrafficTargetStatus{Type: typeRevision, Revision: r, Percent: p, Tag: tag}
	}
	split := []*runpb.TrafficTarget{rev("a", 90, ""), rev("b", 10, ""), rev("b", 0, "canary")}
	for _, c := range []struct {
		name string
		svc  *runpb.Service
		want bool
	}{
		{"matching", &runpb.Service{Generation: 3, ObservedGeneration: 3, Traffic: split, TrafficStatuses: []*runpb.TrafficTargetStatus{st("a", 90, ""), st("b", 10, ""), st("b", 0, "canary")}}, true},
		{"matching in another order", &runpb.Service{Generation: 3, ObservedGeneration: 3, Traffic: split, TrafficStatuses: []*runpb.TrafficTargetStatus{st("b", 0, "canary"), st("b", 10, ""), st("a", 90, "")}}, true},
		{"old split in force", &runpb.Service{Generation: 3, ObservedGeneration: 3, Traffic: split, TrafficStatuses: []*runpb.TrafficTargetStatus{st("a", 100, ""), st("b", 0, ""), st("b", 0, "canary")}}, false},
		{"reconciling", &runpb.Service{Generation: 3, ObservedGeneration: 3, Reconciling: true, Traffic: split, TrafficStatuses: []*runpb.TrafficTargetStatus{st("a", 90, ""), st("b", 10, ""), st("b", 0, "canary")}}, false},
		{"generation not observed", &runpb.Service{Generation: 4, ObservedGeneration: 3, Traffic: split, TrafficStatuses: []*runpb.TrafficTargetStatus{st("a", 90, ""), st("b", 10, ""), st("b", 0, "canary")}}, false},
		{"a status missing", &runpb.Service{Generation: 3, ObservedGeneration: 3, Traffic: split, TrafficStatuses: []*runpb.TrafficTargetStatus{st("a", 90, ""), st("b", 10, "")}}, false},
		{"empty traffic (latest)", &runpb.Service{Generation: 1, ObservedGeneration: 1}, true},
	} {
		if got := settled(c.svc); got != c.want {
			t.Errorf("%s: settled = %v, want %v", c.name, got, c.want)
		}
	}
}

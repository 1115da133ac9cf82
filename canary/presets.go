package canary

import (
	"fmt"
	"strings"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// Preset returns the strategy named like one of AWS CodeDeploy's predefined
// Lambda deployment configurations, with the same schedule:
//
//	Canary10Percent5Minutes       10% for 5 minutes, then 100%
//	Canary10Percent10Minutes      10% for 10 minutes, then 100%
//	Canary10Percent15Minutes      10% for 15 minutes, then 100%
//	Canary10Percent30Minutes      10% for 30 minutes, then 100%
//	Linear10PercentEvery1Minute   10%, 20%, …, 90% a minute apart, 100% at 9m
//	Linear10PercentEvery2Minutes  the same, 2 minutes apart (100% at 18m)
//	Linear10PercentEvery3Minutes  the same, 3 minutes apart (100% at 27m)
//	Linear10PercentEvery10Minutes the same, 10 minutes apart (100% at 90m)
//	AllAtOnce                     100% at once
//
// CodeDeploy's "LambdaCanary…" and "CodeDeployDefault.Lambda…" spellings are
// accepted too. The presets have no analysis: add checks to
// Strategy.Analysis. An unknown name is an error wrapping
// provider.ErrInvalid; there is no fallback.
func Preset(name string) (Strategy, error) {
	n := strings.TrimPrefix(name, "CodeDeployDefault.")
	n = strings.TrimPrefix(n, "Lambda")
	switch n {
	case "Canary10Percent5Minutes":
		return Canary(1000, 5*time.Minute), nil
	case "Canary10Percent10Minutes":
		return Canary(1000, 10*time.Minute), nil
	case "Canary10Percent15Minutes":
		return Canary(1000, 15*time.Minute), nil
	case "Canary10Percent30Minutes":
		return Canary(1000, 30*time.Minute), nil
	case "Linear10PercentEvery1Minute":
		return Linear(1000, time.Minute), nil
	case "Linear10PercentEvery2Minutes":
		return Linear(1000, 2*time.Minute), nil
	case "Linear10PercentEvery3Minutes":
		return Linear(1000, 3*time.Minute), nil
	case "Linear10PercentEvery10Minutes":
		return Linear(1000, 10*time.Minute), nil
	case "AllAtOnce":
		return AllAtOnce(), nil
	}
	return Strategy{}, fmt.Errorf("canary: %w", provider.Invalid("preset", "name", fmt.Sprintf("%q is not one of %s", name, strings.Join(Presets(), ", "))))
}

// Presets returns the names Preset accepts (in their short form), in the
// order CodeDeploy lists them. The slice is new on every call.
func Presets() []string {
	return []string{
		"Canary10Percent5Minutes",
		"Canary10Percent10Minutes",
		"Canary10Percent15Minutes",
		"Canary10Percent30Minutes",
		"Linear10PercentEvery1Minute",
		"Linear10PercentEvery2Minutes",
		"Linear10PercentEvery3Minutes",
		"Linear10PercentEvery10Minutes",
		"AllAtOnce",
	}
}

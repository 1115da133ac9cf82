package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/release"
)

// fileConfig is slipway.yaml. Every field is optional; flags and
// environment variables override it. slipway.schema.json describes the
// same shape for editors.
type fileConfig struct {
	Provider     string         `yaml:"provider"`
	Region       string         `yaml:"region"`
	Project      string         `yaml:"project"`
	Subscription string         `yaml:"subscription"`
	State        string         `yaml:"state"`
	Functions    []fnConfig     `yaml:"functions"`
	Stages       *stagesConfig  `yaml:"stages"`
	Strategy     *strategyCfg   `yaml:"strategy"`
	Checks       *checksConfig  `yaml:"checks"`
	Windows      []windowConfig `yaml:"windows"`
	Freezes      []freezeConfig `yaml:"freezes"`
	Retention    *retentionCfg  `yaml:"retention"`
	Notify       *notifyConfig  `yaml:"notifications"`
	Hooks        *hooksConfig   `yaml:"hooks"`
	Lease        *leaseConfig   `yaml:"lease"`
	Metrics      *metricsConfig `yaml:"metrics"`
	LockDown     *lockDownCfg   `yaml:"lockDown"`
	Remap        *remapCfg      `yaml:"remap"`
	Contract     *contractCfg   `yaml:"contract"`
	Publish      *publishCfg    `yaml:"publish"`
	Synthetic    *syntheticCfg  `yaml:"synthetic"`
	OnRollback   *onRollbackCfg `yaml:"onRollback"`
	Drill        *drillCfg      `yaml:"drill"`
}

type fnConfig struct {
	Name string `yaml:"name"`
}

type stagesConfig struct {
	Staging    string `yaml:"staging"`
	Production string `yaml:"production"`
}

type strategyCfg struct {
	Preset    string        `yaml:"preset"`
	Steps     []stepConfig  `yaml:"steps"`
	Interval  string        `yaml:"interval"`
	WarmUp    string        `yaml:"warmUp"`
	BlueGreen *blueGreenCfg `yaml:"blueGreen"`
}

type stepConfig struct {
	Weight float64 `yaml:"weight"` // percent
	Bake   string  `yaml:"bake"`
}

type blueGreenCfg struct {
	TestAlias string `yaml:"testAlias"`
	Validate  string `yaml:"validate"`
	KeepFor   string `yaml:"keepFor"`
}

type checksConfig struct {
	ErrorRate *struct {
		Factor float64 `yaml:"factor"`
		Slack  float64 `yaml:"slack"`
	} `yaml:"errorRate"`
	MaxErrorRate  *float64 `yaml:"maxErrorRate"`
	MaxLatencyP99 string   `yaml:"maxLatencyP99"`
	Judge         *struct {
		Metric     string  `yaml:"metric"`
		Confidence float64 `yaml:"confidence"`
		MinSamples int64   `yaml:"minSamples"`
	} `yaml:"judge"`
	FailureLimit int `yaml:"failureLimit"`
	// Alarms are CloudWatch alarms (canary.Alarms): a window fails when
	// one entered ALARM during the rollout.
	Alarms []string `yaml:"alarms"`
}

type windowConfig struct {
	Days     []string `yaml:"days"`
	Start    string   `yaml:"start"`
	End      string   `yaml:"end"`
	TimeZone string   `yaml:"timeZone"`
}

type freezeConfig struct {
	Name   string `yaml:"name"`
	Reason string `yaml:"reason"`
	Start  string `yaml:"start"`
	End    string `yaml:"end"`
}

type retentionCfg struct {
	KeepLast   int    `yaml:"keepLast"`
	KeepWithin string `yaml:"keepWithin"`
}

type notifyConfig struct {
	Webhook      string        `yaml:"webhook"`
	SlackWebhook string        `yaml:"slackWebhook"`
	PagerDuty    *pagerDutyCfg `yaml:"pagerduty"`
	Teams        *teamsCfg     `yaml:"teams"`
	Slack        *slackBotCfg  `yaml:"slack"`
}

type hooksConfig struct {
	PreTraffic  []string `yaml:"preTraffic"`
	PostTraffic []string `yaml:"postTraffic"`
	OnRollback  []string `yaml:"onRollback"`
	Timeout     string   `yaml:"timeout"`
}

type leaseConfig struct {
	TTL string `yaml:"ttl"`
}

// flagValue is a config value that stands in for a flag.
type flagValue struct {
	value string
	line  int
	field string
}

// config is a parsed, validated config file.
type config struct {
	path  string
	file  fileConfig
	flags map[string]flagValue // flag name → value, applied under flags and env

	strategy *canary.Strategy // nil: the --strategy preset
	checks   []canary.CheckSpec
	policy   *release.DeployPolicy
	hooks    hooksConfig
	hookTO   time.Duration
	metrics  *metricsSource // nil: the provider's own metrics
	alarms   []string       // checks.alarms
	alarmsAt int            // its line
	steps    stepsConfig    // contract, synthetic, onRollback, lockDown, remap, drill
}

func (c *config) hasFunction(name string) bool {
	for _, f := range c.file.Functions {
		if f.Name == name {
			return true
		}
	}
	return false
}

func (c *config) functionNames() []string {
	var out []string
	for _, f := range c.file.Functions {
		out = append(out, f.Name)
	}
	return out
}

// configError is a config file error at a line, naming the field.
func configError(path string, line int, field, format string, args ...any) error {
	return fmt.Errorf("%w: %s:%d: %s: %s", errUsage, path, line, field, fmt.Sprintf(format, args...))
}

var yamlLineRE = regexp.MustCompile(`line (\d+): (.*)`)

// loadConfig reads the config file at path. A missing file is no config
// unless it was named explicitly.
func loadConfig(path string, explicit bool) (*config, error) {
	doc, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return nil, nil
	}
	if err != nil {
		return nil, usageError("config: %v", err)
	}
	return parseConfig(path, doc)
}

// parseConfig parses and validates a config file: unknown keys and bad
// values are errors naming the file, the line and the field.
func parseConfig(path string, doc []byte) (*config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, yamlError(path, err)
	}
	c := &config{path: path, flags: map[string]flagValue{}}
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&c.file); err != nil && !errors.Is(err, errEOF(err)) {
		return nil, yamlError(path, err)
	}
	if err := c.validate(&root); err != nil {
		return nil, err
	}
	return c, nil
}

// errEOF returns err when it is the decoder's end of an empty document.
func errEOF(err error) error {
	if err != nil && err.Error() == "EOF" {
		return err
	}
	return errors.New("not EOF")
}

// yamlError turns the YAML library's error into file:line: message.
func yamlError(path string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		var msgs []string
		for _, e := range te.Errors {
			if m := yamlLineRE.FindStringSubmatch(e); m != nil {
				msg := m[2]
				if f, ok := strings.CutPrefix(msg, "field "); ok {
					name, _, _ := strings.Cut(f, " not found")
					msg = fmt.Sprintf("%s: unknown field", name)
				}
				msgs = append(msgs, fmt.Sprintf("%s:%s: %s", path, m[1], msg))
				continue
			}
			msgs = append(msgs, path+": "+e)
		}
		return fmt.Errorf("%w: %s", errUsage, strings.Join(msgs, "; "))
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%w: %s:%s: %s", errUsage, path, m[1], m[2])
	}
	return fmt.Errorf("%w: %s: %s", errUsage, path, msg)
}

// line returns the line of the value at a path of mapping keys and
// sequence indexes ("strategy", "steps", 2, "weight") in root; the line
// of the deepest node found when the path does not go all the way.
func line(root *yaml.Node, path ...any) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	ln := n.Line
	for _, p := range path {
		var next *yaml.Node
		switch k := p.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == k {
						next = n.Content[i+1]
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && k < len(n.Content) {
				next = n.Content[k]
			}
		}
		if next == nil {
			return ln
		}
		n, ln = next, next.Line
	}
	return ln
}

// fieldName renders a path: strategy.steps[2].weight.
func fieldName(path ...any) string {
	var b strings.Builder
	for _, p := range path {
		switch k := p.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(k)
		case int:
			fmt.Fprintf(&b, "[%d]", k)
		}
	}
	return b.String()
}

// validate checks every value and builds what the command uses.
func (c *config) validate(root *yaml.Node) error {
	f := c.file
	bad := func(format string, path ...any) func(args ...any) error {
		return func(args ...any) error {
			return configError(c.path, line(root, path...), fieldName(path...), format, args...)
		}
	}
	set := func(flag, value string, path ...any) {
		if value != "" {
			c.flags[flag] = flagValue{value: value, line: line(root, path...), field: fieldName(path...)}
		}
	}
	dur := func(text string, path ...any) (time.Duration, error) {
		if text == "" {
			return 0, nil
		}
		d, err := time.ParseDuration(text)
		if err != nil || d < 0 {
			return 0, bad("%q is not a duration (like 90s, 5m, 1h30m)", path...)(text)
		}
		return d, nil
	}
	if f.Provider != "" {
		if _, ok := providerByName(f.Provider); !ok {
			return bad("%q is not a provider: want one of %s", "provider")(f.Provider, strings.Join(providerNames(), ", "))
		}
		set("provider", f.Provider, "provider")
	}
	set("region", f.Region, "region")
	set("project", f.Project, "project")
	set("subscription", f.Subscription, "subscription")
	set("state", f.State, "state")
	seen := map[string]bool{}
	for i, fn := range f.Functions {
		if fn.Name == "" || strings.ContainsAny(fn.Name, " \t\n") {
			return bad("%q is not a function name", "functions", i, "name")(fn.Name)
		}
		if seen[fn.Name] {
			return bad("%q is listed twice", "functions", i, "name")(fn.Name)
		}
		seen[fn.Name] = true
	}
	if st := f.Stages; st != nil {
		for name, v := range map[string]string{"staging": st.Staging, "production": st.Production} {
			if strings.ContainsAny(v, " \t\n/") {
				return bad("%q is not an alias name", "stages", name)(v)
			}
			set(name, v, "stages", name)
		}
		if st.Staging != "" && st.Staging == st.Production {
			return bad("staging and production are both %q", "stages", "production")(st.Staging)
		}
	}
	if s := f.Strategy; s != nil {
		if err := c.buildStrategy(root, bad, dur); err != nil {
			return err
		}
	}
	if ch := f.Checks; ch != nil {
		if err := c.buildChecks(root, bad, dur); err != nil {
			return err
		}
	}
	if err := c.buildMetrics(root, bad, dur); err != nil {
		return err
	}
	if err := c.buildNotify(root, bad); err != nil {
		return err
	}
	if len(f.Windows) > 0 || len(f.Freezes) > 0 {
		pol := &release.DeployPolicy{}
		for i, w := range f.Windows {
			var rw release.DeployWindow
			for j, d := range w.Days {
				wd, ok := weekday(d)
				if !ok {
					return bad("%q is not a weekday (Mon, Monday, …)", "windows", i, "days", j)(d)
				}
				rw.Days = append(rw.Days, wd)
			}
			for _, part := range []struct {
				name string
				text string
				dst  *release.TimeOfDay
			}{{"start", w.Start, &rw.Start}, {"end", w.End, &rw.End}} {
				if err := part.dst.UnmarshalText([]byte(part.text)); err != nil {
					return bad("%q is not a time of day (15:04)", "windows", i, part.name)(part.text)
				}
			}
			if w.TimeZone != "" {
				if _, err := time.LoadLocation(w.TimeZone); err != nil {
					return bad("%q is not a time zone (Europe/Berlin)", "windows", i, "timeZone")(w.TimeZone)
				}
			}
			rw.TimeZone = w.TimeZone
			pol.Windows = append(pol.Windows, rw)
		}
		for i, fr := range f.Freezes {
			rf := release.Freeze{Name: fr.Name, Reason: fr.Reason}
			for _, part := range []struct {
				name, text string
				dst        *time.Time
			}{{"start", fr.Start, &rf.Start}, {"end", fr.End, &rf.End}} {
				t, err := parseWhen(part.text)
				if err != nil {
					return bad("%q is not a time (2026-12-20 or 2026-12-20T18:00:00Z)", "freezes", i, part.name)(part.text)
				}
				*part.dst = t
			}
			if fr.Name == "" {
				return bad("is empty", "freezes", i, "name")()
			}
			pol.Freezes = append(pol.Freezes, rf)
		}
		if err := pol.Validate(); err != nil {
			return bad("%v", "windows")(err)
		}
		c.policy = pol
	}
	if r := f.Retention; r != nil {
		if r.KeepLast < 0 {
			return bad("%d is negative", "retention", "keepLast")(r.KeepLast)
		}
		if r.KeepLast > 0 {
			set("keep-last", strconv.Itoa(r.KeepLast), "retention", "keepLast")
		}
		if _, err := dur(r.KeepWithin, "retention", "keepWithin"); err != nil {
			return err
		}
		set("keep-within", r.KeepWithin, "retention", "keepWithin")
	}
	if n := f.Notify; n != nil {
		set("webhook", os.ExpandEnv(n.Webhook), "notifications", "webhook")
		set("slack-webhook", os.ExpandEnv(n.SlackWebhook), "notifications", "slackWebhook")
	}
	if h := f.Hooks; h != nil {
		for _, hk := range []struct {
			name string
			cmd  []string
		}{{"preTraffic", h.PreTraffic}, {"postTraffic", h.PostTraffic}, {"onRollback", h.OnRollback}} {
			if len(hk.cmd) == 0 {
				continue
			}
			if _, err := exec.LookPath(hk.cmd[0]); err != nil {
				return bad("command %q not found", "hooks", hk.name, 0)(hk.cmd[0])
			}
		}
		d, err := dur(h.Timeout, "hooks", "timeout")
		if err != nil {
			return err
		}
		c.hooks, c.hookTO = *h, d
	}
	if l := f.Lease; l != nil {
		d, err := dur(l.TTL, "lease", "ttl")
		if err != nil {
			return err
		}
		if d > 0 && d < time.Second {
			return bad("%v: want at least 1s", "lease", "ttl")(d)
		}
		set("lease-ttl", l.TTL, "lease", "ttl")
	}
	return c.buildSteps(root, bad, dur, set)
}

func (c *config) buildStrategy(root *yaml.Node, bad func(string, ...any) func(...any) error, dur func(string, ...any) (time.Duration, error)) error {
	s := c.file.Strategy
	n := 0
	for _, b := range []bool{s.Preset != "", len(s.Steps) > 0, s.BlueGreen != nil} {
		if b {
			n++
		}
	}
	if n != 1 {
		return bad("give exactly one of preset, steps and blueGreen", "strategy")()
	}
	var st canary.Strategy
	switch {
	case s.Preset != "":
		p, err := canary.Preset(s.Preset)
		if err != nil {
			return bad("%q is not a preset: want one of %s", "strategy", "preset")(s.Preset, strings.Join(canary.Presets(), ", "))
		}
		c.flags["strategy"] = flagValue{value: s.Preset, line: line(root, "strategy", "preset"), field: "strategy.preset"}
		st = p
	case len(s.Steps) > 0:
		var steps []canary.Step
		for i, step := range s.Steps {
			if !(step.Weight > 0 && step.Weight <= 100) {
				return bad("%v is not a percentage in (0, 100]", "strategy", "steps", i, "weight")(step.Weight)
			}
			bake, err := dur(step.Bake, "strategy", "steps", i, "bake")
			if err != nil {
				return err
			}
			steps = append(steps, canary.Step{Weight: int(step.Weight*100 + 0.5), Bake: bake})
		}
		st = canary.Custom(steps...)
	default:
		bg := s.BlueGreen
		v, err := dur(bg.Validate, "strategy", "blueGreen", "validate")
		if err != nil {
			return err
		}
		k, err := dur(bg.KeepFor, "strategy", "blueGreen", "keepFor")
		if err != nil {
			return err
		}
		if bg.TestAlias == "" {
			return bad("is empty", "strategy", "blueGreen", "testAlias")()
		}
		st = canary.BlueGreenStrategy(bg.TestAlias, v, k)
	}
	iv, err := dur(s.Interval, "strategy", "interval")
	if err != nil {
		return err
	}
	if iv > 0 {
		st.Interval = iv
	}
	wu, err := dur(s.WarmUp, "strategy", "warmUp")
	if err != nil {
		return err
	}
	st.WarmUp = wu
	if err := st.Validate(provider.Capabilities{}); err != nil {
		return bad("%v", "strategy")(err)
	}
	if s.Preset == "" {
		c.strategy = &st
	}
	return nil
}

func (c *config) buildChecks(root *yaml.Node, bad func(string, ...any) func(...any) error, dur func(string, ...any) (time.Duration, error)) error {
	ch := c.file.Checks
	if e := ch.ErrorRate; e != nil {
		if !(e.Factor > 0) {
			return bad("%v: want a factor > 0", "checks", "errorRate", "factor")(e.Factor)
		}
		if !(e.Slack >= 0 && e.Slack <= 1) {
			return bad("%v: want a rate in [0, 1]", "checks", "errorRate", "slack")(e.Slack)
		}
		c.flags["error-rate-factor"] = flagValue{value: strconv.FormatFloat(e.Factor, 'g', -1, 64), line: line(root, "checks", "errorRate", "factor"), field: "checks.errorRate.factor"}
		c.flags["error-rate-slack"] = flagValue{value: strconv.FormatFloat(e.Slack, 'g', -1, 64), line: line(root, "checks", "errorRate", "slack"), field: "checks.errorRate.slack"}
	}
	if m := ch.MaxErrorRate; m != nil {
		if !(*m >= 0 && *m <= 1) {
			return bad("%v: want a rate in [0, 1]", "checks", "maxErrorRate")(*m)
		}
		c.checks = append(c.checks, canary.CheckSpec{Name: "max error rate", Check: canary.Threshold{Metric: canary.ErrorRate, Max: *m}})
	}
	if ch.MaxLatencyP99 != "" {
		d, err := dur(ch.MaxLatencyP99, "checks", "maxLatencyP99")
		if err != nil {
			return err
		}
		c.checks = append(c.checks, canary.CheckSpec{Name: "p99 latency", Check: canary.Threshold{Metric: canary.LatencyP99, Max: d.Seconds()}})
	}
	if j := ch.Judge; j != nil {
		var m canary.Metric
		if err := m.UnmarshalText([]byte(j.Metric)); err != nil {
			return bad("%q is not a metric (ErrorRate, LatencyP99, …)", "checks", "judge", "metric")(j.Metric)
		}
		if j.Confidence != 0 && !(j.Confidence > 0 && j.Confidence < 1) {
			return bad("%v: want a level in (0, 1)", "checks", "judge", "confidence")(j.Confidence)
		}
		jd := canary.Judge{Metric: m, Confidence: j.Confidence, MinSamples: j.MinSamples}
		c.checks = append(c.checks, canary.CheckSpec{Name: "judge " + j.Metric, Check: jd})
	}
	if ch.FailureLimit < 0 {
		return bad("%d is negative", "checks", "failureLimit")(ch.FailureLimit)
	}
	if ch.Alarms != nil {
		if len(ch.Alarms) == 0 {
			return bad("is empty: name at least one alarm", "checks", "alarms")()
		}
		seen := map[string]bool{}
		for i, n := range ch.Alarms {
			if strings.TrimSpace(n) == "" || len(n) > 255 {
				return bad("%q is not an alarm name (1 to 255 characters)", "checks", "alarms", i)(n)
			}
			if seen[n] {
				return bad("%q is listed twice", "checks", "alarms", i)(n)
			}
			seen[n] = true
		}
		c.alarms, c.alarmsAt = ch.Alarms, line(root, "checks", "alarms")
	}
	return nil
}

// alarmsCheck is the checks.alarms check over the provider's alarms; an
// error naming the file's line when the provider reads no alarms.
func (c *config) alarmsCheck(p provider.Provider) (*canary.CheckSpec, error) {
	if c == nil || c.alarms == nil {
		return nil, nil
	}
	r, ok := p.(provider.AlarmReader)
	if !ok {
		return nil, configError(c.path, c.alarmsAt, "checks.alarms", "the provider reads no alarms (use awslambda for CloudWatch alarms)")
	}
	return &canary.CheckSpec{Name: alarmsCheckName, Check: canary.Alarms{Reader: r, Names: c.alarms}}, nil
}

const alarmsCheckName = "alarms"

func weekday(s string) (time.Weekday, bool) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		if strings.EqualFold(s, d.String()) || strings.EqualFold(s, d.String()[:3]) {
			return d, true
		}
	}
	return 0, false
}

func parseWhen(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, s)
}

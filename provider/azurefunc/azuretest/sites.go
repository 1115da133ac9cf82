package azuretest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// site is a function app with its slots. The production slot is slots[""].
type site struct {
	name        string
	location    string
	slots       map[string]*slot
	deployments map[string]map[string]any // id → properties
	swap        *swapOp
	swapSeq     int
}

// slot is one deployment slot: its app settings and its site config
// (config/web "properties" as JSON values).
type slot struct {
	name     string
	settings map[string]string
	config   map[string]json.RawMessage
}

type swapOp struct {
	id       string
	started  time.Time
	source   string // the slot swapped with production
	polls    int
	finished bool
}

func (st *site) host(slotName string) string {
	if slotName == "" {
		return st.name + ".azurewebsites.net"
	}
	return st.name + "-" + slotName + ".azurewebsites.net"
}

func (st *site) id(slotName string) string {
	id := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Web/sites/%s", Subscription, ResourceGroup, st.name)
	if slotName != "" {
		id += "/slots/" + slotName
	}
	return id
}

// slotByHost returns the slot whose default host name is host.
func (st *site) slotByHost(host string) (string, bool) {
	for name := range st.slots {
		if strings.EqualFold(st.host(name), host) {
			return name, true
		}
	}
	return "", false
}

var appName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9-]{0,58}$`)

// CreateSite creates a function app (the production slot) with the given
// app settings, as a user's infrastructure code would before slipway
// manages it. It fails when the name is taken or malformed.
func (s *Server) CreateSite(name string, settings map[string]string) error {
	if !appName.MatchString(name) {
		return fmt.Errorf("azuretest: site name %q: letters, digits and hyphens, at most 60 characters", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sites[name]; ok {
		return fmt.Errorf("azuretest: site %q exists", name)
	}
	st := &site{name: name, location: Location, slots: map[string]*slot{}, deployments: map[string]map[string]any{}}
	st.slots[""] = &slot{settings: maps.Clone(settings), config: defaultConfig()}
	if st.slots[""].settings == nil {
		st.slots[""].settings = map[string]string{}
	}
	s.sites[name] = st
	s.record(st)
	return nil
}

// Settings returns a copy of a slot's app settings ("" is production).
func (s *Server) Settings(app, slotName string) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl, aerr := s.slot(app, slotName)
	if aerr != nil {
		return nil, aerr
	}
	return maps.Clone(sl.settings), nil
}

// RampUpRules returns the production slot's rampUpRules as JSON.
func (s *Server) RampUpRules(app string) (json.RawMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl, aerr := s.slot(app, "")
	if aerr != nil {
		return nil, aerr
	}
	rules, _ := rulesOf(sl.config)
	b, err := json.Marshal(rules)
	return b, err
}

func defaultConfig() map[string]json.RawMessage {
	return map[string]json.RawMessage{
		"numberOfWorkers": json.RawMessage(`1`),
		"alwaysOn":        json.RawMessage(`false`),
		"http20Enabled":   json.RawMessage(`true`),
		"minTlsVersion":   json.RawMessage(`"1.2"`),
		"experiments":     json.RawMessage(`{"rampUpRules":[]}`),
	}
}

// site looks up an app, completing a swap whose SwapDuration has passed.
// Callers hold s.mu.
func (s *Server) site(app string) (*site, *armError) {
	st, ok := s.sites[app]
	if !ok {
		return nil, errf(http.StatusNotFound, "ResourceNotFound",
			"The Resource 'Microsoft.Web/sites/%s' under resource group '%s' was not found.", app, ResourceGroup)
	}
	if op := st.swap; op != nil && !op.finished && s.opts.SwapDuration > 0 && !s.now().Before(op.started.Add(s.opts.SwapDuration)) {
		s.finishSwap(st)
	}
	return st, nil
}

func (s *Server) slot(app, name string) (*slot, *armError) {
	_, sl, aerr := s.siteSlot(app, name)
	return sl, aerr
}

// siteSlot returns an app and its slot name ("" is production).
func (s *Server) siteSlot(app, name string) (*site, *slot, *armError) {
	st, aerr := s.site(app)
	if aerr != nil {
		return nil, nil, aerr
	}
	sl, ok := st.slots[name]
	if !ok {
		return nil, nil, errf(http.StatusNotFound, "ResourceNotFound",
			"The Resource 'Microsoft.Web/sites/%s/slots/%s' under resource group '%s' was not found.", app, name, ResourceGroup)
	}
	return st, sl, nil
}

func (s *Server) siteJSON(st *site, slotName string) map[string]any {
	name := st.name
	typ := "Microsoft.Web/sites"
	if slotName != "" {
		name += "/" + slotName
		typ = "Microsoft.Web/sites/slots"
	}
	props := map[string]any{
		"state":           "Running",
		"defaultHostName": st.host(slotName),
		"enabledHostNames": []string{
			st.host(slotName),
			strings.Replace(st.host(slotName), ".azurewebsites.net", ".scm.azurewebsites.net", 1),
		},
	}
	if st.swap != nil && !st.swap.finished {
		props["slotSwapStatus"] = map[string]any{"sourceSlotName": st.swap.source, "destinationSlotName": "production"}
	}
	return map[string]any{"id": st.id(slotName), "name": name, "type": typ, "kind": "functionapp", "location": st.location, "properties": props}
}

func (s *Server) getSite(req request) (any, *armError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, aerr := s.site(req.app)
	if aerr != nil {
		return nil, aerr
	}
	if _, aerr := s.slot(req.app, req.slot); aerr != nil {
		return nil, aerr
	}
	return s.siteJSON(st, req.slot), nil
}

var slotName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9-]*$`)

// putSlot creates or updates a slot (Web Apps - Create Or Update Slot):
// the body is a Site and location is required. A new slot starts with no
// app settings and the default site config (no configurationSource clone).
func (s *Server) putSlot(r *http.Request, req request) (any, *armError) {
	var body struct {
		Location *string `json:"location"`
	}
	if aerr := decode(r, &body); aerr != nil {
		return nil, aerr
	}
	if body.Location == nil || *body.Location == "" {
		return nil, errf(http.StatusBadRequest, "LocationRequired", "The location property is required for this definition.")
	}
	if !slotName.MatchString(req.slot) || strings.EqualFold(req.slot, "production") || len(req.app)+1+len(req.slot) > 59 {
		return nil, errf(http.StatusBadRequest, "BadRequest", "The slot name '%s' is invalid.", req.slot)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, aerr := s.site(req.app)
	if aerr != nil {
		return nil, aerr
	}
	if _, ok := st.slots[req.slot]; !ok {
		if len(st.slots)-1 >= s.maxSlots() {
			return nil, errf(http.StatusConflict, "Conflict",
				"Cannot create more than %d deployment slots for this app's plan.", s.maxSlots())
		}
		st.slots[req.slot] = &slot{name: req.slot, settings: map[string]string{}, config: defaultConfig()}
		s.record(st)
	}
	return s.siteJSON(st, req.slot), nil
}

func (s *Server) deleteSlot(req request) *armError {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, aerr := s.site(req.app)
	if aerr != nil {
		return aerr
	}
	if _, ok := st.slots[req.slot]; !ok {
		return errf(http.StatusNotFound, "ResourceNotFound", "slot %s not found", req.slot)
	}
	if st.swap != nil && !st.swap.finished && st.swap.source == req.slot {
		return errf(http.StatusConflict, "Conflict", "Cannot delete slot '%s' while a swap operation is in progress.", req.slot)
	}
	delete(st.slots, req.slot)
	s.record(st)
	return nil
}

func (s *Server) listSlots(r *http.Request, req request) (any, *armError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, aerr := s.site(req.app)
	if aerr != nil {
		return nil, aerr
	}
	var names []string
	for n := range st.slots {
		if n != "" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	items, next, aerr := page(s, r, names)
	if aerr != nil {
		return nil, aerr
	}
	value := []any{}
	for _, n := range items {
		value = append(value, s.siteJSON(st, n))
	}
	out := map[string]any{"value": value}
	if next != "" {
		out["nextLink"] = next
	}
	return out, nil
}

func (s *Server) configJSON(st *site, slotName string, sl *slot) map[string]any {
	name := st.name + "/web"
	if slotName != "" {
		name = st.name + "/" + slotName + "/web"
	}
	return map[string]any{"id": st.id(slotName) + "/config/web", "name": name, "type": "Microsoft.Web/sites/config", "properties": sl.config}
}

func (s *Server) getConfig(req request) (any, *armError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, sl, aerr := s.siteSlot(req.app, req.slot)
	if aerr != nil {
		return nil, aerr
	}
	return s.configJSON(st, req.slot, sl), nil
}

// rampUpRule is the wire form of a RampUpRule.
type rampUpRule struct {
	Name                      *string  `json:"name,omitempty"`
	ActionHostName            *string  `json:"actionHostName,omitempty"`
	ReroutePercentage         *float64 `json:"reroutePercentage,omitempty"`
	ChangeStep                *float64 `json:"changeStep,omitempty"`
	ChangeIntervalInMinutes   *int32   `json:"changeIntervalInMinutes,omitempty"`
	MinReroutePercentage      *float64 `json:"minReroutePercentage,omitempty"`
	MaxReroutePercentage      *float64 `json:"maxReroutePercentage,omitempty"`
	ChangeDecisionCallbackURL *string  `json:"changeDecisionCallbackUrl,omitempty"`
}

func rulesOf(config map[string]json.RawMessage) ([]rampUpRule, error) {
	raw, ok := config["experiments"]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var ex struct {
		RampUpRules []rampUpRule `json:"rampUpRules"`
	}
	if err := json.Unmarshal(raw, &ex); err != nil {
		return nil, err
	}
	return ex.RampUpRules, nil
}

// checkRules enforces what the RampUpRule reference says of each field:
// name unique in the list ("It has to be unique in the collection of
// rules"), actionHostName the host name of a slot of this app ("Hostname of
// a slot to which the traffic will be redirected"), reroutePercentage a
// percentage (0–100; the bound is the emulator's reading of "percentage of
// the traffic", the reference gives no range) and min ≤ max. Rules are
// honoured on the production slot only.
func (st *site) checkRules(slotName string, rules []rampUpRule) *armError {
	names := map[string]bool{}
	total := 0.0
	for i, r := range rules {
		if r.Name == nil || *r.Name == "" {
			return errf(http.StatusBadRequest, "BadRequest", "rampUpRules[%d]: name is required", i)
		}
		if names[strings.ToLower(*r.Name)] {
			return errf(http.StatusBadRequest, "BadRequest", "rampUpRules[%d]: the name '%s' is not unique in the collection of rules", i, *r.Name)
		}
		names[strings.ToLower(*r.Name)] = true
		if r.ActionHostName == nil {
			return errf(http.StatusBadRequest, "BadRequest", "rampUpRules[%d]: actionHostName is required", i)
		}
		target, ok := st.slotByHost(*r.ActionHostName)
		if !ok || target == slotName {
			return errf(http.StatusBadRequest, "BadRequest", "rampUpRules[%d]: actionHostName '%s' is not the host name of another slot of app '%s'", i, *r.ActionHostName, st.name)
		}
		for field, p := range map[string]*float64{"reroutePercentage": r.ReroutePercentage, "minReroutePercentage": r.MinReroutePercentage, "maxReroutePercentage": r.MaxReroutePercentage} {
			if p != nil && !(*p >= 0 && *p <= 100) {
				return errf(http.StatusBadRequest, "BadRequest", "rampUpRules[%d]: %s %v is outside 0..100", i, field, *p)
			}
		}
		if r.MinReroutePercentage != nil && r.MaxReroutePercentage != nil && *r.MinReroutePercentage > *r.MaxReroutePercentage {
			return errf(http.StatusBadRequest, "BadRequest", "rampUpRules[%d]: minReroutePercentage exceeds maxReroutePercentage", i)
		}
		if r.ReroutePercentage != nil {
			total += *r.ReroutePercentage
		}
	}
	if total > 100 {
		return errf(http.StatusBadRequest, "BadRequest", "rampUpRules: the reroute percentages add up to %v, more than 100", total)
	}
	return nil
}

// writeConfig serves PUT (replace: the body's properties become the whole
// site config; what it leaves out is reset to the defaults) and PATCH
// (merge: each top-level property in the body replaces the stored one as
// a whole, so experiments.rampUpRules is replaced as a list).
func (s *Server) writeConfig(r *http.Request, req request, replace bool) (any, *armError) {
	var body struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if aerr := decode(r, &body); aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, sl, aerr := s.siteSlot(req.app, req.slot)
	if aerr != nil {
		return nil, aerr
	}
	next := maps.Clone(sl.config)
	if replace {
		next = defaultConfig()
	}
	for k, v := range body.Properties {
		if string(v) == "null" {
			continue // the SDK omits nil fields; a JSON null leaves the property as it is
		}
		next[k] = v
	}
	rules, err := rulesOf(next)
	if err != nil {
		return nil, errf(http.StatusBadRequest, "InvalidRequestContent", "experiments: %v", err)
	}
	if aerr := st.checkRules(req.slot, rules); aerr != nil {
		return nil, aerr
	}
	sl.config = next
	s.record(st)
	return s.configJSON(st, req.slot, sl), nil
}

func (s *Server) settingsJSON(st *site, slotName string, sl *slot) map[string]any {
	return map[string]any{"id": st.id(slotName) + "/config/appsettings", "name": "appsettings", "type": "Microsoft.Web/sites/config", "properties": maps.Clone(sl.settings)}
}

func (s *Server) listSettings(req request) (any, *armError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, sl, aerr := s.siteSlot(req.app, req.slot)
	if aerr != nil {
		return nil, aerr
	}
	return s.settingsJSON(st, req.slot, sl), nil
}

// putSettings replaces a slot's app settings with the body's properties
// ("Replaces the application settings of an app": a setting left out is
// deleted).
func (s *Server) putSettings(r *http.Request, req request) (any, *armError) {
	var body struct {
		Properties map[string]string `json:"properties"`
	}
	if aerr := decode(r, &body); aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, sl, aerr := s.siteSlot(req.app, req.slot)
	if aerr != nil {
		return nil, aerr
	}
	sl.settings = maps.Clone(body.Properties)
	if sl.settings == nil {
		sl.settings = map[string]string{}
	}
	s.record(st)
	return s.settingsJSON(st, req.slot, sl), nil
}

// startSwap starts a swap of a slot with production (Web Apps - Swap Slot,
// POST …/slots/{slot}/slotsswap with targetSlot "production"; or Swap Slot
// With Production, POST …/slotsswap with targetSlot naming the slot). Both
// body fields are required by the reference. It answers 202 with Location
// and Retry-After; a second swap while one runs is 409 Conflict.
func (s *Server) startSwap(r *http.Request, req request) (string, *armError) {
	var body struct {
		TargetSlot   *string `json:"targetSlot"`
		PreserveVnet *bool   `json:"preserveVnet"`
	}
	if aerr := decode(r, &body); aerr != nil {
		return "", aerr
	}
	if body.TargetSlot == nil || body.PreserveVnet == nil {
		return "", errf(http.StatusBadRequest, "BadRequest", "targetSlot and preserveVnet are required")
	}
	source, target := req.slot, *body.TargetSlot
	if source == "" {
		source, target = target, "production"
	}
	if !strings.EqualFold(target, "production") {
		return "", errf(http.StatusBadRequest, "BadRequest", "the emulator swaps slots with production only, not with '%s'", target)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, aerr := s.site(req.app)
	if aerr != nil {
		return "", aerr
	}
	if _, ok := st.slots[source]; !ok || source == "" {
		return "", errf(http.StatusNotFound, "ResourceNotFound", "slot '%s' of app '%s' was not found", source, req.app)
	}
	if st.swap != nil && !st.swap.finished {
		return "", errf(http.StatusConflict, "Conflict", "There is a swap operation in progress for app '%s'. Please wait for it to complete.", req.app)
	}
	st.swapSeq++
	st.swap = &swapOp{id: "swap-" + strconv.Itoa(st.swapSeq), source: source, started: s.now()}
	if s.opts.SwapPolls < 0 {
		s.finishSwap(st)
	}
	return fmt.Sprintf("%s%s/operationresults/%s?api-version=%s", s.srv.URL, st.id(""), st.swap.id, WebAPIVersion), nil
}

// pollSwap answers a poll of a swap's Location: 202 while it runs, 200
// once done; the swap takes effect on the poll that completes it.
func (s *Server) pollSwap(req request) (bool, *armError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, aerr := s.site(req.app)
	if aerr != nil {
		return false, aerr
	}
	op := st.swap
	if op == nil || op.id != req.rest[1] {
		return false, errf(http.StatusNotFound, "ResourceNotFound", "operation %s not found", req.rest[1])
	}
	if op.finished {
		return true, nil
	}
	op.polls++
	need := max(s.opts.SwapPolls, 1)
	if op.polls <= need-1 {
		return false, nil
	}
	s.finishSwap(st)
	return true, nil
}

// finishSwap exchanges the app settings (and with them the package a slot
// runs) of the source slot and production. Site config, ramp-up rules
// included, stays with each slot.
func (s *Server) finishSwap(st *site) {
	src, prod := st.slots[st.swap.source], st.slots[""]
	src.settings, prod.settings = prod.settings, src.settings
	st.swap.finished = true
	s.record(st)
}

func (s *Server) deploymentJSON(st *site, id string, props map[string]any) map[string]any {
	return map[string]any{"id": st.id("") + "/deployments/" + id, "name": st.name + "/" + id, "type": "Microsoft.Web/sites/deployments", "properties": props}
}

var deploymentID = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

func (s *Server) putDeployment(r *http.Request, req request) (any, *armError) {
	if req.slot != "" {
		return nil, errf(http.StatusBadRequest, "BadRequest", "the emulator keeps deployments on the production slot only")
	}
	var body struct {
		Properties map[string]any `json:"properties"`
	}
	if aerr := decode(r, &body); aerr != nil {
		return nil, aerr
	}
	id := req.rest[1]
	if !deploymentID.MatchString(id) {
		return nil, errf(http.StatusBadRequest, "BadRequest", "invalid deployment id '%s'", id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, aerr := s.site(req.app)
	if aerr != nil {
		return nil, aerr
	}
	props := body.Properties
	if props == nil {
		props = map[string]any{}
	}
	st.deployments[id] = props
	return s.deploymentJSON(st, id, props), nil
}

func (s *Server) getDeployment(req request) (any, *armError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, aerr := s.site(req.app)
	if aerr != nil {
		return nil, aerr
	}
	props, ok := st.deployments[req.rest[1]]
	if !ok || req.slot != "" {
		return nil, errf(http.StatusNotFound, "ResourceNotFound", "Deployment '%s' of app '%s' was not found.", req.rest[1], req.app)
	}
	return s.deploymentJSON(st, req.rest[1], props), nil
}

// deleteDeployment answers 200 when it deleted and 204 when there was
// nothing to delete (the SDK accepts both).
func (s *Server) deleteDeployment(req request) (int, *armError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, aerr := s.site(req.app)
	if aerr != nil {
		return 0, aerr
	}
	if _, ok := st.deployments[req.rest[1]]; !ok {
		return http.StatusNoContent, nil
	}
	delete(st.deployments, req.rest[1])
	return http.StatusOK, nil
}

// listDeployments lists deployments ordered by start_time, then id.
func (s *Server) listDeployments(r *http.Request, req request) (any, *armError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, aerr := s.site(req.app)
	if aerr != nil {
		return nil, aerr
	}
	ids := slices.Collect(maps.Keys(st.deployments))
	if req.slot != "" {
		ids = nil
	}
	start := func(id string) string { v, _ := st.deployments[id]["start_time"].(string); return v }
	slices.SortFunc(ids, func(a, b string) int {
		ta, _ := time.Parse(time.RFC3339Nano, start(a))
		tb, _ := time.Parse(time.RFC3339Nano, start(b))
		if c := ta.Compare(tb); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	items, next, aerr := page(s, r, ids)
	if aerr != nil {
		return nil, aerr
	}
	value := []any{}
	for _, id := range items {
		value = append(value, s.deploymentJSON(st, id, st.deployments[id]))
	}
	out := map[string]any{"value": value}
	if next != "" {
		out["nextLink"] = next
	}
	return out, nil
}

// PutSettings replaces a slot's app settings ("" is production), as
// another client (the portal, a pipeline) would with Update Application
// Settings.
func (s *Server) PutSettings(app, slotName string, settings map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, aerr := s.site(app)
	if aerr != nil {
		return aerr
	}
	sl, aerr := s.slot(app, slotName)
	if aerr != nil {
		return aerr
	}
	sl.settings = maps.Clone(settings)
	if sl.settings == nil {
		sl.settings = map[string]string{}
	}
	s.record(st)
	return nil
}

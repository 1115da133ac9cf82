package azurefunc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/appservice/armappservice/v6"

	"github.com/slipway-dev/slipway/provider"
)

// prodState is what the production route is made of, as read.
type prodState struct {
	rules      []*armappservice.RampUpRule // production's whole rule list
	prod       map[string]string           // production's app settings
	ramp       map[string]string           // the ramp-up slot's app settings (nil: not read or no slot)
	rampExists bool
}

// ours returns the adapter's rule (named after the ramp-up slot, as the
// RampUpRule reference recommends: "the recommended name would be to point
// to the slot which will receive the traffic") and its share in basis
// points, or nil and -1.
func (st prodState) ours(rampUp string) (*armappservice.RampUpRule, int) {
	for _, r := range st.rules {
		if r != nil && r.Name != nil && strings.EqualFold(*r.Name, rampUp) {
			pct := 0.0
			if r.ReroutePercentage != nil {
				pct = *r.ReroutePercentage
			}
			return r, int(math.Round(pct * 100))
		}
	}
	return nil, -1
}

// snapshot is the part of the state a write depends on: what production
// and the ramp-up slot run, and the rule's share. SetRoute compares it
// right before each write.
type snapshot struct {
	prod, ramp string
	bp         int
	rampExists bool
}

func (st prodState) snap(rampUp string) snapshot {
	_, bp := st.ours(rampUp)
	return snapshot{prod: st.prod[settingVersion], ramp: st.ramp[settingVersion], bp: bp, rampExists: st.rampExists}
}

// routeOf builds the production route of a snapshot: the production slot's
// version with the remainder, then the ramp-up slot's version with the
// rule's share while a rule exists and that slot runs another version.
func routeOf(alias string, s snapshot) (provider.Route, bool) {
	if s.prod == "" {
		return provider.Route{}, false
	}
	r := provider.Route{Alias: alias, Weights: []provider.Weight{{Version: s.prod, BasisPoints: provider.AllTraffic}}}
	key := "prod=" + s.prod
	if s.bp >= 0 && s.ramp != "" && s.ramp != s.prod {
		r.Weights[0].BasisPoints -= s.bp
		r.Weights = append(r.Weights, provider.Weight{Version: s.ramp, BasisPoints: s.bp})
		key += fmt.Sprintf(";ramp=%s@%d", s.ramp, s.bp)
	}
	r.Revision = token(key)
	return r, true
}

// token derives a route's revision from the routing it describes: App
// Service's site config has no ETag, so the adapter's concurrency token is
// a digest of what it read.
func token(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:8])
}

// readProd reads the production route's parts: GetConfiguration
// (rampUpRules), production's ListApplicationSettings, and the ramp-up
// slot's ListApplicationSettingsSlot — always when full, else only while
// the adapter's rule exists. ErrNotFound when the app does not exist.
func (p *Provider) readProd(ctx context.Context, fn string, full bool) (prodState, error) {
	var st prodState
	cfg, err := p.web.GetConfiguration(ctx, p.resourceGroup, fn, nil)
	if err != nil {
		return st, fmt.Errorf("get configuration: %w", translate(err))
	}
	if cfg.Properties != nil && cfg.Properties.Experiments != nil {
		st.rules = cfg.Properties.Experiments.RampUpRules
	}
	prod, err := p.web.ListApplicationSettings(ctx, p.resourceGroup, fn, nil)
	if err != nil {
		return st, fmt.Errorf("list application settings: %w", translate(err))
	}
	st.prod = settingsOf(prod.Properties)
	if rule, _ := st.ours(p.rampUp); !full && rule == nil {
		return st, nil
	}
	ramp, err := p.web.ListApplicationSettingsSlot(ctx, p.resourceGroup, fn, p.rampUp, nil)
	switch {
	case isNotFound(err):
	case err != nil:
		return st, fmt.Errorf("list application settings of slot %s: %w", p.rampUp, translate(err))
	default:
		st.ramp, st.rampExists = settingsOf(ramp.Properties), true
	}
	return st, nil
}

func settingsOf(m map[string]*string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

func (p *Provider) checkAlias(op, fn, alias string) error {
	if err := provider.CheckName("alias", alias); err != nil {
		return fail(op, fn, err)
	}
	if alias == p.prod {
		return nil
	}
	if alias == p.rampUp {
		return fail(op, fn, provider.Invalid("", "alias", fmt.Sprintf("%q is the ramp-up slot, managed by route %q", alias, p.prod)))
	}
	if !slotNameRE.MatchString(alias) || alias == "production" {
		return fail(op, fn, provider.Invalid("", "alias", fmt.Sprintf("%q is not a deployment slot name (lowercase letters, digits, hyphens)", alias)))
	}
	return nil
}

// Route returns one route. The production route (Options.ProductionAlias)
// is the production slot's version, plus the ramp-up slot's version with
// the share production's ramp-up rule sends it: GetConfiguration,
// ListApplicationSettings, and ListApplicationSettingsSlot while the rule
// exists. Any other alias is the deployment slot of that name and the
// version it runs (ListApplicationSettingsSlot). ErrNotFound when the app
// or slot does not exist or runs no version of slipway's.
func (p *Provider) Route(ctx context.Context, fn, alias string) (provider.Route, error) {
	const op = "route"
	if err := checkFunction(op, fn); err != nil {
		return provider.Route{}, err
	}
	if err := p.checkAlias(op, fn, alias); err != nil {
		return provider.Route{}, err
	}
	if alias == p.prod {
		st, err := p.readProd(ctx, fn, false)
		if err != nil {
			return provider.Route{}, fail(op, fn, err)
		}
		r, ok := routeOf(alias, st.snap(p.rampUp))
		if !ok {
			return provider.Route{}, fail(op, fn, fmt.Errorf("%w: route %s: the production slot runs no version", provider.ErrNotFound, alias))
		}
		return r, nil
	}
	settings, err := p.slotSettings(ctx, fn, alias)
	if err != nil {
		return provider.Route{}, fail(op, fn, err)
	}
	r, ok := slotRoute(alias, settings)
	if !ok {
		return provider.Route{}, fail(op, fn, fmt.Errorf("%w: route %s: the slot runs no version", provider.ErrNotFound, alias))
	}
	return r, nil
}

// slotSettings reads a slot's app settings ("" is production).
func (p *Provider) slotSettings(ctx context.Context, fn, slot string) (map[string]string, error) {
	if slot == "" {
		out, err := p.web.ListApplicationSettings(ctx, p.resourceGroup, fn, nil)
		if err != nil {
			return nil, fmt.Errorf("list application settings: %w", translate(err))
		}
		return settingsOf(out.Properties), nil
	}
	out, err := p.web.ListApplicationSettingsSlot(ctx, p.resourceGroup, fn, slot, nil)
	if err != nil {
		return nil, fmt.Errorf("list application settings of slot %s: %w", slot, translate(err))
	}
	return settingsOf(out.Properties), nil
}

func slotRoute(alias string, settings map[string]string) (provider.Route, bool) {
	v := settings[settingVersion]
	if v == "" {
		return provider.Route{}, false
	}
	r := provider.To(alias, v)
	r.Revision = token("slot=" + alias + ";version=" + v)
	return r, true
}

// Routes returns the production route and one route per slot that runs a
// version (the ramp-up slot excepted), ordered by alias: the production
// reads of Route, ListSlots, and ListApplicationSettingsSlot per slot.
func (p *Provider) Routes(ctx context.Context, fn string) ([]provider.Route, error) {
	const op = "routes"
	if err := checkFunction(op, fn); err != nil {
		return nil, err
	}
	st, err := p.readProd(ctx, fn, false)
	if err != nil {
		return nil, fail(op, fn, err)
	}
	var routes []provider.Route
	if r, ok := routeOf(p.prod, st.snap(p.rampUp)); ok {
		routes = append(routes, r)
	}
	slots, err := p.slotRoutes(ctx, fn, nil)
	if err != nil {
		return nil, fail(op, fn, err)
	}
	routes = append(routes, slots...)
	slices.SortFunc(routes, func(a, b provider.Route) int { return strings.Compare(a.Alias, b.Alias) })
	return routes, nil
}

// slotRoutes lists the slots (all pages) and the route of each that runs
// a version, skipping the ramp-up slot; seen, when set, gets every slot's
// settings, the ramp-up slot's included.
func (p *Provider) slotRoutes(ctx context.Context, fn string, seen func(slot string, settings map[string]string)) ([]provider.Route, error) {
	var routes []provider.Route
	pg := p.web.NewListSlotsPager(p.resourceGroup, fn, nil)
	for pg.More() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list slots: %w", translate(err))
		}
		for _, s := range page.Value {
			if s == nil || s.Name == nil {
				continue
			}
			name := *s.Name
			if i := strings.LastIndexByte(name, '/'); i >= 0 {
				name = name[i+1:]
			}
			if name == p.rampUp && seen == nil {
				continue
			}
			settings, err := p.slotSettings(ctx, fn, name)
			if err != nil {
				return nil, err
			}
			if seen != nil {
				seen(name, settings)
			}
			if name == p.rampUp {
				continue
			}
			if r, ok := slotRoute(name, settings); ok {
				routes = append(routes, r)
			}
		}
	}
	return routes, nil
}

// SetRoute writes a route with compare-and-swap on r.Revision.
//
// Concurrency: App Service's site config and app settings take no ETag or
// If-Match, so the revision is derived from the routing the adapter reads
// (see Route). SetRoute serialises the adapter's own writes to an app
// (one lock per app in the Provider), reads the route, compares its
// revision with r.Revision (ErrConflict when it differs; an empty
// r.Revision needs the route absent), and before every further write
// re-reads and compares what that write depends on (ErrConflict when it
// moved). What remains: another client's write that lands between the
// adapter's last read and its write (one round trip) is overwritten, and a
// route that returns to an earlier state has that state's revision again.
//
// The production route (Options.ProductionAlias): Weights[0] must run in
// the production slot and Weights[1] in the ramp-up slot (Options.RampUpSlot),
// with production's ramp-up rule (named after that slot, actionHostName
// its host) sending Weights[1]'s share there: reroutePercentage =
// BasisPoints/100. The steps, each only when needed, in this order:
//  1. clear the rule, when what the ramp-up slot runs is about to change;
//  2. swap the ramp-up slot into production (Web Apps - Swap Slot, a
//     long-running operation polled with the context) when Weights[0] runs
//     in the ramp-up slot — a promotion, or going back after one;
//  3. deploy Weights[0] to production when it runs in neither slot;
//  4. create the ramp-up slot if missing and deploy Weights[1] to it;
//  5. write the rule with Weights[1]'s share (one PATCH of the rule list).
//
// A canary step (a new share, both versions in place) is three reads and
// one write; a rollback (the rule cleared) the same; a promotion three
// reads, a cleared rule, three reads and a swap.
//
// Any other alias is the slot of that name: created when missing
// (r.Revision empty) and given the version, one version only.
//
// Deploying a version to a slot writes the slot's app settings whole (a
// read-modify-write of Web Apps - Update Application Settings, which
// replaces them all): settings the previous version set are removed, the
// version's Environment and Runtime are set, WEBSITE_RUN_FROM_PACKAGE
// names its package, SLIPWAY_VERSION its ID; every other setting stays.
// App Service restarts the slot to apply them.
//
// Cancellation: the context ending during a step returns its error with
// the steps done so far in place; a swap already accepted runs to its end
// on Azure (an LRO is not cancelled by its poller going away), so a
// promotion cancelled while polling still lands — with the rule cleared
// before it, production never splits between the two.
//
// Errors: ErrInvalid (before any call) for a malformed route or alias and
// for versions not published; ErrUnsupported for a split on a slot;
// ErrConflict; ErrNotFound for a missing app or, with a revision, a
// missing route.
func (p *Provider) SetRoute(ctx context.Context, fn string, r provider.Route) (provider.Route, error) {
	const op = "set route"
	if err := checkFunction(op, fn); err != nil {
		return provider.Route{}, err
	}
	if err := p.Capabilities().CheckRoute(r); err != nil {
		return provider.Route{}, fail(op, fn, err)
	}
	if err := p.checkAlias(op, fn, r.Alias); err != nil {
		return provider.Route{}, err
	}
	for i, w := range r.Weights {
		if !versionIDRE.MatchString(w.Version) {
			return provider.Route{}, fail(op, fn, provider.Invalid(fmt.Sprintf("route %q", r.Alias), fmt.Sprintf("weights[%d].version", i), fmt.Sprintf("%q is not a version of this adapter (12 hex digits)", w.Version)))
		}
	}
	l := p.lock(fn)
	l.Lock()
	defer l.Unlock()
	var (
		out provider.Route
		err error
	)
	if r.Alias == p.prod {
		out, err = p.setProduction(ctx, fn, r)
	} else {
		out, err = p.setSlot(ctx, fn, r)
	}
	if err != nil {
		return provider.Route{}, fail(op, fn, err)
	}
	return out, nil
}

// unpublished turns a version lookup's ErrNotFound into ErrInvalid: a route
// never points at a version that was not published.
func unpublished(alias string, i int, err error) error {
	if errIsNotFound(err) {
		return fmt.Errorf("%w (%w)", provider.Invalid(fmt.Sprintf("route %q", alias), fmt.Sprintf("weights[%d].version", i), "is not a published version"), err)
	}
	return err
}

func (p *Provider) setProduction(ctx context.Context, fn string, r provider.Route) (provider.Route, error) {
	st, err := p.readProd(ctx, fn, true)
	if err != nil {
		return provider.Route{}, err
	}
	cur := st.snap(p.rampUp)
	curRoute, exists := routeOf(r.Alias, cur)
	switch {
	case r.Revision == "" && exists:
		return provider.Route{}, fmt.Errorf("%w: route %s exists (revision %s)", provider.ErrConflict, r.Alias, curRoute.Revision)
	case r.Revision != "" && !exists:
		return provider.Route{}, fmt.Errorf("%w: route %s: the production slot runs no version", provider.ErrNotFound, r.Alias)
	case r.Revision != "" && r.Revision != curRoute.Revision:
		return provider.Route{}, fmt.Errorf("%w: route %s has revision %s, not %s", provider.ErrConflict, r.Alias, curRoute.Revision, r.Revision)
	}
	primary, cand, bp := r.Weights[0].Version, "", -1
	if len(r.Weights) == 2 {
		cand, bp = r.Weights[1].Version, r.Weights[1].BasisPoints
	}

	// The plan.
	swap := cur.prod != "" && primary != cur.prod && primary == cur.ramp && cur.rampExists
	next := cur
	if swap {
		next.prod, next.ramp = cur.ramp, cur.prod
	}
	deployProd := next.prod != primary
	deployRamp := cand != "" && next.ramp != cand
	clearFirst := cur.bp >= 0 && (swap || deployRamp)

	// Records of the versions to deploy, before any write.
	recs := map[string]stored{}
	dirty := false
	for i, v := range []string{primary, cand} {
		if v == "" || (i == 0 && !deployProd) || (i == 1 && !deployRamp) {
			continue
		}
		s, err := p.lookup(ctx, fn, v)
		if err != nil {
			return provider.Route{}, unpublished(r.Alias, i, err)
		}
		recs[v], dirty = s, true
	}

	exp := cur
	var replaced []map[string]string // settings of slots a deploy replaced
	// fresh re-reads the state right before a write and checks it is the
	// one expected; the first write may use the first read when nothing
	// came between.
	fresh := func() error {
		if !dirty {
			dirty = true
			return nil
		}
		st, err = p.readProd(ctx, fn, true)
		if err != nil {
			return err
		}
		if got := st.snap(p.rampUp); got != exp {
			return fmt.Errorf("%w: route %s changed while SetRoute worked on it (production %q, ramp-up %q at %d bp; expected %q, %q at %d bp)",
				provider.ErrConflict, r.Alias, got.prod, got.ramp, got.bp, exp.prod, exp.ramp, exp.bp)
		}
		return nil
	}
	if clearFirst {
		if err := fresh(); err != nil {
			return provider.Route{}, err
		}
		if err := p.writeRule(ctx, fn, st, -1, ""); err != nil {
			return provider.Route{}, err
		}
		exp.bp = -1
	}
	if swap {
		if err := fresh(); err != nil {
			return provider.Route{}, err
		}
		if err := p.swap(ctx, fn); err != nil {
			return provider.Route{}, err
		}
		exp.prod, exp.ramp = exp.ramp, exp.prod
	}
	if deployProd {
		if err := fresh(); err != nil {
			return provider.Route{}, err
		}
		if err := p.deploy(ctx, fn, "", st.prod, recs[primary]); err != nil {
			return provider.Route{}, err
		}
		replaced = append(replaced, st.prod)
		exp.prod = primary
	}
	host := ""
	if deployRamp {
		if err := fresh(); err != nil {
			return provider.Route{}, err
		}
		settings := st.ramp
		if !st.rampExists {
			if host, err = p.createSlot(ctx, fn, p.rampUp); err != nil {
				return provider.Route{}, err
			}
			settings = map[string]string{}
			exp.rampExists = true
		}
		if err := p.deploy(ctx, fn, p.rampUp, settings, recs[cand]); err != nil {
			return provider.Route{}, err
		}
		replaced = append(replaced, settings)
		exp.ramp = cand
	}
	if exp.bp != bp {
		if err := fresh(); err != nil {
			return provider.Route{}, err
		}
		if bp >= 0 && host == "" {
			if rule, _ := st.ours(p.rampUp); rule != nil && rule.ActionHostName != nil {
				host = *rule.ActionHostName
			} else if host, err = p.slotHost(ctx, fn, p.rampUp); err != nil {
				return provider.Route{}, err
			}
		}
		if err := p.writeRule(ctx, fn, st, bp, host); err != nil {
			return provider.Route{}, err
		}
		exp.bp = bp
	}
	out, _ := routeOf(r.Alias, exp)
	for _, prev := range replaced {
		p.release(ctx, fn, prev)
	}
	return out, nil
}

// release deletes the package a deploy took out of a slot when the adapter
// stored it and its version was deleted while the slot ran it (DeleteVersion
// keeps a running package), unless another version or slot still uses it.
// Only then, a rare path, does it read: GetDeployment, ListDeployments,
// the production reads, ListSlots and each slot's settings. It is best
// effort: a failure is logged, the route stands.
func (p *Provider) release(ctx context.Context, fn string, prev map[string]string) {
	pkg, v := prev[settingPackage], prev[settingVersion]
	if prev[settingOwned] != "true" || pkg == "" || v == "" || p.opts.Packages == nil {
		return
	}
	if _, err := p.lookup(ctx, fn, v); !errIsNotFound(err) {
		return // the version still exists (it owns the package) or the read failed
	}
	all, err := p.records(ctx, fn)
	if err != nil || slices.ContainsFunc(all, func(s stored) bool { return s.rec.Package == pkg }) {
		return
	}
	st, err := p.readProd(ctx, fn, true)
	if err != nil || st.prod[settingPackage] == pkg || st.ramp[settingPackage] == pkg {
		return
	}
	used := false
	if _, err := p.slotRoutes(ctx, fn, func(_ string, s map[string]string) { used = used || s[settingPackage] == pkg }); err != nil || used {
		return
	}
	p.debug(ctx, "set route: deleting the package of a deleted version", "function", fn, "version", v)
	if err := p.opts.Packages.Delete(ctx, pkg); err != nil {
		p.debug(ctx, "set route: deleting a package failed", "function", fn, "version", v, "err", err)
	}
}

// writeRule replaces production's rule list (Web Apps - Update
// Configuration, a PATCH whose experiments property replaces the list as
// a whole) with the rules of st other than the adapter's, plus the
// adapter's with bp basis points to host when bp ≥ 0.
func (p *Provider) writeRule(ctx context.Context, fn string, st prodState, bp int, host string) error {
	rules := make([]*armappservice.RampUpRule, 0, len(st.rules)+1)
	for _, r := range st.rules {
		if r != nil && (r.Name == nil || !strings.EqualFold(*r.Name, p.rampUp)) {
			rules = append(rules, r)
		}
	}
	if bp >= 0 {
		rules = append(rules, &armappservice.RampUpRule{
			Name: to.Ptr(p.rampUp), ActionHostName: to.Ptr(host), ReroutePercentage: to.Ptr(float64(bp) / 100),
		})
	}
	p.debug(ctx, "set route: writing the ramp-up rule", "function", fn, "basisPoints", bp)
	cfg := armappservice.SiteConfigResource{Properties: &armappservice.SiteConfig{Experiments: &armappservice.Experiments{RampUpRules: rules}}}
	if _, err := p.web.UpdateConfiguration(ctx, p.resourceGroup, fn, cfg, nil); err != nil {
		return fmt.Errorf("update configuration: %w", translate(err))
	}
	return nil
}

// deploy writes a slot's app settings whole so that it runs version s (see
// SetRoute); cur is the slot's settings as just read.
func (p *Provider) deploy(ctx context.Context, fn, slot string, cur map[string]string, s stored) error {
	next := maps.Clone(cur)
	if next == nil {
		next = map[string]string{}
	}
	for _, k := range strings.Split(cur[settingManaged], ",") {
		if k != "" {
			delete(next, k)
		}
	}
	delete(next, settingPackage)
	delete(next, settingVersion)
	delete(next, settingManaged)
	delete(next, settingOwned)
	var managed []string
	for k, v := range s.rec.Config.Environment {
		next[k] = v
		managed = append(managed, k)
	}
	if s.rec.Config.Runtime != "" {
		next[settingRuntime] = s.rec.Config.Runtime
		managed = append(managed, settingRuntime)
	}
	slices.Sort(managed)
	next[settingPackage] = s.rec.Package
	next[settingVersion] = s.id
	next[settingManaged] = strings.Join(managed, ",")
	if s.rec.Owned {
		next[settingOwned] = "true"
	}
	props := make(map[string]*string, len(next))
	for k, v := range next {
		props[k] = to.Ptr(v)
	}
	dict := armappservice.StringDictionary{Properties: props}
	where := "production"
	if slot != "" {
		where = "slot " + slot
	}
	p.debug(ctx, "set route: deploying", "function", fn, "slot", where, "version", s.id)
	var err error
	if slot == "" {
		_, err = p.web.UpdateApplicationSettings(ctx, p.resourceGroup, fn, dict, nil)
	} else {
		_, err = p.web.UpdateApplicationSettingsSlot(ctx, p.resourceGroup, fn, slot, dict, nil)
	}
	if err != nil {
		return fmt.Errorf("update application settings of %s: %w", where, translate(err))
	}
	return nil
}

// swap swaps the ramp-up slot into production and polls the operation
// until it is done (see pollDone): Web Apps - Swap Slot answers 202 with
// Location and Retry-After; the SDK's poller follows Location.
func (p *Provider) swap(ctx context.Context, fn string) error {
	p.debug(ctx, "set route: swapping", "function", fn, "slot", p.rampUp)
	poller, err := p.web.BeginSwapSlot(ctx, p.resourceGroup, fn, p.rampUp,
		armappservice.CsmSlotEntity{TargetSlot: to.Ptr("production"), PreserveVnet: to.Ptr(true)}, nil)
	if err != nil {
		return fmt.Errorf("swap slot %s: %w", p.rampUp, translate(err))
	}
	if _, err := pollDone(ctx, p, poller); err != nil {
		return fmt.Errorf("swap slot %s: %w", p.rampUp, err)
	}
	return nil
}

// pollDone polls a long-running operation to its end, as the SDK's own
// PollUntilDone does: a first poll at once, then one per wait, the wait
// being the last response's Retry-After when positive, else PollInterval,
// slept on Options.Sleep (so a virtual clock runs it).
func pollDone[T any](ctx context.Context, p *Provider, poller *runtime.Poller[T]) (T, error) {
	var zero T
	for !poller.Done() {
		resp, err := poller.Poll(ctx)
		if err != nil {
			return zero, translate(err)
		}
		if poller.Done() {
			break
		}
		wait := p.pollInterval()
		if d := retryAfter(resp); d > 0 {
			wait = d
		}
		if err := p.sleep(ctx, wait); err != nil {
			return zero, err
		}
	}
	out, err := poller.Result(ctx)
	if err != nil {
		return out, translate(err)
	}
	return out, nil
}

// createSlot creates a slot in the app's location (Get, then Create Or
// Update Slot, a long-running operation) and returns its host name.
func (p *Provider) createSlot(ctx context.Context, fn, slot string) (string, error) {
	site, err := p.web.Get(ctx, p.resourceGroup, fn, nil)
	if err != nil {
		return "", fmt.Errorf("get site: %w", translate(err))
	}
	p.debug(ctx, "set route: creating slot", "function", fn, "slot", slot)
	poller, err := p.web.BeginCreateOrUpdateSlot(ctx, p.resourceGroup, fn, slot, armappservice.Site{Location: site.Location}, nil)
	if err != nil {
		return "", fmt.Errorf("create slot %s: %w", slot, translate(err))
	}
	out, err := pollDone(ctx, p, poller)
	if err != nil {
		return "", fmt.Errorf("create slot %s: %w", slot, err)
	}
	if out.Properties == nil || out.Properties.DefaultHostName == nil {
		return p.slotHost(ctx, fn, slot)
	}
	return *out.Properties.DefaultHostName, nil
}

// slotHost reads a slot's default host name (GetSlot).
func (p *Provider) slotHost(ctx context.Context, fn, slot string) (string, error) {
	out, err := p.web.GetSlot(ctx, p.resourceGroup, fn, slot, nil)
	if err != nil {
		return "", fmt.Errorf("get slot %s: %w", slot, translate(err))
	}
	if out.Properties == nil || out.Properties.DefaultHostName == nil {
		return "", fmt.Errorf("%w: slot %s has no default host name", provider.ErrUnavailable, slot)
	}
	return *out.Properties.DefaultHostName, nil
}

// setSlot writes the route of a non-production slot.
func (p *Provider) setSlot(ctx context.Context, fn string, r provider.Route) (provider.Route, error) {
	if len(r.Weights) != 1 {
		return provider.Route{}, fmt.Errorf("%w: route %q: a slot runs one version", provider.ErrUnsupported, r.Alias)
	}
	want := r.Weights[0].Version
	settings, err := p.slotSettings(ctx, fn, r.Alias)
	slotExists := err == nil
	if err != nil && !errIsNotFound(err) {
		return provider.Route{}, err
	}
	cur, exists := slotRoute(r.Alias, settings)
	switch {
	case r.Revision == "" && exists:
		return provider.Route{}, fmt.Errorf("%w: route %s exists (revision %s)", provider.ErrConflict, r.Alias, cur.Revision)
	case r.Revision != "" && !exists:
		if !slotExists {
			return provider.Route{}, err
		}
		return provider.Route{}, fmt.Errorf("%w: route %s: the slot runs no version", provider.ErrNotFound, r.Alias)
	case r.Revision != "" && r.Revision != cur.Revision:
		return provider.Route{}, fmt.Errorf("%w: route %s has revision %s, not %s", provider.ErrConflict, r.Alias, cur.Revision, r.Revision)
	case exists && cur.Primary() == want:
		return cur, nil
	}
	s, err := p.lookup(ctx, fn, want)
	if err != nil {
		if errIsNotFound(err) {
			if _, gerr := p.web.Get(ctx, p.resourceGroup, fn, nil); gerr != nil {
				return provider.Route{}, fmt.Errorf("get site: %w", translate(gerr))
			}
		}
		return provider.Route{}, unpublished(r.Alias, 0, err)
	}
	if slotExists {
		fresh, err := p.slotSettings(ctx, fn, r.Alias)
		if err != nil {
			return provider.Route{}, err
		}
		if fresh[settingVersion] != settings[settingVersion] {
			return provider.Route{}, fmt.Errorf("%w: route %s changed while SetRoute worked on it", provider.ErrConflict, r.Alias)
		}
		settings = fresh
	} else {
		if _, err := p.createSlot(ctx, fn, r.Alias); err != nil {
			return provider.Route{}, err
		}
		settings = map[string]string{}
	}
	if err := p.deploy(ctx, fn, r.Alias, settings, s); err != nil {
		return provider.Route{}, err
	}
	if settings[settingPackage] != s.rec.Package {
		p.release(ctx, fn, settings)
	}
	out, _ := slotRoute(r.Alias, map[string]string{settingVersion: want})
	return out, nil
}

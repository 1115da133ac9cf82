package azurefunc

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/appservice/armappservice/v6"

	"github.com/slipway-dev/slipway/provider"
)

// App settings the adapter manages on a slot. WEBSITE_RUN_FROM_PACKAGE is
// App Service's own ("Run your app in Azure App Service directly from a ZIP
// package": a URL makes the app mount that package read-only); the other
// two are slipway's record of what it deployed there.
const (
	settingPackage = "WEBSITE_RUN_FROM_PACKAGE"
	settingVersion = "SLIPWAY_VERSION"
	settingManaged = "SLIPWAY_MANAGED_SETTINGS"
	settingRuntime = "FUNCTIONS_WORKER_RUNTIME"
	settingOwned   = "SLIPWAY_PACKAGE_OWNED"
	deployer       = "slipway"
)

// record is a version as the adapter stores it: the details of an App
// Service deployment record (Web Apps - Create Deployment) on the
// production site, …/sites/{app}/deployments/{id}.
type record struct {
	SHA256  string            `json:"sha256,omitempty"`
	Package string            `json:"package"`
	Owned   bool              `json:"owned,omitempty"`
	Config  provider.Config   `json:"config"`
	Labels  map[string]string `json:"labels,omitempty"`
	Seq     int               `json:"seq"`
	Created time.Time         `json:"created"`
}

type stored struct {
	id   string
	desc string
	rec  record
}

func (s stored) version() provider.Version {
	v := provider.Version{ID: s.id, CodeSHA256: s.rec.SHA256, Config: s.rec.Config, Description: s.desc, Labels: s.rec.Labels, Created: s.rec.Created}
	return v.Clone()
}

// storedOf reads a deployment record; ok is false for deployments slipway
// did not write (Kudu's own, a portal deploy).
func storedOf(d *armappservice.Deployment) (stored, bool) {
	if d == nil || d.Name == nil || d.Properties == nil || d.Properties.Deployer == nil || *d.Properties.Deployer != deployer || d.Properties.Details == nil {
		return stored{}, false
	}
	var rec record
	if err := json.Unmarshal([]byte(*d.Properties.Details), &rec); err != nil {
		return stored{}, false
	}
	id := *d.Name
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		id = id[i+1:]
	}
	desc := ""
	if d.Properties.Message != nil {
		desc = *d.Properties.Message
	}
	if len(rec.Config.Environment) == 0 {
		rec.Config.Environment = nil
	}
	return stored{id: id, desc: desc, rec: rec}, true
}

// versionID is a version's identity: the first 12 hex digits of the
// SHA-256 of its code (the hash, or the URI when no hash was given) and its
// configuration as canonical JSON. Equal code and configuration give the
// same ID, which makes Publish idempotent even across processes.
func versionID(codeKey string, c provider.Config) string {
	c.Environment = maps.Clone(c.Environment)
	if len(c.Environment) == 0 {
		c.Environment = nil
	}
	b, _ := json.Marshal(c)
	sum := sha256.Sum256([]byte(codeKey + "\n" + string(b)))
	return hex.EncodeToString(sum[:])[:12]
}

var versionIDRE = regexp.MustCompile(`^[0-9a-f]{12}$`)

// Publish records a version. Azure has no immutable function version, so
// the adapter makes one: the package (a zip is stored once per SHA-256
// through Options.Packages as "{app}/{sha}.zip"; a URI is used as given and
// must be an https URL the app can read) plus the configuration, written as
// a deployment record of the app (Web Apps - Create Deployment, deployer
// "slipway", the record as JSON in details, the description as message).
// Nothing runs it until SetRoute puts it in a slot.
//
// Configuration: Environment becomes app settings of the slot that runs
// the version, Runtime the FUNCTIONS_WORKER_RUNTIME setting; Handler,
// MemoryMB, Timeout and Role are recorded with the version but not applied
// (on Azure Functions they live in the package's host.json and the plan).
// Environment may not name the settings the adapter manages
// (WEBSITE_RUN_FROM_PACKAGE, FUNCTIONS_WORKER_RUNTIME, SLIPWAY_VERSION,
// SLIPWAY_MANAGED_SETTINGS, SLIPWAY_PACKAGE_OWNED).
//
// Idempotency: the version ID is derived from the code and configuration
// (see versionID), so a second Publish finds the record and returns it
// unchanged. Images are ErrUnsupported (this adapter deploys packages).
//
// API calls: ListDeployments (all pages), then CreateDeployment unless the
// version exists; for a zip, one PackageStore.Put before it.
func (p *Provider) Publish(ctx context.Context, fn string, in provider.PublishInput) (provider.Version, error) {
	const op = "publish"
	if err := checkFunction(op, fn); err != nil {
		return provider.Version{}, err
	}
	if err := in.Validate(); err != nil {
		return provider.Version{}, fail(op, fn, err)
	}
	for k := range in.Config.Environment {
		if k == settingPackage || k == settingVersion || k == settingManaged || k == settingRuntime || k == settingOwned {
			return provider.Version{}, fail(op, fn, provider.Invalid("publish", "config.environment", fmt.Sprintf("%q is managed by the adapter", k)))
		}
	}
	a := in.Artifact
	var codeKey, sha string
	switch {
	case a.Image != "":
		return provider.Version{}, fail(op, fn, fmt.Errorf("%w: container images: this adapter deploys packages (WEBSITE_RUN_FROM_PACKAGE)", provider.ErrUnsupported))
	case a.Zip != nil:
		sum := sha256.Sum256(a.Zip)
		sha = hex.EncodeToString(sum[:])
		if a.SHA256 != "" && a.SHA256 != sha {
			return provider.Version{}, fail(op, fn, provider.Invalid("publish", "artifact.sha256", fmt.Sprintf("%s does not match the zip's SHA-256 %s", a.SHA256, sha)))
		}
		if p.opts.Packages == nil {
			return provider.Version{}, fail(op, fn, fmt.Errorf("%w: a zip artifact needs Options.Packages to store it (or give its URL as Artifact.URI)", provider.ErrUnsupported))
		}
		codeKey = sha
	default:
		u, err := url.Parse(a.URI)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return provider.Version{}, fail(op, fn, provider.Invalid("publish", "artifact.uri", fmt.Sprintf("%q is not an https URL (WEBSITE_RUN_FROM_PACKAGE takes one)", a.URI)))
		}
		sha = a.SHA256
		codeKey = sha
		if codeKey == "" {
			codeKey = "uri:" + a.URI
		}
	}
	cfg := in.Config
	cfg.Environment = maps.Clone(cfg.Environment)
	if len(cfg.Environment) == 0 {
		cfg.Environment = nil
	}
	id := versionID(codeKey, cfg)

	l := p.lock(fn)
	l.Lock()
	defer l.Unlock()
	all, err := p.records(ctx, fn)
	if err != nil {
		return provider.Version{}, fail(op, fn, err)
	}
	seq := 0
	for _, s := range all {
		if s.id == id {
			p.debug(ctx, "publish: the version exists", "function", fn, "version", id)
			return s.version(), nil
		}
		seq = max(seq, s.rec.Seq)
	}
	rec := record{SHA256: sha, Package: a.URI, Config: cfg, Labels: maps.Clone(in.Labels), Seq: seq + 1, Created: p.now().UTC()}
	if len(rec.Labels) == 0 {
		rec.Labels = nil
	}
	if a.Zip != nil {
		p.debug(ctx, "publish: storing the package", "function", fn, "sha256", sha)
		u, err := p.opts.Packages.Put(ctx, fn+"/"+sha+".zip", a.Zip)
		if err != nil {
			return provider.Version{}, fail(op, fn, fmt.Errorf("store package: %w", err))
		}
		rec.Package, rec.Owned = u, true
	}
	details, err := json.Marshal(rec)
	if err != nil {
		return provider.Version{}, fail(op, fn, err)
	}
	d := armappservice.Deployment{Properties: &armappservice.DeploymentProperties{
		Author: to.Ptr(deployer), Deployer: to.Ptr(deployer), Message: to.Ptr(in.Description), Details: to.Ptr(string(details)),
		StartTime: to.Ptr(rec.Created), EndTime: to.Ptr(rec.Created), Status: to.Ptr[int32](4), Active: to.Ptr(false),
	}}
	p.debug(ctx, "publish: recording the version", "function", fn, "version", id)
	out, err := p.web.CreateDeployment(ctx, p.resourceGroup, fn, id, d, nil)
	if err != nil {
		return provider.Version{}, fail(op, fn, fmt.Errorf("create deployment %s: %w", id, translate(err)))
	}
	s, ok := storedOf(&out.Deployment)
	if !ok {
		s = stored{id: id, desc: in.Description, rec: rec}
	}
	return s.version(), nil
}

// records lists the versions of fn (the deployment records slipway wrote),
// oldest first: by sequence number, then time, then ID.
func (p *Provider) records(ctx context.Context, fn string) ([]stored, error) {
	var all []stored
	pg := p.web.NewListDeploymentsPager(p.resourceGroup, fn, nil)
	for pg.More() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list deployments: %w", translate(err))
		}
		for _, d := range page.Value {
			if s, ok := storedOf(d); ok {
				all = append(all, s)
			}
		}
	}
	slices.SortFunc(all, func(a, b stored) int {
		return cmp.Or(cmp.Compare(a.rec.Seq, b.rec.Seq), a.rec.Created.Compare(b.rec.Created), strings.Compare(a.id, b.id))
	})
	return all, nil
}

// lookup reads one version's record (GetDeployment). ErrNotFound when the
// app or the version does not exist.
func (p *Provider) lookup(ctx context.Context, fn, id string) (stored, error) {
	if !versionIDRE.MatchString(id) {
		return stored{}, fmt.Errorf("%w: version %q (versions are 12 hex digits)", provider.ErrNotFound, id)
	}
	out, err := p.web.GetDeployment(ctx, p.resourceGroup, fn, id, nil)
	if err != nil {
		return stored{}, fmt.Errorf("get deployment %s: %w", id, translate(err))
	}
	s, ok := storedOf(&out.Deployment)
	if !ok {
		return stored{}, fmt.Errorf("%w: deployment %s was not recorded by slipway", provider.ErrNotFound, id)
	}
	return s, nil
}

// Version returns one version (GetDeployment). ErrNotFound when the app or
// the version does not exist.
func (p *Provider) Version(ctx context.Context, fn, id string) (provider.Version, error) {
	const op = "version"
	if err := checkFunction(op, fn); err != nil {
		return provider.Version{}, err
	}
	if err := provider.CheckName("version", id); err != nil {
		return provider.Version{}, fail(op, fn, err)
	}
	if !versionIDRE.MatchString(id) {
		// Still ask, so a missing app is told apart from a malformed ID.
		if _, err := p.web.Get(ctx, p.resourceGroup, fn, nil); err != nil {
			return provider.Version{}, fail(op, fn, translate(err))
		}
	}
	s, err := p.lookup(ctx, fn, id)
	if err != nil {
		return provider.Version{}, fail(op, fn, err)
	}
	return s.version(), nil
}

// Versions yields the versions of fn oldest first (ListDeployments, every
// page, then sorted by publication order).
func (p *Provider) Versions(ctx context.Context, fn string) iter.Seq2[provider.Version, error] {
	return func(yield func(provider.Version, error) bool) {
		if err := checkFunction("versions", fn); err != nil {
			yield(provider.Version{}, err)
			return
		}
		all, err := p.records(ctx, fn)
		if err != nil {
			yield(provider.Version{}, fail("versions", fn, err))
			return
		}
		for _, s := range all {
			if !yield(s.version(), nil) {
				return
			}
		}
	}
}

// DeleteVersion deletes a version's record (DeleteDeployment) and, when
// the adapter stored its package and no slot runs that package and no other
// version shares it, the package (PackageStore.Delete). It never changes
// what a slot runs. ErrInUse for the newest version and for any version a
// route references: production (its slot, or its ramp-up share, zero
// included) or another slot. A version the ramp-up slot still holds
// without a rule sending it traffic (after a rollback) is not in use; its
// record goes, its package stays while the slot holds it.
//
// API calls: ListDeployments, GetConfiguration, ListApplicationSettings
// (production) and ListApplicationSettingsSlot (the ramp-up slot),
// ListSlots, ListApplicationSettingsSlot per slot, DeleteDeployment (six
// with no other slot: Capabilities.DeleteRequests). Serialised with the adapter's other writes to fn; a
// route written by another client between the check and the delete is not
// seen (App Service has no precondition to make the delete conditional).
func (p *Provider) DeleteVersion(ctx context.Context, fn, id string) error {
	const op = "delete version"
	if err := checkFunction(op, fn); err != nil {
		return err
	}
	if err := provider.CheckName("version", id); err != nil {
		return fail(op, fn, err)
	}
	l := p.lock(fn)
	l.Lock()
	defer l.Unlock()
	all, err := p.records(ctx, fn)
	if err != nil {
		return fail(op, fn, err)
	}
	i := slices.IndexFunc(all, func(s stored) bool { return s.id == id })
	if i < 0 {
		return fail(op, fn, fmt.Errorf("%w: version %s", provider.ErrNotFound, id))
	}
	if i == len(all)-1 {
		return fail(op, fn, fmt.Errorf("%w: version %s is the newest version, which is never deleted", provider.ErrInUse, id))
	}
	target := all[i]
	st, err := p.readProd(ctx, fn, true)
	if err != nil {
		return fail(op, fn, err)
	}
	var users []string
	if r, ok := routeOf(p.prod, st.snap(p.rampUp)); ok && r.References(id) {
		users = append(users, p.prod)
	}
	running := map[string]bool{st.prod[settingPackage]: true, st.ramp[settingPackage]: true}
	slots, err := p.slotRoutes(ctx, fn, func(slot string, settings map[string]string) {
		running[settings[settingPackage]] = true
	})
	if err != nil {
		return fail(op, fn, err)
	}
	for _, r := range slots {
		if r.References(id) {
			users = append(users, r.Alias)
		}
	}
	if len(users) > 0 {
		slices.Sort(users)
		return fail(op, fn, fmt.Errorf("%w: version %s is routed to by %s", provider.ErrInUse, id, strings.Join(users, ", ")))
	}
	p.debug(ctx, "delete version", "function", fn, "version", id)
	if _, err := p.web.DeleteDeployment(ctx, p.resourceGroup, fn, id, nil); err != nil {
		return fail(op, fn, fmt.Errorf("delete deployment %s: %w", id, translate(err)))
	}
	shared := slices.ContainsFunc(all, func(s stored) bool { return s.id != id && s.rec.Package == target.rec.Package })
	if target.rec.Owned && p.opts.Packages != nil && !running[target.rec.Package] && !shared {
		if err := p.opts.Packages.Delete(ctx, target.rec.Package); err != nil {
			return fail(op, fn, fmt.Errorf("version %s deleted, its package not: %w", id, err))
		}
	}
	return nil
}

// errIsNotFound reports whether err wraps provider.ErrNotFound.
func errIsNotFound(err error) bool { return errors.Is(err, provider.ErrNotFound) }

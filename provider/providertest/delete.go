package providertest

import (
	"fmt"
	"slices"

	"github.com/slipway-dev/slipway/provider"
)

func deleteClauses() []clause {
	return []clause{
		{name: "Unsupported", f: deleteUnsupported},
		{name: "InUsePrimary", f: deleteInUsePrimary},
		{name: "InUseWeighted", f: deleteInUseWeighted},
		{name: "Latest", f: deleteLatest},
		{name: "NotFound", f: deleteNotFound},
		{name: "Deleted", f: deleteDeleted},
	}
}

// needDelete skips the clause when the platform cannot delete versions.
func (e *env) needDelete() {
	e.t.Helper()
	if !e.caps.DeleteVersions {
		e.t.Skipf("Capabilities().DeleteVersions is false")
	}
}

// deleteRefused checks that deleting id fails with want and that id is
// still readable and listed.
func (e *env) deleteRefused(id string, want error, why string) {
	e.t.Helper()
	err := e.p.DeleteVersion(e.ctx, e.fn, id)
	e.wantErr(fmt.Sprintf("DeleteVersion(%q, %q) of %s", e.fn, id, why), err, want, e.fn)
	if _, err := e.p.Version(e.ctx, e.fn, id); err != nil {
		e.t.Errorf("Version(%q, %q) after a refused delete: %v", e.fn, id, err)
	}
	if !slices.Contains(ids(e.list(e.fn)), id) {
		e.t.Errorf("Versions(%q) no longer lists %q after a refused delete", e.fn, id)
	}
}

// deleteOK deletes id and checks that it is gone.
func (e *env) deleteOK(id string) {
	e.t.Helper()
	if err := e.p.DeleteVersion(e.ctx, e.fn, id); err != nil {
		e.t.Fatalf("DeleteVersion(%q, %q): %v", e.fn, id, err)
	}
	_, err := e.p.Version(e.ctx, e.fn, id)
	e.wantErr(fmt.Sprintf("Version(%q, %q) of a deleted version", e.fn, id), err, provider.ErrNotFound, e.fn)
	if slices.Contains(ids(e.list(e.fn)), id) {
		e.t.Errorf("Versions(%q) still lists the deleted version %q", e.fn, id)
	}
}

func deleteUnsupported(e *env) {
	if e.caps.DeleteVersions {
		e.t.Skipf("Capabilities().DeleteVersions is true")
	}
	v := e.publishN(2)
	e.deleteRefused(v[0], provider.ErrUnsupported, "a version on a platform that cannot delete versions")
}

func deleteInUsePrimary(e *env) {
	e.needDelete()
	v := e.publishN(3)
	r := e.create(provider.To("stage", v[0]))
	e.deleteRefused(v[0], provider.ErrInUse, "the primary version of a route")
	// Once the route moves away the version can go.
	e.update(provider.To("stage", v[1]), r.Revision)
	e.deleteOK(v[0])
	e.deleteRefused(v[1], provider.ErrInUse, "the primary version of a route")
}

func deleteInUseWeighted(e *env) {
	e.needDelete()
	bp := e.canaryBP()
	if bp == 0 {
		e.t.Skipf("no route can split traffic across two versions: Capabilities %+v", e.caps)
	}
	v := e.publishN(3)
	r := e.put(provider.Split(e.splitAlias(), v[1], v[0], bp))
	e.deleteRefused(v[0], provider.ErrInUse, "a version receiving a weighted share of a route")
	e.update(provider.To(e.splitAlias(), v[1]), r.Revision)
	e.deleteOK(v[0])
}

func deleteLatest(e *env) {
	e.needDelete()
	v := e.publishN(2)
	e.deleteRefused(v[1], provider.ErrInUse, "the newest version")
	e.deleteOK(v[0])
	e.deleteRefused(v[1], provider.ErrInUse, "the newest and only version")
}

func deleteNotFound(e *env) {
	e.needDelete()
	e.publishN(2)
	err := e.p.DeleteVersion(e.ctx, e.fn, unknownVersion)
	e.wantErr(fmt.Sprintf("DeleteVersion(%q, %q) of a version that does not exist", e.fn, unknownVersion), err, provider.ErrNotFound, e.fn)
	missing := e.missingFunction()
	err = e.p.DeleteVersion(e.ctx, missing, "1")
	e.wantErr(fmt.Sprintf("DeleteVersion(%q, %q) of a function that does not exist", missing, "1"), err, provider.ErrNotFound, missing)
	err = e.p.DeleteVersion(e.ctx, e.fn, "")
	e.wantErr(fmt.Sprintf("DeleteVersion(%q, \"\")", e.fn), err, provider.ErrInvalid, e.fn)
}

func deleteDeleted(e *env) {
	e.needDelete()
	vs := e.publishAll(3)
	e.deleteOK(vs[1].ID)
	e.checkListing([]provider.Version{vs[0], vs[2]})

	err := e.p.DeleteVersion(e.ctx, e.fn, vs[1].ID)
	e.wantErr(fmt.Sprintf("DeleteVersion(%q, %q) again", e.fn, vs[1].ID), err, provider.ErrNotFound, e.fn)

	// A route never points at a deleted version.
	req := provider.To("stage", vs[1].ID)
	_, err = e.p.SetRoute(e.ctx, e.fn, req)
	e.wantErr(fmt.Sprintf("SetRoute(%q, %s) to a deleted version", e.fn, routeText(req)), err, provider.ErrInvalid, e.fn)
	e.wantNoRoute("stage")
}

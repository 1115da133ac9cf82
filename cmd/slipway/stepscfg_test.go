package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/release"
)

// TestConfigLockDownRemap: lockDown and remap become the release options
// run after a promotion to production.
func TestConfigLockDownRemap(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		lock      *release.LockDownOptions
		remap     *release.RemapOptions
	}{
		{"none", "provider: memory\n", nil, nil},
		{"both", "lockDown:\n  dryRun: true\n  ownAccounts: ['123456789012']\nremap:\n  dryRun: true\n  alias: live\n",
			&release.LockDownOptions{DryRun: true, OwnAccounts: []string{"123456789012"}}, &release.RemapOptions{DryRun: true, Alias: "live"}},
		{"defaults", "lockDown: {}\nremap: {}\n", &release.LockDownOptions{}, &release.RemapOptions{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := schemaValidate(t, compileSchema(t), []byte(tc.doc)); err != nil {
				t.Errorf("the schema refuses it: %v", err)
			}
			c, err := parseConfig("x.yaml", []byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			var opts release.Options
			(&settings{cfg: c}).applyConfig(&opts)
			if diff := cmp.Diff(tc.lock, opts.LockDown); diff != "" {
				t.Errorf("lock-down (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.remap, opts.Remap); diff != "" {
				t.Errorf("remap (-want +got):\n%s", diff)
			}
		})
	}
}

// TestConfigLockDownRemapRejected: bad values, file:line.
func TestConfigLockDownRemapRejected(t *testing.T) {
	s := compileSchema(t)
	for _, tc := range []struct{ name, doc, want string }{
		{"bad account", "lockDown:\n  ownAccounts:\n    - '1234 5678'\n", `x.yaml:3: lockDown.ownAccounts[0]: "1234 5678" is not an account ID`},
		{"bad alias", "remap:\n  alias: prod/live\n", `x.yaml:2: remap.alias: "prod/live" is not an alias name`},
		{"unknown key", "remap:\n  dryrun: true\n", "x.yaml:2: dryrun: unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := schemaValidate(t, s, []byte(tc.doc)); err == nil {
				t.Errorf("the schema accepts:\n%s", tc.doc)
			}
			_, err := parseConfig("x.yaml", []byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("parseConfig = %v, want %q", err, tc.want)
			}
		})
	}
}

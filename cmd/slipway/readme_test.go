package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestREADMEExamples: the repository README's config example is a valid
// slipway.yaml and its workflow example is valid YAML that uses the action
// with inputs the action has; the set-up commands are still the two.
func TestREADMEExamples(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(readme, -1)
	if len(blocks) < 2 {
		t.Fatalf("%d yaml blocks in the README, want the config and the workflow", len(blocks))
	}
	if _, err := parseConfig("README.md", []byte(blocks[0][1])); err != nil {
		t.Errorf("the README's slipway.yaml: %v", err)
	}
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				Uses string         `yaml:"uses"`
				With map[string]any `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal([]byte(blocks[1][1]), &wf); err != nil {
		t.Fatalf("the README's workflow: %v", err)
	}
	ab, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var a actionFile
	if err := yaml.Unmarshal(ab, &a); err != nil {
		t.Fatal(err)
	}
	uses := 0
	for _, j := range wf.Jobs {
		for _, s := range j.Steps {
			if s.Uses != "slipway-dev/slipway@v1" {
				continue
			}
			uses++
			for in := range s.With {
				if _, ok := a.Inputs[in]; !ok {
					t.Errorf("the README's workflow gives the action an input %q it does not have", in)
				}
			}
		}
	}
	if uses == 0 {
		t.Error("the README's workflow does not use the action")
	}
	for _, want := range []string{"go run ./examples/quickstart", "go test ./...", "go install github.com/slipway-dev/slipway/cmd/slipway@latest"} {
		if !strings.Contains(readme, want) {
			t.Errorf("the README lacks %q", want)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// healthyLinear releases v2 through Linear10PercentEvery1Minute: ten
// steps, a window judged at each, candidate and stable both healthy.
// Both versions are healthy: the candidate's line is drawn over the
// stable one's, which is wider.
func healthyLinear(t *testing.T) *pipeline {
	t.Helper()
	p := newPipeline(t)
	p.first()
	p.must(exitOK, "publish", "--code", "v2", "--level", "minor")
	os.Remove(p.summary)
	p.must(exitOK, "promote", "--strategy", "Linear10PercentEvery1Minute")
	return p
}

// TestJobSummaryChart: the job summary carries a Mermaid xychart-beta of
// candidate against stable per window, one value per judged window.
func TestJobSummaryChart(t *testing.T) {
	p := healthyLinear(t)
	sum := p.read(p.summary)
	m := regexp.MustCompile("(?s)```mermaid\nxychart-beta\n  title \"checkout: error rate, candidate vs stable\"\n  x-axis \\[([^\\]]*)\\]\n  y-axis \"error rate \\(%\\)\" 0 --> [0-9.]+\n  line \\[([^\\]]*)\\]\n  line \\[([^\\]]*)\\]\n```").FindStringSubmatch(sum)
	if m == nil {
		t.Fatalf("no xychart in the summary:\n%s", sum)
	}
	verdicts := strings.Count(sum, "| error rate | ✅ pass |")
	for i, part := range m[1:] {
		if n := len(strings.Split(part, ", ")); n != verdicts || verdicts < 9 {
			t.Errorf("chart series %d has %d values, want one per verdict (%d)", i, n, verdicts)
		}
	}
}

// chromium returns the path of a headless Chromium, or skips.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium on this machine (Debian: apt-get install chromium; .ci/run installs it): the report's rendering is not checked")
	return ""
}

// TestReportRendersInChromium: slipway report writes a self-contained page
// that headless Chromium renders: a full-size screenshot that is not
// blank and shows the candidate's colour, one chart point per window and
// side, the verdicts and journal rows, and no console error.
func TestReportRendersInChromium(t *testing.T) {
	browser := chromium(t)
	p := healthyLinear(t)
	out := filepath.Join(t.TempDir(), "report.html")
	s := p.must(exitOK, "report", "--out", out)
	if !strings.Contains(s.stdout, "written to "+out) {
		t.Errorf("report:\n%s", s.stdout)
	}
	page := p.read(out)
	for _, bad := range []string{"<script", "src=\"http", "href=\"http", "@import", "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("the page is not self-contained: it has %q", bad)
		}
	}
	verdicts := strings.Count(page, `<td>error rate</td><td class="pass">pass</td>`) // the relative check's windows
	if verdicts < 9 {
		t.Fatalf("%d passing verdict rows, want one per window of the ten steps", verdicts)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang, not a timing assertion
	defer cancel()
	dir := t.TempDir()
	shot := filepath.Join(dir, "shot.png")
	common := []string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
		"--user-data-dir=" + filepath.Join(dir, "profile"), "--enable-logging=stderr", "--v=0"}
	cmd := exec.CommandContext(ctx, browser, append(common, "--window-size=1200,1800", "--screenshot="+shot, "file://"+out)...)
	var log bytes.Buffer
	cmd.Stderr = &log
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, log.String())
	}
	if strings.Contains(log.String(), "CONSOLE") {
		t.Errorf("console messages while rendering:\n%s", log.String())
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 1800 {
		t.Errorf("screenshot %dx%d, want 1200x1800", b.Dx(), b.Dy())
	}
	inked, red, blue := 0, 0, 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			if r < 240 || g < 240 || bl < 240 {
				inked++
			}
			if r > 180 && g < 80 && bl < 80 {
				red++ // the candidate's line (#cf222e)
			}
			if r < 40 && g > 80 && g < 130 && bl > 190 {
				blue++ // the stable version's line (#0969da)
			}
		}
	}
	if inked < 5000 || red < 50 || blue < 50 {
		t.Errorf("screenshot looks empty: %d inked, %d red, %d blue samples", inked, red, blue)
	}

	dom := exec.CommandContext(ctx, browser, append(common, "--dump-dom", "file://"+out)...)
	rendered, err := dom.Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	text := string(rendered)
	for what, want := range map[string]int{
		`<circle class="candidate"`: verdicts,
		`<circle class="stable"`:    verdicts,
		`<polyline class=`:          2,
		`<svg class="chart"`:        1,
	} {
		if got := strings.Count(text, what); got != want {
			t.Errorf("rendered DOM has %d %s, want %d", got, what, want)
		}
	}
	if !strings.Contains(text, `id="outcome">promoted<`) || !strings.Contains(text, `<table id="journal">`) {
		t.Error("the rendered DOM lacks the outcome or the journal")
	}
}

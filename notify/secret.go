package notify

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/slipway-dev/slipway/provider"
)

// Secret is a credential a notifier sends (a PagerDuty routing key, a Slack
// token, a webhook URL whose path is the secret). It formats as
// "[redacted]" under fmt's verbs, log/slog and encoding/json, so a
// notifier logged or journalled whole does not leak it; Reveal returns
// the value for the one place that sends it.
type Secret string

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) String() string { return s.redacted() }

// GoString redacts under %#v.
func (s Secret) GoString() string { return s.redacted() }

// Format redacts under every verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.redacted())) }

// LogValue redacts under log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.redacted()) }

// MarshalJSON writes "[redacted]": secrets come from the environment, not
// from stored configuration.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.redacted() + `"`), nil }

func (s Secret) redacted() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// SecretFromEnv reads the environment variable name; an unset or empty one
// is provider.ErrInvalid naming it (never its value).
func SecretFromEnv(name string) (Secret, error) {
	v := os.Getenv(name)
	if v == "" {
		return "", provider.Invalid("environment", name, "is not set")
	}
	return Secret(v), nil
}

// scrub replaces every non-empty secret in s by [redacted]: endpoints may
// echo a request (and the credential in it) in an error body, which
// callers log.
func scrub(s string, secrets ...Secret) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, string(sec), "[redacted]")
		}
	}
	return s
}

// scrubError removes secrets from an *HTTPError's body and from any other
// error's message.
func scrubError(err error, secrets ...Secret) error {
	if err == nil {
		return nil
	}
	if he, ok := err.(*HTTPError); ok {
		c := *he
		c.Body = scrub(c.Body, secrets...)
		return &c
	}
	msg := err.Error()
	if clean := scrub(msg, secrets...); clean != msg {
		return scrubbed{msg: clean, err: err}
	}
	return err
}

// scrubbed is an error whose message had a secret removed; errors.Is and
// errors.As still see the original chain.
type scrubbed struct {
	msg string
	err error
}

func (e scrubbed) Error() string { return e.msg }
func (e scrubbed) Unwrap() error { return e.err }

// urlSecrets returns a secret URL and the parts of it that carry the
// secret on their own (the path and query, each query value), so an echo
// of any of them is scrubbed too.
func urlSecrets(raw Secret) []Secret {
	out := []Secret{raw}
	u, err := url.Parse(raw.Reveal())
	if err != nil {
		return out
	}
	if u.RawQuery != "" {
		out = append(out, Secret(u.RawQuery))
		for _, vs := range u.Query() {
			for _, v := range vs {
				out = append(out, Secret(v))
			}
		}
	}
	if p := u.EscapedPath(); len(p) > 1 {
		out = append(out, Secret(p))
	}
	return out
}

package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"sightline/clients/go/internal/livetest"
)

// The README's first steps work as written, twice in a row (the second run reuses what the first created).
func TestQuickstart(t *testing.T) {
	iso := livetest.NewIsolation()
	server := livetest.ServerFor(t, iso, livetest.ServerOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for attempt := range 2 {
		var out bytes.Buffer
		if err := run(ctx, server.Addr, iso.AdminKey, "quickstart", &out); err != nil {
			t.Fatalf("run %d: %v\n%s", attempt, err, out.String())
		}
		text := out.String()
		if !regexp.MustCompile(`(?m)^project key: slk_\S+$`).MatchString(text) {
			t.Fatalf("run %d printed no project key:\n%s", attempt, text)
		}
		for _, want := range []string{
			"uploaded: 3 accepted, 0 rejected\n",
			"a1 age=41 income.monthly=5200 defaulted=false\n",
			"a2 age=29 income.monthly=<nil> defaulted=true\n",
			"a3 age=57 income.monthly=3100 defaulted=false\n",
		} {
			if !strings.Contains(text, want) {
				t.Fatalf("run %d output lacks %q:\n%s", attempt, want, text)
			}
		}
	}
}

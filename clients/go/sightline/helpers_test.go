package sightline_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sightlinev1 "sightline/clients/go/gen/sightline/v1"
	"sightline/clients/go/internal/livetest"
	"sightline/clients/go/sightline"
)

func TestMain(m *testing.M) {
	code := m.Run()
	livetest.StopShared()
	os.Exit(code)
}

func uniqueName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func dial(t *testing.T, addr string, opts ...sightline.Option) *sightline.Client {
	t.Helper()
	c, err := sightline.Dial(context.Background(), addr, opts...)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// adminClient dials the package's shared server with the admin key.
func adminClient(t *testing.T) (*sightline.Client, *livetest.Shared) {
	t.Helper()
	s := livetest.SharedServer(t)
	return dial(t, s.Server.Addr, sightline.WithAPIKey(s.Iso.AdminKey)), s
}

// projectWithKey creates a project and a key for it, and returns the project name and a client using that key.
func projectWithKey(t *testing.T, ctx context.Context, admin *sightline.Client, addr string) (string, *sightline.Client) {
	t.Helper()
	name := uniqueName("p")
	if _, err := admin.Admin.CreateProject(ctx, &sightlinev1.CreateProjectRequest{Project: &sightlinev1.Project{Name: name}}); err != nil {
		t.Fatalf("CreateProject: %v", err)
	}
	key, err := admin.Admin.CreateApiKey(ctx, &sightlinev1.CreateApiKeyRequest{Project: name, DisplayName: "go tests"})
	if err != nil {
		t.Fatalf("CreateApiKey: %v", err)
	}
	return name, dial(t, addr, sightline.WithAPIKey(key.GetSecret()))
}

// wantError asserts that err is an *Error with the code and reason, and that gRPC's helpers agree on the code.
func wantError(t *testing.T, what string, err error, code codes.Code, reason string) *sightline.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want %s (%s)", what, code, reason)
	}
	var e *sightline.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: error %T %v is not a *sightline.Error", what, err, err)
	}
	if e.Code != code || e.Reason != reason {
		t.Fatalf("%s: got %s/%q (%v), want %s/%q", what, e.Code, e.Reason, err, code, reason)
	}
	if got := status.Code(err); got != code {
		t.Fatalf("%s: status.Code(err) = %s, want %s", what, got, code)
	}
	return e
}

// hasViolation asserts that e lists a violation of a field starting with prefix.
func hasViolation(t *testing.T, what string, e *sightline.Error, prefix string) {
	t.Helper()
	for _, v := range e.FieldViolations {
		if strings.HasPrefix(v.Field, prefix) {
			return
		}
	}
	t.Fatalf("%s: no field violation under %q in %+v", what, prefix, e.FieldViolations)
}

// readAll collects every row of a target.
func readAll(t *testing.T, ctx context.Context, c *sightline.Client, req *sightlinev1.ReadRecordsRequest) []sightline.Row {
	t.Helper()
	var rows []sightline.Row
	for batch, err := range c.ReadRecords(ctx, req) {
		if err != nil {
			t.Fatalf("ReadRecords: %v", err)
		}
		rows = append(rows, sightline.Rows(batch)...)
	}
	return rows
}

func ctxFor(t *testing.T, limit time.Duration) context.Context {
	return livetest.Context(t, limit)
}

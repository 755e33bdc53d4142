package sightline_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	sightlinev1 "sightline/clients/go/gen/sightline/v1"
	"sightline/clients/go/sightline"
)

func TestNullMask(t *testing.T) {
	cases := []struct {
		nulls []bool
		want  []byte
	}{
		{nil, nil},
		{[]bool{false, false, false}, nil},
		{[]bool{true}, []byte{0x01}},
		{[]bool{false, true, false, true}, []byte{0x0a}},
		// Rows 0, 3 and 8 of ten: the ninth row opens a second byte, least significant bit first.
		{[]bool{true, false, false, true, false, false, false, false, true, false}, []byte{0x09, 0x01}},
		{[]bool{false, false, false, false, false, false, false, true}, []byte{0x80}},
	}
	for _, c := range cases {
		got := sightline.NullMask(c.nulls)
		if !bytes.Equal(got, c.want) || (c.want == nil) != (got == nil) {
			t.Errorf("NullMask(%v) = %08b, want %08b", c.nulls, got, c.want)
		}
		for row, null := range c.nulls {
			if sightline.IsNull(got, row) != null {
				t.Errorf("IsNull(NullMask(%v), %d) = %v", c.nulls, row, !null)
			}
		}
	}
	if sightline.IsNull([]byte{0xff}, 8) || sightline.IsNull([]byte{0xff}, -1) || sightline.IsNull(nil, 0) {
		t.Error("rows outside the mask read as null")
	}
}

func TestNullable(t *testing.T) {
	one, three := 1.0, 3.0
	values, nulls := sightline.Nullable([]*float64{&one, nil, &three})
	if !reflect.DeepEqual(values, []float64{1, 0, 3}) || !reflect.DeepEqual(nulls, []bool{false, true, false}) {
		t.Fatalf("Nullable = %v, %v", values, nulls)
	}
}

func TestBatchBuild(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 678_900_000, time.UTC)
	batch, err := sightline.NewBatch("a", "b", "c").
		EventTimes(at, time.Time{}, at.Add(time.Second)).
		Columns(
			sightline.Doubles("d", []float64{1, 2, 3}, []bool{false, true, false}),
			sightline.Int64s("i", []int64{1 << 62, -1, 0}, nil),
			sightline.Strings("s", []string{"x", "", "z"}, []bool{false, false, true}),
			sightline.Bools("b", []bool{true, false, true}, nil),
			sightline.Times("t", []time.Time{at, {}, at}, []bool{false, false, true}),
		).
		Predictions(sightline.Doubles("p", []float64{0.1, 0.2, 0.3}, nil)).
		Influences(sightline.Doubles("d", []float64{-1, 0, 1}, nil)).
		Build()
	if err != nil {
		t.Fatal(err)
	}
	ms := at.UnixMilli()
	want := &sightlinev1.RecordBatch{
		RecordIds:  []string{"a", "b", "c"},
		EventTimes: &sightlinev1.TimestampColumn{UnixMillis: []int64{ms, 0, ms + 1000}, NullMask: []byte{0x02}},
		Columns: []*sightlinev1.Column{
			{Name: "d", Values: &sightlinev1.Column_Doubles{Doubles: &sightlinev1.DoubleValues{Values: []float64{1, 2, 3}}}, NullMask: []byte{0x02}},
			{Name: "i", Values: &sightlinev1.Column_Int64S{Int64S: &sightlinev1.Int64Values{Values: []int64{1 << 62, -1, 0}}}},
			{Name: "s", Values: &sightlinev1.Column_Strings{Strings: &sightlinev1.StringValues{Values: []string{"x", "", "z"}}}, NullMask: []byte{0x04}},
			{Name: "b", Values: &sightlinev1.Column_Bools{Bools: &sightlinev1.BoolValues{Values: []bool{true, false, true}}}},
			{Name: "t", Values: &sightlinev1.Column_Int64S{Int64S: &sightlinev1.Int64Values{Values: []int64{ms, 0, ms}}}, NullMask: []byte{0x06}},
		},
		Predictions: []*sightlinev1.Column{{Name: "p", Values: &sightlinev1.Column_Doubles{Doubles: &sightlinev1.DoubleValues{Values: []float64{0.1, 0.2, 0.3}}}}},
		Influences:  []*sightlinev1.Column{{Name: "d", Values: &sightlinev1.Column_Doubles{Doubles: &sightlinev1.DoubleValues{Values: []float64{-1, 0, 1}}}}},
	}
	if !proto.Equal(batch, want) {
		t.Fatalf("Build:\n got %v\nwant %v", batch, want)
	}

	rows := sightline.Rows(batch)
	wantRows := []sightline.Row{
		{RecordID: "a", EventTime: time.UnixMilli(ms).UTC(), Columns: map[string]any{"d": 1.0, "i": int64(1 << 62), "s": "x", "b": true, "t": ms}, Predictions: map[string]any{"p": 0.1}, Influences: map[string]any{"d": -1.0}},
		{RecordID: "b", Columns: map[string]any{"d": nil, "i": int64(-1), "s": "", "b": false, "t": nil}, Predictions: map[string]any{"p": 0.2}, Influences: map[string]any{"d": 0.0}},
		{RecordID: "c", EventTime: time.UnixMilli(ms + 1000).UTC(), Columns: map[string]any{"d": 3.0, "i": int64(0), "s": nil, "b": true, "t": nil}, Predictions: map[string]any{"p": 0.3}, Influences: map[string]any{"d": 1.0}},
	}
	if !reflect.DeepEqual(rows, wantRows) {
		t.Fatalf("Rows:\n got %+v\nwant %+v", rows, wantRows)
	}
}

func TestBatchBuildErrors(t *testing.T) {
	cases := []struct {
		name  string
		batch *sightline.Batch
		want  []string
	}{
		{"no record IDs", sightline.NewBatch(), []string{"no record IDs"}},
		{"short column", sightline.NewBatch("a", "b").Columns(sightline.Int64s("i", []int64{1}, nil)), []string{`"i" has 1 values for 2 record IDs`}},
		{"null flags", sightline.NewBatch("a").Columns(sightline.Doubles("d", []float64{1}, []bool{false, true})), []string{`"d" has 1 values but 2 null flags`}},
		{"repeated", sightline.NewBatch("a").Predictions(sightline.Bools("p", []bool{true}, nil), sightline.Bools("p", []bool{false}, nil)), []string{`predictions: "p" appears twice`}},
		{"unnamed", sightline.NewBatch("a").Influences(sightline.Strings("", []string{"x"}, nil)), []string{"influences: a column has no name"}},
		{"event times", sightline.NewBatch("a", "b").EventTimes(time.Now()), []string{"1 event times for 2 record IDs"}},
		{"nil raw column", sightline.NewBatch("a").Columns(sightline.RawColumn(nil)), []string{"a nil column"}},
		{"several", sightline.NewBatch("a").Columns(sightline.Int64s("i", nil, nil), sightline.Int64s("j", []int64{1, 2}, nil)), []string{`"i" has 0 values`, `"j" has 2 values`}},
	}
	for _, c := range cases {
		_, err := c.batch.Build()
		if err == nil {
			t.Errorf("%s: Build succeeded", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", c.name, err, w)
			}
		}
	}
	// A whole-number doubles column for an INT64 field goes through RawColumn untouched.
	raw := &sightlinev1.Column{Name: "i", Values: &sightlinev1.Column_Doubles{Doubles: &sightlinev1.DoubleValues{Values: []float64{4}}}}
	b, err := sightline.NewBatch("a").Columns(sightline.RawColumn(raw)).Build()
	if err != nil || b.GetColumns()[0] != raw {
		t.Fatalf("RawColumn: %v, %v", b, err)
	}
}

func TestErrorFromStatus(t *testing.T) {
	st, err := status.New(codes.InvalidArgument, "collection.name: must start with a letter").WithDetails(
		&errdetails.ErrorInfo{Reason: "INVALID_ARGUMENT", Domain: sightline.ErrorDomain, Metadata: map[string]string{"k": "v"}},
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "collection.name", Description: "must start with a letter"}}},
		&errdetails.PreconditionFailure{Violations: []*errdetails.PreconditionFailure_Violation{{Type: "SCHEMA", Subject: "fields[0]", Description: "changed"}}},
		&errdetails.ResourceInfo{ResourceType: "collection", ResourceName: "credit"},
	)
	if err != nil {
		t.Fatal(err)
	}
	e := sightline.FromStatus(st)
	want := &sightline.Error{
		Code: codes.InvalidArgument, Reason: sightline.ReasonInvalidArgument, Message: "collection.name: must start with a letter",
		Metadata:               map[string]string{"k": "v"},
		FieldViolations:        []sightline.FieldViolation{{Field: "collection.name", Description: "must start with a letter"}},
		PreconditionViolations: []sightline.PreconditionViolation{{Type: "SCHEMA", Subject: "fields[0]", Description: "changed"}},
		ResourceType:           "collection", ResourceName: "credit",
	}
	if e.Code != want.Code || e.Reason != want.Reason || e.Message != want.Message || !reflect.DeepEqual(e.Metadata, want.Metadata) ||
		!reflect.DeepEqual(e.FieldViolations, want.FieldViolations) || !reflect.DeepEqual(e.PreconditionViolations, want.PreconditionViolations) ||
		e.ResourceType != want.ResourceType || e.ResourceName != want.ResourceName {
		t.Fatalf("FromStatus = %+v, want %+v", e, want)
	}
	if e.ErrorReason() != sightlinev1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT || e.Retryable() {
		t.Fatalf("enum %v, retryable %v", e.ErrorReason(), e.Retryable())
	}
	wrapped := fmt.Errorf("creating: %w", e)
	if status.Code(wrapped) != codes.InvalidArgument || sightline.ReasonOf(wrapped) != sightline.ReasonInvalidArgument {
		t.Fatalf("through a wrap: code %v, reason %q", status.Code(wrapped), sightline.ReasonOf(wrapped))
	}
	if got, ok := sightline.AsError(wrapped); !ok || got != e {
		t.Fatal("AsError does not find the *Error through a wrap")
	}
	if s := e.Error(); s != "sightline: InvalidArgument: collection.name: must start with a letter" {
		t.Fatalf("Error() = %q", s)
	}
	revoked := &sightline.Error{Code: codes.Unauthenticated, Reason: sightline.ReasonAPIKeyRevoked, Message: "the API key was revoked"}
	if s := revoked.Error(); s != "sightline: Unauthenticated (API_KEY_REVOKED): the API key was revoked" {
		t.Fatalf("Error() = %q", s)
	}
	if sightline.ReasonOf(errors.New("plain")) != "" {
		t.Fatal("a plain error has a reason")
	}

	cancelled := sightline.FromStatus(status.New(codes.Canceled, "context canceled"))
	if !errors.Is(cancelled, context.Canceled) || errors.Is(cancelled, context.DeadlineExceeded) {
		t.Fatal("CANCELED does not match context.Canceled alone")
	}
	if !errors.Is(sightline.FromStatus(status.New(codes.DeadlineExceeded, "")), context.DeadlineExceeded) {
		t.Fatal("DEADLINE_EXCEEDED does not match context.DeadlineExceeded")
	}
	if !sightline.FromStatus(status.New(codes.Unavailable, "down")).Retryable() {
		t.Fatal("UNAVAILABLE is not retryable")
	}
}

func TestDialOptionErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := sightline.Dial(ctx, ""); err == nil {
		t.Error("Dial of an empty address succeeded")
	}
	if _, err := sightline.Dial(ctx, "127.0.0.1:1", sightline.WithRootCAFile(filepath.Join(t.TempDir(), "missing.pem"))); err == nil {
		t.Error("Dial with a missing CA file succeeded")
	}
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := sightline.Dial(ctx, "127.0.0.1:1", sightline.WithRootCAFile(notPEM)); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("Dial with a non-PEM CA file: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := sightline.Dial(cancelled, "127.0.0.1:1"); !errors.Is(err, context.Canceled) {
		t.Errorf("Dial with a cancelled context: %v", err)
	}
	// Nothing listens on port 1: the failure shows on the first call, as the documented UNAVAILABLE.
	c, err := sightline.Dial(ctx, "127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	callCtx, cancelCall := context.WithTimeout(ctx, 10*time.Second)
	defer cancelCall()
	_, err = c.Admin.ListProjects(callCtx, &sightlinev1.ListProjectsRequest{})
	if e, ok := sightline.AsError(err); !ok || e.Code != codes.Unavailable || !e.Retryable() {
		t.Errorf("a call to a closed port: %v", err)
	}
}

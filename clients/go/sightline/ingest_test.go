package sightline_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	sightlinev1 "sightline/clients/go/gen/sightline/v1"
	"sightline/clients/go/sightline"
)

func field(name string, kind sightlinev1.FieldKind, typ sightlinev1.FieldType, nullable bool, categories ...string) *sightlinev1.Field {
	return &sightlinev1.Field{Name: name, Kind: kind, Type: typ, Nullable: nullable, Categories: categories}
}

const (
	feature = sightlinev1.FieldKind_FIELD_KIND_FEATURE
	label   = sightlinev1.FieldKind_FIELD_KIND_LABEL
	extra   = sightlinev1.FieldKind_FIELD_KIND_EXTRA
)

// allTypes is a collection with one nullable field of every type, and a split "train".
func allTypes(t *testing.T, ctx context.Context, c *sightline.Client, project string) string {
	t.Helper()
	schema := &sightlinev1.Schema{RecordIdColumn: "id", TimestampColumn: "ts", Fields: []*sightlinev1.Field{
		field("x.double", feature, sightlinev1.FieldType_FIELD_TYPE_DOUBLE, true),
		field("count", feature, sightlinev1.FieldType_FIELD_TYPE_INT64, true),
		field("name", feature, sightlinev1.FieldType_FIELD_TYPE_STRING, true),
		field("segment", feature, sightlinev1.FieldType_FIELD_TYPE_CATEGORICAL, true, "a", "b", "c"),
		field("flag", label, sightlinev1.FieldType_FIELD_TYPE_BOOL, true),
		field("seen_at", extra, sightlinev1.FieldType_FIELD_TYPE_TIMESTAMP, true),
	}}
	const coll = "alltypes"
	if _, err := c.Catalog.CreateDataCollection(ctx, &sightlinev1.CreateDataCollectionRequest{Collection: &sightlinev1.DataCollection{Project: project, Name: coll, Schema: schema}}); err != nil {
		t.Fatalf("CreateDataCollection: %v", err)
	}
	if _, err := c.Catalog.CreateSplit(ctx, &sightlinev1.CreateSplitRequest{Split: &sightlinev1.Split{Project: project, Collection: coll, Name: "train", Type: sightlinev1.SplitType_SPLIT_TYPE_TRAIN}}); err != nil {
		t.Fatalf("CreateSplit: %v", err)
	}
	return coll
}

// A batch with every column type and nulls in each goes up through Upload (two batches) and comes back equal.
func TestUploadEveryColumnTypeRoundTrip(t *testing.T) {
	admin, s := adminClient(t)
	ctx := ctxFor(t, time.Minute)
	project, c := projectWithKey(t, ctx, admin, s.Server.Addr)
	coll := allTypes(t, ctx, c, project)
	target := sightline.SplitTarget(project, coll, "train")

	seen := time.UnixMilli(1764130000123).UTC()
	ids := []string{"r0", "r1", "r2", "r3", "r4", "r5"}
	doubles := []float64{0.1, 0, -2.5e10, 3, 1e-300, 7}
	doubleNulls := []bool{false, true, false, false, false, true}
	ints := []int64{1<<60 + 1, -5, 0, 0, 9007199254740993, 42}
	intNulls := []bool{false, false, false, true, false, false}
	names := []string{"héllo", "", "x", "tab\there", "", "last"}
	nameNulls := []bool{false, false, true, false, true, false}
	segments := []string{"a", "b", "", "c", "a", ""}
	segmentNulls := []bool{false, false, true, false, false, true}
	flags := []bool{true, false, false, true, false, false}
	flagNulls := []bool{false, false, true, false, false, false}
	times := []time.Time{seen, {}, seen.Add(time.Hour), seen.Add(-time.Hour), {}, seen.Add(24 * time.Hour)}

	var batches []*sightlinev1.RecordBatch
	for lo := 0; lo < len(ids); lo += 3 {
		hi := lo + 3
		b, err := sightline.NewBatch(ids[lo:hi]...).Columns(
			sightline.Doubles("x.double", doubles[lo:hi], doubleNulls[lo:hi]),
			sightline.Int64s("count", ints[lo:hi], intNulls[lo:hi]),
			sightline.Strings("name", names[lo:hi], nameNulls[lo:hi]),
			sightline.Strings("segment", segments[lo:hi], segmentNulls[lo:hi]),
			sightline.Bools("flag", flags[lo:hi], flagNulls[lo:hi]),
			sightline.Times("seen_at", times[lo:hi], nil),
		).Build()
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, b)
	}
	summary, err := c.Upload(ctx, target, batches)
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	if summary.GetRowsReceived() != 6 || summary.GetRowsAccepted() != 6 || summary.GetRowsRejected() != 0 || summary.GetBatches() != 2 {
		t.Fatalf("summary: %v", summary)
	}

	cell := func(v any, null bool) any {
		if null {
			return nil
		}
		return v
	}
	var want []sightline.Row
	for i, id := range ids {
		var seenAt any
		if !times[i].IsZero() {
			seenAt = times[i].UnixMilli()
		}
		want = append(want, sightline.Row{
			RecordID: id,
			Columns: map[string]any{
				"x.double": cell(doubles[i], doubleNulls[i]),
				"count":    cell(ints[i], intNulls[i]),
				"name":     cell(names[i], nameNulls[i]),
				"segment":  cell(segments[i], segmentNulls[i]),
				"flag":     cell(flags[i], flagNulls[i]),
				"seen_at":  seenAt,
			},
			Predictions: map[string]any{},
			Influences:  map[string]any{},
		})
	}
	got := readAll(t, ctx, c, &sightlinev1.ReadRecordsRequest{Target: target})
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read back:\n got %+v\nwant %+v", got, want)
	}

	// Only some fields, in small batches; the loop may stop early.
	var batchCount int
	for batch, err := range c.ReadRecords(ctx, &sightlinev1.ReadRecordsRequest{Target: target, Fields: []string{"count"}, BatchSize: 2}) {
		if err != nil {
			t.Fatalf("ReadRecords: %v", err)
		}
		batchCount++
		if len(batch.GetColumns()) != 1 || batch.GetColumns()[0].GetName() != "count" || len(batch.GetRecordIds()) != 2 {
			t.Fatalf("a fields-only read returned %v", batch)
		}
		if batchCount == 2 {
			break
		}
	}
	if batchCount != 2 {
		t.Fatalf("read %d batches before stopping, want 2", batchCount)
	}
}

// Upload's documented failures: an unknown target, and a batch refused whole after others were written; and a
// row rejected on its own.
func TestUploadErrors(t *testing.T) {
	admin, s := adminClient(t)
	ctx := ctxFor(t, time.Minute)
	project, c := projectWithKey(t, ctx, admin, s.Server.Addr)
	coll := allTypes(t, ctx, c, project)
	target := sightline.SplitTarget(project, coll, "train")

	good, err := sightline.NewBatch("g1", "g2").Columns(sightline.Int64s("count", []int64{1, 2}, nil)).Build()
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Upload(ctx, sightline.SplitTarget(project, "missing", "train"), []*sightlinev1.RecordBatch{good})
	wantError(t, "Upload to a missing collection", err, codes.NotFound, sightline.ReasonNotFound)

	unknown, err := sightline.NewBatch("u1").Columns(sightline.Int64s("no_such_field", []int64{1}, nil)).Build()
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Upload(ctx, target, []*sightlinev1.RecordBatch{good, unknown})
	e := wantError(t, "Upload with an unknown column in batch 1", err, codes.InvalidArgument, sightline.ReasonInvalidArgument)
	hasViolation(t, "unknown column", e, "batches[1].columns[0].name")
	if rows := readAll(t, ctx, c, &sightlinev1.ReadRecordsRequest{Target: target}); len(rows) != 2 || rows[0].RecordID != "g1" || rows[1].RecordID != "g2" {
		t.Fatalf("after the refused batch, the split holds %+v; want the two rows of batch 0", rows)
	}

	mixed, err := sightline.NewBatch("m1", "m2").Columns(sightline.Strings("segment", []string{"a", "zzz"}, nil)).Build()
	if err != nil {
		t.Fatal(err)
	}
	summary, err := c.Upload(ctx, target, []*sightlinev1.RecordBatch{mixed})
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	if summary.GetRowsAccepted() != 1 || summary.GetRowsRejected() != 1 || len(summary.GetRowErrors()) != 1 {
		t.Fatalf("summary: %v", summary)
	}
	if re := summary.GetRowErrors()[0]; re.GetRecordId() != "m2" || re.GetReason() != sightlinev1.RowErrorReason_ROW_ERROR_REASON_UNKNOWN_CATEGORY || re.GetField() != "segment" {
		t.Fatalf("row error: %v", re)
	}
}

// Put writes a late label by record ID alone, leaving the features in place; a refused batch is INVALID_ARGUMENT.
func TestPut(t *testing.T) {
	admin, s := adminClient(t)
	ctx := ctxFor(t, time.Minute)
	project, c := projectWithKey(t, ctx, admin, s.Server.Addr)
	coll := allTypes(t, ctx, c, project)
	target := sightline.SplitTarget(project, coll, "train")

	features, err := sightline.NewBatch("a", "b").Columns(sightline.Doubles("x.double", []float64{1.5, 2.5}, nil)).Build()
	if err != nil {
		t.Fatal(err)
	}
	if summary, err := c.Put(ctx, target, features); err != nil || summary.GetRowsAccepted() != 2 {
		t.Fatalf("Put features: %v, %v", summary, err)
	}
	labels, err := sightline.NewBatch("b").Columns(sightline.Bools("flag", []bool{true}, nil)).Build()
	if err != nil {
		t.Fatal(err)
	}
	summary, err := c.Put(ctx, target, labels)
	if err != nil || summary.GetRowsAccepted() != 1 {
		t.Fatalf("Put label: %v, %v", summary, err)
	}
	rows := readAll(t, ctx, c, &sightlinev1.ReadRecordsRequest{Target: target, RecordIds: []string{"b"}})
	if len(rows) != 1 || rows[0].Columns["x.double"] != 2.5 || rows[0].Columns["flag"] != true {
		t.Fatalf("record b: %+v", rows)
	}

	wrongType, err := sightline.NewBatch("c").Columns(sightline.Int64s("nope", []int64{1}, nil)).Build()
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Put(ctx, target, wrongType)
	e := wantError(t, "Put with an unknown column", err, codes.InvalidArgument, sightline.ReasonInvalidArgument)
	hasViolation(t, "Put", e, "batch.columns[0].name")
}

// ReadRecords fails with NOT_FOUND and INVALID_ARGUMENT as yielded errors, and honours its context.
func TestReadRecordsErrors(t *testing.T) {
	admin, s := adminClient(t)
	ctx := ctxFor(t, time.Minute)
	project, c := projectWithKey(t, ctx, admin, s.Server.Addr)
	coll := allTypes(t, ctx, c, project)

	firstErr := func(ctx context.Context, req *sightlinev1.ReadRecordsRequest) error {
		for _, err := range c.ReadRecords(ctx, req) {
			if err != nil {
				return err
			}
		}
		return nil
	}
	err := firstErr(ctx, &sightlinev1.ReadRecordsRequest{Target: sightline.SplitTarget(project, coll, "missing")})
	wantError(t, "ReadRecords of a missing split", err, codes.NotFound, sightline.ReasonNotFound)
	err = firstErr(ctx, &sightlinev1.ReadRecordsRequest{Target: sightline.SplitTarget(project, coll, "train"), BatchSize: 20000})
	e := wantError(t, "ReadRecords with batch_size 20000", err, codes.InvalidArgument, sightline.ReasonInvalidArgument)
	hasViolation(t, "batch size", e, "batch_size")

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	err = firstErr(cancelled, &sightlinev1.ReadRecordsRequest{Target: sightline.SplitTarget(project, coll, "train")})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled read returned %v, want context.Canceled", err)
	}
	wantError(t, "cancelled read", err, codes.Canceled, "")
}

// production is a collection with features, a label, and a model with a prediction and influences.
func production(t *testing.T, ctx context.Context, c *sightline.Client, project string) *sightlinev1.Target {
	t.Helper()
	schema := &sightlinev1.Schema{RecordIdColumn: "id", TimestampColumn: "ts", Fields: []*sightlinev1.Field{
		field("age", feature, sightlinev1.FieldType_FIELD_TYPE_INT64, false),
		field("income", feature, sightlinev1.FieldType_FIELD_TYPE_DOUBLE, true),
		field("defaulted", label, sightlinev1.FieldType_FIELD_TYPE_BOOL, true),
	}}
	if _, err := c.Catalog.CreateDataCollection(ctx, &sightlinev1.CreateDataCollectionRequest{Collection: &sightlinev1.DataCollection{Project: project, Name: "live", Schema: schema}}); err != nil {
		t.Fatalf("CreateDataCollection: %v", err)
	}
	model := &sightlinev1.Model{Project: project, Collection: "live", Name: "risk", ScoreType: sightlinev1.ScoreType_SCORE_TYPE_PROBITS, Mode: sightlinev1.ModelMode_MODEL_MODE_DATA_ONLY,
		PredictionFields: []*sightlinev1.PredictionField{{Name: "p", Type: sightlinev1.FieldType_FIELD_TYPE_DOUBLE}}, LabelField: "defaulted"}
	if _, err := c.Catalog.CreateModel(ctx, &sightlinev1.CreateModelRequest{Model: model}); err != nil {
		t.Fatalf("CreateModel: %v", err)
	}
	return sightline.ProductionTarget(project, "live", "risk")
}

func liveBatch(t *testing.T, i int, at time.Time) *sightlinev1.RecordBatch {
	t.Helper()
	b, err := sightline.NewBatch(fmt.Sprintf("rec-%04d", i)).
		EventTimes(at).
		Columns(sightline.Int64s("age", []int64{int64(20 + i%50)}, nil), sightline.Doubles("income", []float64{float64(i)}, []bool{i%7 == 0})).
		Predictions(sightline.Doubles("p", []float64{float64(i%100) / 100}, nil)).
		Influences(sightline.Doubles("age", []float64{0.25}, nil), sightline.Doubles("income", []float64{-0.5}, nil)).
		Build()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The StreamWriter over a healthy stream: every ack comes back with its sequence, rows land with predictions,
// influences and event times; a batch refused whole fails its own Ack and the stream goes on.
func TestStreamWriter(t *testing.T) {
	admin, s := adminClient(t)
	ctx := ctxFor(t, time.Minute)
	project, c := projectWithKey(t, ctx, admin, s.Server.Addr)
	target := production(t, ctx, c, project)
	at := time.UnixMilli(1764130000000).UTC()

	w := c.NewStreamWriter(target, sightline.StreamWriterOptions{MaxInFlight: 8})
	const n = 60
	var acks []*sightline.Ack
	for i := range n {
		if i == 30 {
			refused, err := sightline.NewBatch("bad").EventTimes(at).Columns(sightline.Int64s("no_such_field", []int64{1}, nil)).Build()
			if err != nil {
				t.Fatal(err)
			}
			ack, err := w.Write(ctx, refused)
			if err != nil {
				t.Fatalf("Write: %v", err)
			}
			acks = append(acks, ack)
		}
		ack, err := w.Write(ctx, liveBatch(t, i, at.Add(time.Duration(i)*time.Second)))
		if err != nil {
			t.Fatalf("Write %d: %v", i, err)
		}
		acks = append(acks, ack)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	for i, ack := range acks {
		select {
		case <-ack.Done():
		default:
			t.Fatalf("ack %d not done after Flush", i)
		}
		resp, err := ack.Wait(ctx)
		if resp.GetSequence() != ack.Sequence() || ack.Sequence() != uint64(i+1) {
			t.Fatalf("ack %d: sequence %d, response %d", i, ack.Sequence(), resp.GetSequence())
		}
		if i == 30 {
			e := wantError(t, "a refused streamed batch", err, codes.InvalidArgument, sightline.ReasonInvalidArgument)
			hasViolation(t, "refused batch", e, "batch.columns[0].name")
			continue
		}
		if err != nil || resp.GetSummary().GetRowsAccepted() != 1 {
			t.Fatalf("ack %d: %v, %v", i, resp, err)
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := w.Write(ctx, liveBatch(t, 0, at)); !errors.Is(err, sightline.ErrClosed) {
		t.Fatalf("Write after Close: %v, want ErrClosed", err)
	}
	stats := w.Stats()
	if stats != (sightline.StreamWriterStats{Written: n + 1, Acked: n + 1, Refused: 1, RowsAccepted: n}) {
		t.Fatalf("stats: %+v", stats)
	}

	rows := readAll(t, ctx, c, &sightlinev1.ReadRecordsRequest{Target: target})
	if len(rows) != n {
		t.Fatalf("read %d rows, want %d", len(rows), n)
	}
	for i, row := range rows {
		var income any = float64(i)
		if i%7 == 0 {
			income = nil
		}
		want := sightline.Row{
			RecordID:    fmt.Sprintf("rec-%04d", i),
			EventTime:   at.Add(time.Duration(i) * time.Second),
			Columns:     map[string]any{"age": int64(20 + i%50), "income": income, "defaulted": nil},
			Predictions: map[string]any{"p": float64(i%100) / 100},
			Influences:  map[string]any{"age": 0.25, "income": -0.5},
		}
		if !reflect.DeepEqual(row, want) {
			t.Fatalf("row %d:\n got %+v\nwant %+v", i, row, want)
		}
	}
}

// A writer whose stream cannot succeed (an unknown collection) fails every pending batch, every later Write and
// Close with the server's error, instead of retrying forever.
func TestStreamWriterFatalError(t *testing.T) {
	admin, s := adminClient(t)
	ctx := ctxFor(t, time.Minute)
	project, c := projectWithKey(t, ctx, admin, s.Server.Addr)
	production(t, ctx, c, project)

	var reconnects atomic.Int32
	w := c.NewStreamWriter(sightline.ProductionTarget(project, "ghost", "risk"), sightline.StreamWriterOptions{MaxInFlight: 1, OnReconnect: func(int) { reconnects.Add(1) }})
	first, err := w.Write(ctx, liveBatch(t, 0, time.Now()))
	if err != nil {
		t.Fatalf("first Write: %v", err)
	}
	_, err = first.Wait(ctx)
	wantError(t, "ack on a missing collection", err, codes.NotFound, sightline.ReasonNotFound)
	_, err = w.Write(ctx, liveBatch(t, 1, time.Now()))
	wantError(t, "Write after the failure", err, codes.NotFound, sightline.ReasonNotFound)
	wantError(t, "Flush after the failure", w.Flush(ctx), codes.NotFound, sightline.ReasonNotFound)
	wantError(t, "Close after the failure", w.Close(ctx), codes.NotFound, sightline.ReasonNotFound)
	if n := reconnects.Load(); n != 0 {
		t.Fatalf("reconnected %d times on a non-retryable error", n)
	}

	// A cancelled context stops a Write before it queues anything.
	w2 := c.NewStreamWriter(sightline.ProductionTarget(project, "live", "risk"), sightline.StreamWriterOptions{})
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := w2.Write(cancelled, liveBatch(t, 2, time.Now())); !errors.Is(err, context.Canceled) {
		t.Fatalf("Write with a cancelled context: %v", err)
	}
	if err := w2.Close(ctx); err != nil || w2.Stats().Written != 0 {
		t.Fatalf("Close of an unused writer: %v, %+v", err, w2.Stats())
	}
}

// A Close whose context has ended does not wait: it returns the context's error, abandons the batches without an
// ack (their Acks fail with ErrClosed; acked ones keep their ack), and the writer takes no more writes.
func TestStreamWriterCloseHonoursContext(t *testing.T) {
	admin, s := adminClient(t)
	ctx := ctxFor(t, time.Minute)
	project, c := projectWithKey(t, ctx, admin, s.Server.Addr)
	target := production(t, ctx, c, project)

	const n = 200
	w := c.NewStreamWriter(target, sightline.StreamWriterOptions{MaxInFlight: n})
	var acks []*sightline.Ack
	for i := range n {
		ack, err := w.Write(ctx, liveBatch(t, i, time.Now()))
		if err != nil {
			t.Fatalf("Write %d: %v", i, err)
		}
		acks = append(acks, ack)
	}
	expired, cancel := context.WithCancel(ctx)
	cancel()
	if err := w.Close(expired); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close with an ended context: %v, want context.Canceled", err)
	}
	abandoned := 0
	for i, ack := range acks {
		select {
		case <-ack.Done():
		default:
			t.Fatalf("ack %d still pending after Close returned", i)
		}
		resp, err := ack.Wait(ctx)
		switch {
		case errors.Is(err, sightline.ErrClosed):
			abandoned++
		case err != nil || resp.GetSummary().GetRowsAccepted() != 1:
			t.Fatalf("ack %d: %v, %v", i, resp, err)
		}
	}
	if abandoned == 0 {
		t.Fatal("no batch was abandoned, so the Close waited for every ack")
	}
	if _, err := w.Write(ctx, liveBatch(t, 0, time.Now())); !errors.Is(err, sightline.ErrClosed) {
		t.Fatalf("Write after an abandoning Close: %v, want ErrClosed", err)
	}
}

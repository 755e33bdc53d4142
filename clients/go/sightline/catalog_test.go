package sightline_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	sightlinev1 "sightline/clients/go/gen/sightline/v1"
	"sightline/clients/go/sightline"
)

func creditSchema() *sightlinev1.Schema {
	return &sightlinev1.Schema{
		RecordIdColumn:  "id",
		TimestampColumn: "ts",
		Fields: []*sightlinev1.Field{
			{Name: "age", Kind: sightlinev1.FieldKind_FIELD_KIND_FEATURE, Type: sightlinev1.FieldType_FIELD_TYPE_INT64},
			{Name: "income.monthly", Kind: sightlinev1.FieldKind_FIELD_KIND_FEATURE, Type: sightlinev1.FieldType_FIELD_TYPE_DOUBLE, Nullable: true},
			{Name: "defaulted", Kind: sightlinev1.FieldKind_FIELD_KIND_LABEL, Type: sightlinev1.FieldType_FIELD_TYPE_BOOL, Nullable: true},
		},
	}
}

// Every CatalogService RPC on its success path and on an error path, with a project key.
func TestCatalogService(t *testing.T) {
	admin, s := adminClient(t)
	ctx := ctxFor(t, 2*time.Minute)
	project, c := projectWithKey(t, ctx, admin, s.Server.Addr)
	const coll = "credit"

	// Collections.
	created, err := c.Catalog.CreateDataCollection(ctx, &sightlinev1.CreateDataCollectionRequest{Collection: &sightlinev1.DataCollection{Project: project, Name: coll, Schema: creditSchema()}})
	if err != nil {
		t.Fatalf("CreateDataCollection: %v", err)
	}
	if created.GetCollection().GetSchemaVersion() != 1 || len(created.GetCollection().GetSchema().GetFields()) != 3 {
		t.Fatalf("CreateDataCollection returned %v", created.GetCollection())
	}
	_, err = c.Catalog.CreateDataCollection(ctx, &sightlinev1.CreateDataCollectionRequest{Collection: &sightlinev1.DataCollection{Project: project, Name: coll, Schema: creditSchema()}})
	wantError(t, "CreateDataCollection twice", err, codes.AlreadyExists, sightline.ReasonAlreadyExists)
	bad := creditSchema()
	bad.Fields = append(bad.Fields, &sightlinev1.Field{Name: "segment", Kind: sightlinev1.FieldKind_FIELD_KIND_FEATURE, Type: sightlinev1.FieldType_FIELD_TYPE_CATEGORICAL})
	_, err = c.Catalog.CreateDataCollection(ctx, &sightlinev1.CreateDataCollectionRequest{Collection: &sightlinev1.DataCollection{Project: project, Name: "other", Schema: bad}})
	e := wantError(t, "CreateDataCollection with a categorical field without categories", err, codes.InvalidArgument, sightline.ReasonInvalidArgument)
	hasViolation(t, "categories", e, "collection.schema.fields[3]")

	got, err := c.Catalog.GetDataCollection(ctx, &sightlinev1.GetDataCollectionRequest{Project: project, Name: coll})
	if err != nil || !proto.Equal(got.GetCollection().GetSchema(), creditSchema()) {
		t.Fatalf("GetDataCollection: %v, %v", got, err)
	}
	_, err = c.Catalog.GetDataCollection(ctx, &sightlinev1.GetDataCollectionRequest{Project: project, Name: "missing"})
	wantError(t, "GetDataCollection of a missing collection", err, codes.NotFound, sightline.ReasonNotFound)

	list, err := c.Catalog.ListDataCollections(ctx, &sightlinev1.ListDataCollectionsRequest{Project: project})
	if err != nil || len(list.GetCollections()) != 1 || list.GetCollections()[0].GetName() != coll {
		t.Fatalf("ListDataCollections: %v, %v", list, err)
	}
	_, err = c.Catalog.ListDataCollections(ctx, &sightlinev1.ListDataCollectionsRequest{Project: project, PageToken: "not-a-token"})
	e = wantError(t, "ListDataCollections with a foreign page token", err, codes.InvalidArgument, sightline.ReasonInvalidArgument)
	hasViolation(t, "page token", e, "page_token")

	// Schema changes: additive is fine; anything else, or a stale version, is refused.
	next := creditSchema()
	next.Fields = append(next.Fields, &sightlinev1.Field{Name: "region", Kind: sightlinev1.FieldKind_FIELD_KIND_EXTRA, Type: sightlinev1.FieldType_FIELD_TYPE_STRING, Nullable: true})
	one := int64(1)
	updated, err := c.Catalog.UpdateSchema(ctx, &sightlinev1.UpdateSchemaRequest{Project: project, Collection: coll, Schema: next, ExpectedSchemaVersion: &one})
	if err != nil || updated.GetCollection().GetSchemaVersion() != 2 {
		t.Fatalf("UpdateSchema: %v, %v", updated, err)
	}
	notAdditive := creditSchema()
	notAdditive.Fields[0].Nullable = true
	_, err = c.Catalog.UpdateSchema(ctx, &sightlinev1.UpdateSchemaRequest{Project: project, Collection: coll, Schema: notAdditive})
	e = wantError(t, "UpdateSchema altering a field", err, codes.FailedPrecondition, sightline.ReasonSchemaChangeNotAdditive)
	if len(e.PreconditionViolations) == 0 {
		t.Fatalf("FAILED_PRECONDITION without precondition violations: %v", e)
	}
	next.Fields = append(next.Fields, &sightlinev1.Field{Name: "channel", Kind: sightlinev1.FieldKind_FIELD_KIND_EXTRA, Type: sightlinev1.FieldType_FIELD_TYPE_STRING, Nullable: true})
	_, err = c.Catalog.UpdateSchema(ctx, &sightlinev1.UpdateSchemaRequest{Project: project, Collection: coll, Schema: next, ExpectedSchemaVersion: &one})
	wantError(t, "UpdateSchema with a stale version", err, codes.Aborted, sightline.ReasonConcurrentModification)

	// Splits.
	split, err := c.Catalog.CreateSplit(ctx, &sightlinev1.CreateSplitRequest{Split: &sightlinev1.Split{Project: project, Collection: coll, Name: "train", Type: sightlinev1.SplitType_SPLIT_TYPE_TRAIN}})
	if err != nil || split.GetSplit().GetName() != "train" || split.GetSplit().GetBaseline() {
		t.Fatalf("CreateSplit: %v, %v", split, err)
	}
	_, err = c.Catalog.CreateSplit(ctx, &sightlinev1.CreateSplitRequest{Split: &sightlinev1.Split{Project: project, Collection: coll, Name: "train", Type: sightlinev1.SplitType_SPLIT_TYPE_TRAIN}})
	wantError(t, "CreateSplit twice", err, codes.AlreadyExists, sightline.ReasonAlreadyExists)
	if _, err := c.Catalog.CreateSplit(ctx, &sightlinev1.CreateSplitRequest{Split: &sightlinev1.Split{Project: project, Collection: coll, Name: "test", Type: sightlinev1.SplitType_SPLIT_TYPE_TEST}}); err != nil {
		t.Fatalf("CreateSplit test: %v", err)
	}
	gotSplit, err := c.Catalog.GetSplit(ctx, &sightlinev1.GetSplitRequest{Project: project, Collection: coll, Name: "train"})
	if err != nil || gotSplit.GetSplit().GetType() != sightlinev1.SplitType_SPLIT_TYPE_TRAIN {
		t.Fatalf("GetSplit: %v, %v", gotSplit, err)
	}
	_, err = c.Catalog.GetSplit(ctx, &sightlinev1.GetSplitRequest{Project: project, Collection: coll, Name: "nope"})
	wantError(t, "GetSplit of a missing split", err, codes.NotFound, sightline.ReasonNotFound)
	splits, err := c.Catalog.ListSplits(ctx, &sightlinev1.ListSplitsRequest{Project: project, Collection: coll})
	if err != nil || len(splits.GetSplits()) != 2 || splits.GetSplits()[0].GetName() != "test" || splits.GetSplits()[1].GetName() != "train" {
		t.Fatalf("ListSplits: %v, %v", splits, err)
	}
	_, err = c.Catalog.ListSplits(ctx, &sightlinev1.ListSplitsRequest{Project: project, Collection: coll, PageSize: -1})
	wantError(t, "ListSplits with a negative page size", err, codes.InvalidArgument, sightline.ReasonInvalidArgument)
	baseline, err := c.Catalog.SetBaselineSplit(ctx, &sightlinev1.SetBaselineSplitRequest{Project: project, Collection: coll, Name: "train"})
	if err != nil || !baseline.GetSplit().GetBaseline() {
		t.Fatalf("SetBaselineSplit: %v, %v", baseline, err)
	}
	_, err = c.Catalog.SetBaselineSplit(ctx, &sightlinev1.SetBaselineSplitRequest{Project: project, Collection: coll, Name: "nope"})
	wantError(t, "SetBaselineSplit of a missing split", err, codes.NotFound, sightline.ReasonNotFound)
	sealed, err := c.Catalog.SealSplit(ctx, &sightlinev1.SealSplitRequest{Project: project, Collection: coll, Name: "test"})
	if err != nil || !sealed.GetSplit().GetSealed() || sealed.GetSplit().GetSealTime() == nil {
		t.Fatalf("SealSplit: %v, %v", sealed, err)
	}
	_, err = c.Catalog.SealSplit(ctx, &sightlinev1.SealSplitRequest{Project: project, Collection: coll, Name: "nope"})
	wantError(t, "SealSplit of a missing split", err, codes.NotFound, sightline.ReasonNotFound)
	// A sealed split refuses writes.
	one30, err := sightline.NewBatch("r1").Columns(sightline.Int64s("age", []int64{30}, nil)).Build()
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Upload(ctx, sightline.SplitTarget(project, coll, "test"), []*sightlinev1.RecordBatch{one30})
	wantError(t, "Upload to a sealed split", err, codes.FailedPrecondition, sightline.ReasonSplitSealed)
	if _, err := c.Catalog.DeleteSplit(ctx, &sightlinev1.DeleteSplitRequest{Project: project, Collection: coll, Name: "test"}); err != nil {
		t.Fatalf("DeleteSplit: %v", err)
	}
	_, err = c.Catalog.DeleteSplit(ctx, &sightlinev1.DeleteSplitRequest{Project: project, Collection: coll, Name: "test"})
	wantError(t, "DeleteSplit twice", err, codes.NotFound, sightline.ReasonNotFound)

	// Models.
	model := &sightlinev1.Model{
		Project: project, Collection: coll, Name: "risk",
		ScoreType:        sightlinev1.ScoreType_SCORE_TYPE_PROBITS,
		Mode:             sightlinev1.ModelMode_MODEL_MODE_DATA_ONLY,
		PredictionFields: []*sightlinev1.PredictionField{{Name: "p_default", Type: sightlinev1.FieldType_FIELD_TYPE_DOUBLE}},
		LabelField:       "defaulted",
		ClassLabels:      []string{"repaid", "defaulted"},
	}
	createdModel, err := c.Catalog.CreateModel(ctx, &sightlinev1.CreateModelRequest{Model: model})
	if err != nil || createdModel.GetModel().GetName() != "risk" {
		t.Fatalf("CreateModel: %v, %v", createdModel, err)
	}
	badModel := proto.Clone(model).(*sightlinev1.Model)
	badModel.Name = "bad"
	badModel.LabelField = "age"
	_, err = c.Catalog.CreateModel(ctx, &sightlinev1.CreateModelRequest{Model: badModel})
	e = wantError(t, "CreateModel judged against a feature", err, codes.InvalidArgument, sightline.ReasonInvalidArgument)
	hasViolation(t, "label field", e, "model.label_field")
	gotModel, err := c.Catalog.GetModel(ctx, &sightlinev1.GetModelRequest{Project: project, Collection: coll, Name: "risk"})
	if err != nil || gotModel.GetModel().GetLabelField() != "defaulted" {
		t.Fatalf("GetModel: %v, %v", gotModel, err)
	}
	_, err = c.Catalog.GetModel(ctx, &sightlinev1.GetModelRequest{Project: project, Collection: coll, Name: "nope"})
	wantError(t, "GetModel of a missing model", err, codes.NotFound, sightline.ReasonNotFound)
	models, err := c.Catalog.ListModels(ctx, &sightlinev1.ListModelsRequest{Project: project, Collection: coll})
	if err != nil || len(models.GetModels()) != 1 {
		t.Fatalf("ListModels: %v, %v", models, err)
	}
	_, err = c.Catalog.ListModels(ctx, &sightlinev1.ListModelsRequest{Project: project, Collection: coll, PageSize: 1001})
	wantError(t, "ListModels with page size 1001", err, codes.InvalidArgument, sightline.ReasonInvalidArgument)
	if _, err := c.Catalog.DeleteModel(ctx, &sightlinev1.DeleteModelRequest{Project: project, Collection: coll, Name: "risk"}); err != nil {
		t.Fatalf("DeleteModel: %v", err)
	}
	_, err = c.Catalog.DeleteModel(ctx, &sightlinev1.DeleteModelRequest{Project: project, Collection: coll, Name: "risk"})
	wantError(t, "DeleteModel twice", err, codes.NotFound, sightline.ReasonNotFound)

	// Statistics: the worker counts after writes; poll until its count started after ours.
	statsBatch, err := sightline.NewBatch("s1", "s2", "s3").Columns(sightline.Int64s("age", []int64{30, 40, 50}, nil)).Build()
	if err != nil {
		t.Fatal(err)
	}
	// The count the Put asks for starts after the write is durable, so its compute_time is after this.
	beforePut := time.Now()
	if _, err := c.Put(ctx, sightline.SplitTarget(project, coll, "train"), statsBatch); err != nil {
		t.Fatalf("Put: %v", err)
	}
	stats := waitForStats(t, ctx, c, project, coll, beforePut)
	if stats.GetSplitCount() != 1 || stats.GetFieldCount() != 4 || len(stats.GetSplits()) != 1 || stats.GetSplits()[0].GetRecords() != 3 {
		t.Fatalf("GetCollectionStats: %v", stats)
	}
	_, err = c.Catalog.GetCollectionStats(ctx, &sightlinev1.GetCollectionStatsRequest{Project: project, Collection: "missing"})
	wantError(t, "GetCollectionStats of a missing collection", err, codes.NotFound, sightline.ReasonNotFound)

	if _, err := c.Catalog.DeleteDataCollection(ctx, &sightlinev1.DeleteDataCollectionRequest{Project: project, Name: coll}); err != nil {
		t.Fatalf("DeleteDataCollection: %v", err)
	}
	_, err = c.Catalog.DeleteDataCollection(ctx, &sightlinev1.DeleteDataCollectionRequest{Project: project, Name: coll})
	wantError(t, "DeleteDataCollection twice", err, codes.NotFound, sightline.ReasonNotFound)
}

// waitForStats polls GetCollectionStats until the worker has counted from after `after`.
func waitForStats(t *testing.T, ctx context.Context, c *sightline.Client, project, coll string, after time.Time) *sightlinev1.CollectionStats {
	t.Helper()
	for {
		resp, err := c.Catalog.GetCollectionStats(ctx, &sightlinev1.GetCollectionStatsRequest{Project: project, Collection: coll})
		if err != nil {
			t.Fatalf("GetCollectionStats: %v", err)
		}
		if st := resp.GetStats(); st != nil && !st.GetComputeTime().AsTime().Before(after) {
			return st
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no statistics computed after %s: last %v", after, resp.GetStats())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Command quickstart goes from an admin key to a first upload: it creates a project, a project key, a collection
// and a split, uploads three records (one with a missing value) and reads them back. Running it again reuses what
// the first run created.
//
//	SIGHTLINE_ADMIN_KEY=$(cat .dev/admin-key) go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	sightlinev1 "sightline/clients/go/gen/sightline/v1"
	"sightline/clients/go/sightline"
)

func main() {
	addr := os.Getenv("SIGHTLINE_ADDR")
	if addr == "" {
		addr = "127.0.0.1:50051"
	}
	adminKey := os.Getenv("SIGHTLINE_ADMIN_KEY")
	if adminKey == "" {
		log.Fatal("set SIGHTLINE_ADMIN_KEY (npm start writes it to .dev/admin-key)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, addr, adminKey, "quickstart", os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// ignoreExists lets a second run pass through the creates of the first.
func ignoreExists(err error) error {
	if sightline.ReasonOf(err) == sightline.ReasonAlreadyExists {
		return nil
	}
	return err
}

func run(ctx context.Context, addr, adminKey, project string, out io.Writer) error {
	// 1. As the admin: a project and a key for it.
	admin, err := sightline.Dial(ctx, addr, sightline.WithAPIKey(adminKey))
	if err != nil {
		return err
	}
	defer admin.Close()
	_, err = admin.Admin.CreateProject(ctx, &sightlinev1.CreateProjectRequest{Project: &sightlinev1.Project{Name: project}})
	if err := ignoreExists(err); err != nil {
		return err
	}
	key, err := admin.Admin.CreateApiKey(ctx, &sightlinev1.CreateApiKeyRequest{Project: project, DisplayName: "quickstart"})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "project key: %s\n", key.GetSecret())

	// 2. As the project: a collection with its schema, and a training split.
	client, err := sightline.Dial(ctx, addr, sightline.WithAPIKey(key.GetSecret()))
	if err != nil {
		return err
	}
	defer client.Close()
	_, err = client.Catalog.CreateDataCollection(ctx, &sightlinev1.CreateDataCollectionRequest{Collection: &sightlinev1.DataCollection{
		Project: project, Name: "credit",
		Schema: &sightlinev1.Schema{RecordIdColumn: "id", TimestampColumn: "ts", Fields: []*sightlinev1.Field{
			{Name: "age", Kind: sightlinev1.FieldKind_FIELD_KIND_FEATURE, Type: sightlinev1.FieldType_FIELD_TYPE_INT64},
			{Name: "income.monthly", Kind: sightlinev1.FieldKind_FIELD_KIND_FEATURE, Type: sightlinev1.FieldType_FIELD_TYPE_DOUBLE, Nullable: true},
			{Name: "defaulted", Kind: sightlinev1.FieldKind_FIELD_KIND_LABEL, Type: sightlinev1.FieldType_FIELD_TYPE_BOOL, Nullable: true},
		}},
	}})
	if err := ignoreExists(err); err != nil {
		return err
	}
	_, err = client.Catalog.CreateSplit(ctx, &sightlinev1.CreateSplitRequest{Split: &sightlinev1.Split{
		Project: project, Collection: "credit", Name: "train", Type: sightlinev1.SplitType_SPLIT_TYPE_TRAIN, Baseline: true,
	}})
	if err := ignoreExists(err); err != nil {
		return err
	}

	// 3. The first upload: three records, the second with no income.
	batch, err := sightline.NewBatch("a1", "a2", "a3").
		Columns(
			sightline.Int64s("age", []int64{41, 29, 57}, nil),
			sightline.Doubles("income.monthly", []float64{5200, 0, 3100}, []bool{false, true, false}),
			sightline.Bools("defaulted", []bool{false, true, false}, nil),
		).
		Build()
	if err != nil {
		return err
	}
	train := sightline.SplitTarget(project, "credit", "train")
	summary, err := client.Upload(ctx, train, []*sightlinev1.RecordBatch{batch})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "uploaded: %d accepted, %d rejected\n", summary.GetRowsAccepted(), summary.GetRowsRejected())

	// 4. Read it back.
	for batch, err := range client.ReadRecords(ctx, &sightlinev1.ReadRecordsRequest{Target: train}) {
		if err != nil {
			return err
		}
		for _, row := range sightline.Rows(batch) {
			fmt.Fprintf(out, "%s age=%v income.monthly=%v defaulted=%v\n", row.RecordID, row.Columns["age"], row.Columns["income.monthly"], row.Columns["defaulted"])
		}
	}
	return nil
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	sightlinev1 "sightline/clients/go/gen/sightline/v1"
	"sightline/clients/go/internal/livetest"
	"sightline/clients/go/sightline"
)

func TestMain(m *testing.M) {
	code := m.Run()
	livetest.StopShared()
	os.Exit(code)
}

func invoke(t *testing.T, command string, request any) (stdout, stderr string, code int) {
	t.Helper()
	body, err := json.Marshal(request)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code = run([]string{command}, bytes.NewReader(body), &out, &errOut)
	return out.String(), errOut.String(), code
}

// setUp makes a project with a key and a collection with one nullable field of every type, and a split.
func setUp(t *testing.T) (addr, key, project string) {
	t.Helper()
	shared := livetest.SharedServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := sightline.Dial(ctx, shared.Server.Addr, sightline.WithAPIKey(shared.Iso.AdminKey))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	project = "crosslang" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", ""))[len("Test"):]
	if _, err := admin.Admin.CreateProject(ctx, &sightlinev1.CreateProjectRequest{Project: &sightlinev1.Project{Name: project}}); err != nil {
		t.Fatal(err)
	}
	created, err := admin.Admin.CreateApiKey(ctx, &sightlinev1.CreateApiKeyRequest{Project: project})
	if err != nil {
		t.Fatal(err)
	}
	f := func(name string, typ sightlinev1.FieldType, categories ...string) *sightlinev1.Field {
		return &sightlinev1.Field{Name: name, Kind: sightlinev1.FieldKind_FIELD_KIND_FEATURE, Type: typ, Nullable: true, Categories: categories}
	}
	schema := &sightlinev1.Schema{RecordIdColumn: "id", Fields: []*sightlinev1.Field{
		f("d", sightlinev1.FieldType_FIELD_TYPE_DOUBLE),
		f("i", sightlinev1.FieldType_FIELD_TYPE_INT64),
		f("s", sightlinev1.FieldType_FIELD_TYPE_STRING),
		f("cat", sightlinev1.FieldType_FIELD_TYPE_CATEGORICAL, "x", "y"),
		f("b", sightlinev1.FieldType_FIELD_TYPE_BOOL),
		f("ts", sightlinev1.FieldType_FIELD_TYPE_TIMESTAMP),
	}}
	if _, err := admin.Catalog.CreateDataCollection(ctx, &sightlinev1.CreateDataCollectionRequest{Collection: &sightlinev1.DataCollection{Project: project, Name: "xl", Schema: schema}}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Catalog.CreateSplit(ctx, &sightlinev1.CreateSplitRequest{Split: &sightlinev1.Split{Project: project, Collection: "xl", Name: "train", Type: sightlinev1.SplitType_SPLIT_TYPE_TRAIN}}); err != nil {
		t.Fatal(err)
	}
	return shared.Server.Addr, created.GetSecret(), project
}

// write then read through the command: values of every type, nulls and int64s beyond 2^53 come back exactly,
// rows sorted by record ID, in the protocol's JSON encoding.
func TestWriteReadRoundTrip(t *testing.T) {
	addr, key, project := setUp(t)
	target := map[string]any{"project": project, "collection": "xl", "split": "train"}
	columns := []map[string]any{
		{"name": "d", "type": "double", "values": []any{1.5, nil, -2e-300, 0.1}},
		{"name": "i", "type": "int64", "values": []any{"9007199254740993", "-9223372036854775808", nil, "0"}},
		{"name": "s", "type": "string", "values": []any{"ünï", "", nil, "z"}},
		{"name": "cat", "type": "string", "values": []any{"x", nil, "y", "x"}},
		{"name": "b", "type": "bool", "values": []any{true, false, nil, true}},
		{"name": "ts", "type": "int64", "values": []any{"1764130000123", nil, "0", "-1000"}},
	}
	stdout, stderr, code := invoke(t, "write", map[string]any{
		"url": addr, "apiKey": key, "target": target, "batchRows": 3,
		"recordIds": []string{"c", "a", "d", "b"}, "columns": columns,
	})
	if code != 0 {
		t.Fatalf("write exited %d: %s", code, stderr)
	}
	var wrote writeResult
	if err := json.Unmarshal([]byte(stdout), &wrote); err != nil || wrote != (writeResult{RowsAccepted: 4}) {
		t.Fatalf("write printed %q (%v)", stdout, err)
	}

	stdout, stderr, code = invoke(t, "read", map[string]any{"url": addr, "apiKey": key, "target": target})
	if code != 0 {
		t.Fatalf("read exited %d: %s", code, stderr)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("read printed %q: %v", stdout, err)
	}
	// Written as c, a, d, b; read back as a, b, c, d.
	want := map[string]any{
		"recordIds": []any{"a", "b", "c", "d"},
		"columns": []any{
			map[string]any{"name": "d", "type": "double", "values": []any{nil, 0.1, 1.5, -2e-300}},
			map[string]any{"name": "i", "type": "int64", "values": []any{"-9223372036854775808", "0", "9007199254740993", nil}},
			map[string]any{"name": "s", "type": "string", "values": []any{"", "z", "ünï", nil}},
			map[string]any{"name": "cat", "type": "string", "values": []any{nil, "x", "x", "y"}},
			map[string]any{"name": "b", "type": "bool", "values": []any{false, true, true, nil}},
			map[string]any{"name": "ts", "type": "int64", "values": []any{nil, "-1000", "1764130000123", "0"}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read:\n got %v\nwant %v", got, want)
	}

	// Only some fields.
	stdout, stderr, code = invoke(t, "read", map[string]any{"url": addr, "apiKey": key, "target": target, "fields": []string{"i"}})
	if code != 0 {
		t.Fatalf("read with fields exited %d: %s", code, stderr)
	}
	var partial readResult
	if err := json.Unmarshal([]byte(stdout), &partial); err != nil || len(partial.Columns) != 1 || partial.Columns[0].Name != "i" || len(partial.RecordIDs) != 4 {
		t.Fatalf("read with fields printed %q (%v)", stdout, err)
	}
}

// A rejected row is counted, not an error; a refused call exits 1 with the typed error on stderr.
func TestWriteRejectionsAndErrors(t *testing.T) {
	addr, key, project := setUp(t)
	target := map[string]any{"project": project, "collection": "xl", "split": "train"}
	stdout, stderr, code := invoke(t, "write", map[string]any{
		"url": addr, "apiKey": key, "target": target, "recordIds": []string{"ok", "bad"},
		"columns": []map[string]any{{"name": "cat", "type": "string", "values": []any{"x", "not-a-category"}}},
	})
	if code != 0 {
		t.Fatalf("write exited %d: %s", code, stderr)
	}
	var wrote writeResult
	if err := json.Unmarshal([]byte(stdout), &wrote); err != nil || wrote != (writeResult{RowsAccepted: 1, RowsRejected: 1}) {
		t.Fatalf("write printed %q (%v)", stdout, err)
	}

	stdout, stderr, code = invoke(t, "write", map[string]any{
		"url": addr, "apiKey": "slk_wrong.key", "target": target, "recordIds": []string{"a"},
		"columns": []map[string]any{{"name": "i", "type": "int64", "values": []any{"1"}}},
	})
	if code != 1 || stdout != "" || !strings.Contains(stderr, "Unauthenticated") || !strings.Contains(stderr, "API_KEY_INVALID") {
		t.Fatalf("a wrong key: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	stdout, stderr, code = invoke(t, "read", map[string]any{"url": addr, "apiKey": key, "target": map[string]any{"project": project, "collection": "nope", "split": "train"}})
	if code != 1 || stdout != "" || !strings.Contains(stderr, "NotFound") {
		t.Fatalf("a missing collection: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	for _, bad := range []map[string]any{
		{"name": "i", "type": "int64", "values": []any{"1.5"}},
		{"name": "i", "type": "decimal", "values": []any{"1"}},
		{"name": "i", "type": "int64", "values": []any{"1", "2"}},
	} {
		_, stderr, code = invoke(t, "write", map[string]any{"url": addr, "apiKey": key, "target": target, "recordIds": []string{"a"}, "columns": []any{bad}})
		if code != 1 || stderr == "" {
			t.Fatalf("column %v: exit %d, stderr %q", bad, code, stderr)
		}
	}
	if _, _, code := invoke(t, "delete", map[string]any{}); code != 2 {
		t.Fatalf("an unknown command exited %d, want 2", code)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	sightlinev1 "sightline/clients/go/gen/sightline/v1"
	"sightline/clients/go/internal/livetest"
	"sightline/clients/go/sightline"
)

func TestModelScore(t *testing.T) {
	income := 4000.0
	with := toyModel.Score(Application{Age: 40, Income: &income, Utilization: 0.5})
	without := toyModel.Score(Application{Age: 40, Utilization: 0.5})
	want := 1 / (1 + math.Exp(-(-1.2 - 0.02*40 - 0.0001*4000 + 2.5*0.5)))
	if math.Abs(with-want) > 1e-12 || with != without {
		t.Fatalf("score %v (imputed %v), want %v", with, without, want)
	}
	if hi, lo := toyModel.Score(Application{Utilization: 1}), toyModel.Score(Application{Utilization: 0}); hi <= lo {
		t.Fatalf("higher utilization scored lower: %v <= %v", hi, lo)
	}
}

// application i of the test run: deterministic, so the read-back can be checked against the model.
func application(i int) Application {
	app := Application{ID: fmt.Sprintf("app-%05d", i), Age: int64(18 + i%60), Utilization: float64(i%100) / 100}
	if i%10 != 0 {
		income := float64(1000 + (i*37)%9000)
		app.Income = &income
	}
	return app
}

// The service scores 10,000 requests over HTTP and streams each prediction through the StreamWriter: every ack
// comes back, and the server holds exactly those 10,000 records with the model's predictions and the features.
func TestServiceStreams10kPredictions(t *testing.T) {
	iso := livetest.NewIsolation()
	server := livetest.ServerFor(t, iso, livetest.ServerOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	admin, err := sightline.Dial(ctx, server.Addr, sightline.WithAPIKey(iso.AdminKey))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	const project = "inference"
	if _, err := admin.Admin.CreateProject(ctx, &sightlinev1.CreateProjectRequest{Project: &sightlinev1.Project{Name: project}}); err != nil {
		t.Fatal(err)
	}
	key, err := admin.Admin.CreateApiKey(ctx, &sightlinev1.CreateApiKeyRequest{Project: project})
	if err != nil {
		t.Fatal(err)
	}
	client, err := sightline.Dial(ctx, server.Addr, sightline.WithAPIKey(key.GetSecret()))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := EnsureCatalog(ctx, client, project); err != nil {
		t.Fatal(err)
	}
	// A second run finds everything in place.
	if err := EnsureCatalog(ctx, client, project); err != nil {
		t.Fatalf("EnsureCatalog again: %v", err)
	}

	writer := client.NewStreamWriter(Target(project), sightline.StreamWriterOptions{MaxInFlight: 32})
	svc := NewService(toyModel, writer)
	started := time.Now().Truncate(time.Millisecond)
	web := httptest.NewServer(svc)
	defer web.Close()

	const total, workers = 10_000, 8
	jobs := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := score(ctx, web.Client(), web.URL, application(i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range total {
		select {
		case jobs <- i:
		case err := <-errs:
			t.Fatal(err)
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	web.Close()
	if err := writer.Close(ctx); err != nil {
		t.Fatalf("closing the writer: %v", err)
	}
	finished := time.Now()
	stats := writer.Stats()
	if stats.Written != total || stats.Acked != total || stats.RowsAccepted != total || stats.RowsRejected != 0 || stats.Refused != 0 {
		t.Fatalf("writer stats: %+v, want %d batches written, acked and accepted", stats, total)
	}

	seen := 0
	for batch, err := range client.ReadRecords(ctx, &sightlinev1.ReadRecordsRequest{Target: Target(project), BatchSize: 5000}) {
		if err != nil {
			t.Fatalf("ReadRecords: %v", err)
		}
		for _, row := range sightline.Rows(batch) {
			app := application(seen)
			if row.RecordID != app.ID {
				t.Fatalf("record %d is %q, want %q", seen, row.RecordID, app.ID)
			}
			var income any
			if app.Income != nil {
				income = *app.Income
			}
			if row.Columns["age"] != app.Age || row.Columns["utilization"] != app.Utilization || row.Columns["income"] != income {
				t.Fatalf("record %s features %v, want %+v", app.ID, row.Columns, app)
			}
			if p := row.Predictions[scoreField]; p != toyModel.Score(app) {
				t.Fatalf("record %s prediction %v, want %v", app.ID, p, toyModel.Score(app))
			}
			if row.EventTime.Before(started) || row.EventTime.After(finished) {
				t.Fatalf("record %s event time %v outside the run [%v, %v]", app.ID, row.EventTime, started, finished)
			}
			seen++
		}
	}
	if seen != total {
		t.Fatalf("the server holds %d records, want exactly %d", seen, total)
	}
}

func score(ctx context.Context, c *http.Client, url string, app Application) error {
	body, err := json.Marshal(app)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/score", bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var got scoreResponse
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("score %s: status %d, %v", app.ID, resp.StatusCode, err)
	}
	if got.ID != app.ID || got.Probability != toyModel.Score(app) {
		return fmt.Errorf("score %s: got %+v, want %v", app.ID, got, toyModel.Score(app))
	}
	return nil
}

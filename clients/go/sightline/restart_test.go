package sightline_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sightlinev1 "sightline/clients/go/gen/sightline/v1"
	"sightline/clients/go/internal/livetest"
	"sightline/clients/go/sightline"
)

// A StreamWriter keeps going across a server restart: the server is stopped with SIGTERM partway through 3000
// single-row batches and started again on the same port; the writer reconnects, re-sends what had no ack, and the
// target ends up holding exactly the 3000 records, each with its own value.
func TestStreamWriterSurvivesServerRestart(t *testing.T) {
	env := livetest.RequireEnv(t)
	ctx := ctxFor(t, 3*time.Minute)
	iso := livetest.NewIsolation()
	port, err := livetest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	// A short grace period, so SIGTERM cuts the writer's open stream quickly instead of letting it drain for 10s.
	opts := livetest.ServerOptions{Port: port, Env: map[string]string{"SIGHTLINE_SHUTDOWN_GRACE_MS": "300"}}
	var (
		serversMu sync.Mutex
		servers   []*livetest.Server
	)
	startServer := func() (*livetest.Server, error) {
		s, err := livetest.StartServer(env, iso, opts)
		if err == nil {
			serversMu.Lock()
			servers = append(servers, s)
			serversMu.Unlock()
		}
		return s, err
	}
	t.Cleanup(func() {
		serversMu.Lock()
		defer serversMu.Unlock()
		for _, s := range servers {
			_ = s.Stop(20 * time.Second)
			if t.Failed() {
				t.Logf("server output:\n%s", s.Output())
			}
		}
	})
	first, err := startServer()
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, first.Addr, sightline.WithAPIKey(iso.AdminKey))
	target := int64Split(t, ctx, c, "restart")

	var reconnects, resent atomic.Int64
	w := c.NewStreamWriter(target, sightline.StreamWriterOptions{MaxInFlight: 32, OnReconnect: func(n int) {
		reconnects.Add(1)
		resent.Add(int64(n))
	}})

	const total, restartAfter = 3000, 1000
	type restartResult struct {
		ackedAtKill int64
		err         error
	}
	trigger := make(chan *sightline.Ack, 1)
	restarted := make(chan restartResult, 1)
	go func() {
		ack := <-trigger
		if _, err := ack.Wait(ctx); err != nil {
			restarted <- restartResult{err: fmt.Errorf("ack %d: %w", restartAfter, err)}
			return
		}
		acked := w.Stats().Acked
		if err := first.Stop(30 * time.Second); err != nil {
			restarted <- restartResult{err: fmt.Errorf("the first server did not exit cleanly on SIGTERM: %w", err)}
			return
		}
		second, err := startServer()
		if err == nil && second.Port != port {
			err = fmt.Errorf("the second server listens on %d, not %d", second.Port, port)
		}
		restarted <- restartResult{ackedAtKill: acked, err: err}
	}()

	for i := range total {
		b, err := sightline.NewBatch(fmt.Sprintf("r%05d", i)).Columns(sightline.Int64s("v", []int64{int64(i) * 3}, nil)).Build()
		if err != nil {
			t.Fatal(err)
		}
		ack, err := w.Write(ctx, b)
		if err != nil {
			t.Fatalf("Write %d: %v", i, err)
		}
		if i == restartAfter-1 {
			trigger <- ack
		}
	}
	result := <-restarted
	if result.err != nil {
		t.Fatal(result.err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}

	if result.ackedAtKill < restartAfter || result.ackedAtKill >= total {
		t.Fatalf("the server was stopped with %d of %d batches acked: not partway", result.ackedAtKill, total)
	}
	if reconnects.Load() < 1 {
		t.Fatalf("the writer never reconnected")
	}
	if n := resent.Load(); n > 32*reconnects.Load() {
		t.Fatalf("re-sent %d batches over %d reconnects, more than the in-flight window allows", n, reconnects.Load())
	}
	stats := w.Stats()
	if stats.Written != total || stats.Acked != total || stats.RowsAccepted != total || stats.Refused != 0 || stats.Reconnects != reconnects.Load() {
		t.Fatalf("stats: %+v", stats)
	}

	rows := readAll(t, ctx, c, &sightlinev1.ReadRecordsRequest{Target: target})
	if len(rows) != total {
		t.Fatalf("the split holds %d records, want exactly %d", len(rows), total)
	}
	for i, row := range rows {
		if row.RecordID != fmt.Sprintf("r%05d", i) || row.Columns["v"] != int64(i)*3 {
			t.Fatalf("record %d: %+v", i, row)
		}
	}
	t.Logf("stopped at %d acked; %d reconnects re-sent %d batches", result.ackedAtKill, reconnects.Load(), resent.Load())
}

// A stream the server ends for idleness, with nothing pending, stays closed until the next Write, which lands on a
// new stream: a writer that reopened it at once would be timed out again every second here, and give up after
// MaxReconnects (2) of them.
func TestStreamWriterLetsAnIdleStreamClose(t *testing.T) {
	env := livetest.RequireEnv(t)
	ctx := ctxFor(t, time.Minute)
	iso := livetest.NewIsolation()
	server, err := livetest.StartServer(env, iso, livetest.ServerOptions{Env: map[string]string{"SIGHTLINE_STREAM_IDLE_TIMEOUT_MS": "1000"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = server.Stop(20 * time.Second) })
	c := dial(t, server.Addr, sightline.WithAPIKey(iso.AdminKey))
	target := int64Split(t, ctx, c, "idle")
	w := c.NewStreamWriter(target, sightline.StreamWriterOptions{MaxReconnects: 2})
	write := func(i int) {
		b, err := sightline.NewBatch(fmt.Sprintf("r%d", i)).Columns(sightline.Int64s("v", []int64{int64(i)}, nil)).Build()
		if err != nil {
			t.Fatal(err)
		}
		ack, err := w.Write(ctx, b)
		if err != nil {
			t.Fatalf("Write %d: %v", i, err)
		}
		if _, err := ack.Wait(ctx); err != nil {
			t.Fatalf("ack %d: %v", i, err)
		}
	}
	write(0)
	time.Sleep(4500 * time.Millisecond)
	write(1)
	if err := w.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if stats := w.Stats(); stats.Acked != 2 || stats.Reconnects != 1 {
		t.Fatalf("stats: %+v, want 2 acked over one reconnect (for the second write)", stats)
	}
	if rows := readAll(t, ctx, c, &sightlinev1.ReadRecordsRequest{Target: target}); len(rows) != 2 {
		t.Fatalf("the split holds %d records, want 2", len(rows))
	}
}

// int64Split creates a project named after label, a collection "events" with one INT64 feature "v", and its split
// "s", and returns the split as a target.
func int64Split(t *testing.T, ctx context.Context, c *sightline.Client, label string) *sightlinev1.Target {
	t.Helper()
	project := uniqueName(label)
	if _, err := c.Admin.CreateProject(ctx, &sightlinev1.CreateProjectRequest{Project: &sightlinev1.Project{Name: project}}); err != nil {
		t.Fatal(err)
	}
	schema := &sightlinev1.Schema{RecordIdColumn: "id", Fields: []*sightlinev1.Field{field("v", feature, sightlinev1.FieldType_FIELD_TYPE_INT64, false)}}
	if _, err := c.Catalog.CreateDataCollection(ctx, &sightlinev1.CreateDataCollectionRequest{Collection: &sightlinev1.DataCollection{Project: project, Name: "events", Schema: schema}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Catalog.CreateSplit(ctx, &sightlinev1.CreateSplitRequest{Split: &sightlinev1.Split{Project: project, Collection: "events", Name: "s", Type: sightlinev1.SplitType_SPLIT_TYPE_CUSTOM}}); err != nil {
		t.Fatal(err)
	}
	return sightline.SplitTarget(project, "events", "s")
}

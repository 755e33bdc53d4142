// Command inference is an example real-time inference service: it scores credit applications over HTTP with a
// toy logistic model and streams every prediction, with the features it was made from, to Sightline's production
// records through a StreamWriter. The HTTP response never waits for Sightline: Write only queues the record, and
// the writer's goroutine collects the acks and re-sends after a reconnect.
//
// Run it against a server (see the README) with:
//
//	SIGHTLINE_ADDR=127.0.0.1:50051 SIGHTLINE_API_KEY=slk_... SIGHTLINE_PROJECT=acme go run ./examples/inference
//	curl -s localhost:8080/score -d '{"id": "app-1", "age": 41, "income": 5200, "utilization": 0.35}'
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"math"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/grpc/codes"

	sightlinev1 "sightline/clients/go/gen/sightline/v1"
	"sightline/clients/go/sightline"
)

const (
	collectionName = "credit-live"
	modelName      = "toy-logistic"
	scoreField     = "p_default"
)

// Model is a logistic regression over three features: small enough to read, real enough to monitor.
type Model struct {
	Bias, Age, Income, Utilization float64
	// MeanIncome stands in for a missing income, as a production pipeline's imputer would.
	MeanIncome float64
}

// toyModel is the model the service ships with.
var toyModel = Model{Bias: -1.2, Age: -0.02, Income: -0.0001, Utilization: 2.5, MeanIncome: 4000}

// Application is one scoring request. Income is optional.
type Application struct {
	ID          string   `json:"id"`
	Age         int64    `json:"age"`
	Income      *float64 `json:"income,omitempty"`
	Utilization float64  `json:"utilization"`
}

// Score is the probability of default.
func (m Model) Score(a Application) float64 {
	income := m.MeanIncome
	if a.Income != nil {
		income = *a.Income
	}
	z := m.Bias + m.Age*float64(a.Age) + m.Income*income + m.Utilization*a.Utilization
	return 1 / (1 + math.Exp(-z))
}

// Schema is the collection the service writes to: the record ID is the application ID.
func Schema() *sightlinev1.Schema {
	feature := sightlinev1.FieldKind_FIELD_KIND_FEATURE
	return &sightlinev1.Schema{RecordIdColumn: "application_id", TimestampColumn: "scored_at", Fields: []*sightlinev1.Field{
		{Name: "age", Kind: feature, Type: sightlinev1.FieldType_FIELD_TYPE_INT64},
		{Name: "income", Kind: feature, Type: sightlinev1.FieldType_FIELD_TYPE_DOUBLE, Nullable: true},
		{Name: "utilization", Kind: feature, Type: sightlinev1.FieldType_FIELD_TYPE_DOUBLE},
		{Name: "defaulted", Kind: sightlinev1.FieldKind_FIELD_KIND_LABEL, Type: sightlinev1.FieldType_FIELD_TYPE_BOOL, Nullable: true},
	}}
}

// EnsureCatalog creates the collection and model on first run; ALREADY_EXISTS means an earlier run did.
func EnsureCatalog(ctx context.Context, c *sightline.Client, project string) error {
	_, err := c.Catalog.CreateDataCollection(ctx, &sightlinev1.CreateDataCollectionRequest{Collection: &sightlinev1.DataCollection{
		Project: project, Name: collectionName, Schema: Schema(),
	}})
	if err != nil && sightline.ReasonOf(err) != sightline.ReasonAlreadyExists {
		return fmt.Errorf("create collection: %w", err)
	}
	_, err = c.Catalog.CreateModel(ctx, &sightlinev1.CreateModelRequest{Model: &sightlinev1.Model{
		Project: project, Collection: collectionName, Name: modelName,
		ScoreType:        sightlinev1.ScoreType_SCORE_TYPE_PROBITS,
		Mode:             sightlinev1.ModelMode_MODEL_MODE_DATA_ONLY,
		PredictionFields: []*sightlinev1.PredictionField{{Name: scoreField, Type: sightlinev1.FieldType_FIELD_TYPE_DOUBLE}},
		LabelField:       "defaulted",
	}})
	if err != nil && sightline.ReasonOf(err) != sightline.ReasonAlreadyExists {
		return fmt.Errorf("create model: %w", err)
	}
	return nil
}

// Target is where the service's predictions go.
func Target(project string) *sightlinev1.Target {
	return sightline.ProductionTarget(project, collectionName, modelName)
}

// Service is the HTTP handler: POST /score with an Application, answered with its score.
type Service struct {
	model  Model
	writer *sightline.StreamWriter
	// now stamps event times; tests may pin it.
	now func() time.Time
}

// NewService scores with model and records through writer, which the caller closes after the HTTP server stops.
func NewService(model Model, writer *sightline.StreamWriter) *Service {
	return &Service{model: model, writer: writer, now: time.Now}
}

type scoreResponse struct {
	ID          string  `json:"id"`
	Probability float64 `json:"probability"`
}

func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/score" {
		http.Error(w, "POST /score", http.StatusNotFound)
		return
	}
	var app Application
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&app); err != nil || app.ID == "" {
		http.Error(w, "want a JSON application with an id", http.StatusBadRequest)
		return
	}
	p := s.model.Score(app)
	if err := s.record(r.Context(), app, p); err != nil {
		// Monitoring must not take scoring down: answer anyway, and log why the record was lost.
		log.Printf("inference: recording %s: %v", app.ID, err)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(scoreResponse{ID: app.ID, Probability: p})
}

// record queues one production record: the features, the prediction and the time it was made.
func (s *Service) record(ctx context.Context, app Application, p float64) error {
	income, incomeNull := 0.0, app.Income == nil
	if !incomeNull {
		income = *app.Income
	}
	batch, err := sightline.NewBatch(app.ID).
		EventTimes(s.now()).
		Columns(
			sightline.Int64s("age", []int64{app.Age}, nil),
			sightline.Doubles("income", []float64{income}, []bool{incomeNull}),
			sightline.Doubles("utilization", []float64{app.Utilization}, nil),
		).
		Predictions(sightline.Doubles(scoreField, []float64{p}, nil)).
		Build()
	if err != nil {
		return err
	}
	// Write returns once the batch is queued; it waits only when the in-flight window is full, bounded by the
	// request's own context.
	_, err = s.writer.Write(ctx, batch)
	return err
}

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func run() error {
	addr := env("SIGHTLINE_ADDR", "127.0.0.1:50051")
	project := os.Getenv("SIGHTLINE_PROJECT")
	if project == "" {
		return errors.New("set SIGHTLINE_PROJECT (and SIGHTLINE_API_KEY, a key of that project)")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	opts := []sightline.Option{sightline.WithAPIKey(os.Getenv("SIGHTLINE_API_KEY"))}
	if ca := os.Getenv("SIGHTLINE_CA_FILE"); ca != "" {
		opts = append(opts, sightline.WithRootCAFile(ca))
	}
	client, err := sightline.Dial(ctx, addr, opts...)
	if err != nil {
		return err
	}
	defer client.Close()
	setupCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := EnsureCatalog(setupCtx, client, project); err != nil {
		if e, ok := sightline.AsError(err); ok && e.Code == codes.Unauthenticated {
			return fmt.Errorf("%w (is SIGHTLINE_API_KEY a key of project %q?)", err, project)
		}
		return err
	}

	writer := client.NewStreamWriter(Target(project), sightline.StreamWriterOptions{
		OnReconnect: func(resent int) { log.Printf("inference: reconnected to Sightline, re-sending %d records", resent) },
	})
	server := &http.Server{Addr: env("LISTEN_ADDR", "127.0.0.1:8080"), Handler: NewService(toyModel, writer), ReadHeaderTimeout: 5 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- server.ListenAndServe() }()
	log.Printf("inference: scoring on http://%s/score, recording to %s", server.Addr, addr)

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	// Stop taking requests first, then wait for every record's ack, so a deploy loses nothing that was scored.
	shutdownCtx, cancelShutdown := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelShutdown()
	if err := server.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := writer.Close(shutdownCtx); err != nil {
		return fmt.Errorf("flushing predictions to Sightline: %w", err)
	}
	st := writer.Stats()
	log.Printf("inference: stopped; %d predictions recorded, %d rows rejected", st.RowsAccepted, st.RowsRejected)
	return nil
}

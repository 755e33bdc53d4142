package sightline_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	sightlinev1 "sightline/clients/go/gen/sightline/v1"
	"sightline/clients/go/sightline"
)

// ─── The fixture ──────────────────────────────────────────────────────────────────────────────────────────────────
//
// testdata/logistic5.onnx is a logistic model over five float32 features f0..f4, score = sigmoid(x·W + b), with its
// rows and onnxruntime's scores in testdata/logistic5.json; testdata/make_logistic5.py writes both.

const (
	artifactPath   = "testdata/logistic5.onnx"
	artifactRows   = "testdata/logistic5.json"
	modelsColl     = "scores"
	modelsScore    = "score"
	modelTolerance = 1e-6
)

type logistic5 struct {
	Features         []string    `json:"features"`
	InputName        string      `json:"inputName"`
	Output           string      `json:"output"`
	Producer         string      `json:"producer"`
	Weights          []float64   `json:"weights"`
	Bias             float64     `json:"bias"`
	Baseline         [][]float64 `json:"baseline"`
	Evaluation       [][]float64 `json:"evaluation"`
	BaselineScores   []float64   `json:"baselineScores"`
	EvaluationScores []float64   `json:"evaluationScores"`
}

func loadFixture(t *testing.T) (logistic5, []byte) {
	t.Helper()
	raw, err := os.ReadFile(artifactRows)
	if err != nil {
		t.Fatal(err)
	}
	var f logistic5
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("%s: %v", artifactRows, err)
	}
	data, err := os.ReadFile(artifactPath)
	if err != nil {
		t.Fatal(err)
	}
	return f, data
}

// score is the model in float64, which differs from onnxruntime's float32 arithmetic by a few float32 ulps.
func (f logistic5) score(x []float64) float64 {
	z := f.Bias
	for i, w := range f.Weights {
		z += w * x[i]
	}
	return 1 / (1 + math.Exp(-z))
}

// shapley gives the interventional Shapley values of x by brute force over every coalition: v(S) is the mean score
// of the background rows with the features of S taken from x. It returns v(∅), the base value, and the values.
func (f logistic5) shapley(background [][]float64, x []float64) (float64, []float64) {
	m := len(x)
	v := make([]float64, 1<<m)
	z := make([]float64, m)
	for mask := range v {
		sum := 0.0
		for _, b := range background {
			for i := range z {
				if mask&(1<<i) != 0 {
					z[i] = x[i]
				} else {
					z[i] = b[i]
				}
			}
			sum += f.score(z)
		}
		v[mask] = sum / float64(len(background))
	}
	factorial := func(n int) float64 { return math.Gamma(float64(n) + 1) }
	phi := make([]float64, m)
	for mask := range v {
		size := bits.OnesCount(uint(mask))
		for i := range m {
			if mask&(1<<i) == 0 {
				phi[i] += factorial(size) * factorial(m-size-1) / factorial(m) * (v[mask|1<<i] - v[mask])
			}
		}
	}
	return v[0], phi
}

func rowIDs(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s%02d", prefix, i)
	}
	return ids
}

func featureBatch(t *testing.T, features []string, ids []string, rows [][]float64) *sightlinev1.RecordBatch {
	t.Helper()
	b := sightline.NewBatch(ids...)
	for j, name := range features {
		col := make([]float64, len(rows))
		for i, r := range rows {
			col[i] = r[j]
		}
		b.Columns(sightline.Doubles(name, col, nil))
	}
	batch, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return batch
}

// setUpScores creates the collection (the fixture's features), its baseline split "train" and split "eval" with the
// fixture's rows, a DATA_AND_MODEL model "logit" and a DATA_ONLY model "sent"; c must default to the project.
func setUpScores(t *testing.T, ctx context.Context, c *sightline.Client, f logistic5) {
	t.Helper()
	project := c.Project()
	fields := make([]*sightlinev1.Field, len(f.Features))
	for i, name := range f.Features {
		fields[i] = field(name, feature, sightlinev1.FieldType_FIELD_TYPE_DOUBLE, true)
	}
	if _, err := c.Catalog.CreateDataCollection(ctx, &sightlinev1.CreateDataCollectionRequest{Collection: &sightlinev1.DataCollection{
		Project: project, Name: modelsColl, Schema: &sightlinev1.Schema{RecordIdColumn: "id", Fields: fields},
	}}); err != nil {
		t.Fatalf("CreateDataCollection: %v", err)
	}
	for _, split := range []*sightlinev1.Split{
		{Project: project, Collection: modelsColl, Name: "train", Type: sightlinev1.SplitType_SPLIT_TYPE_TRAIN, Baseline: true},
		{Project: project, Collection: modelsColl, Name: "eval", Type: sightlinev1.SplitType_SPLIT_TYPE_TEST},
	} {
		if _, err := c.Catalog.CreateSplit(ctx, &sightlinev1.CreateSplitRequest{Split: split}); err != nil {
			t.Fatalf("CreateSplit %s: %v", split.GetName(), err)
		}
	}
	for _, mode := range []struct {
		name string
		mode sightlinev1.ModelMode
	}{{"logit", sightlinev1.ModelMode_MODEL_MODE_DATA_AND_MODEL}, {"sent", sightlinev1.ModelMode_MODEL_MODE_DATA_ONLY}} {
		if _, err := c.Catalog.CreateModel(ctx, &sightlinev1.CreateModelRequest{Model: &sightlinev1.Model{
			Project: project, Collection: modelsColl, Name: mode.name,
			ScoreType:        sightlinev1.ScoreType_SCORE_TYPE_PROBITS,
			PredictionFields: []*sightlinev1.PredictionField{{Name: modelsScore, Type: sightlinev1.FieldType_FIELD_TYPE_DOUBLE}},
			Mode:             mode.mode,
		}}); err != nil {
			t.Fatalf("CreateModel %s: %v", mode.name, err)
		}
	}
	for split, rows := range map[string][][]float64{"train": f.Baseline, "eval": f.Evaluation} {
		batch := featureBatch(t, f.Features, rowIDs(split, len(rows)), rows)
		s, err := c.Upload(ctx, sightline.SplitTarget(project, modelsColl, split), []*sightlinev1.RecordBatch{batch})
		if err != nil || s.GetRowsAccepted() != int64(len(rows)) {
			t.Fatalf("Upload %s: %v, %v", split, s, err)
		}
	}
}

// readEval reads the eval split's records with the model's predictions and influences, by record ID.
func readEval(t *testing.T, ctx context.Context, c *sightline.Client, model string) map[string]sightline.Row {
	t.Helper()
	target := sightline.SplitTarget(c.Project(), modelsColl, "eval")
	target.Model = model
	out := map[string]sightline.Row{}
	for _, r := range readAll(t, ctx, c, &sightlinev1.ReadRecordsRequest{Target: target}) {
		out[r.RecordID] = r
	}
	return out
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ─── Tests ────────────────────────────────────────────────────────────────────────────────────────────────────────

// The fixture agrees with itself: onnxruntime's scores are the model's, and the brute-force Shapley values add up.
func TestModelFixture(t *testing.T) {
	f, data := loadFixture(t)
	if len(data) == 0 || len(f.Baseline) != 30 || len(f.Evaluation) != 20 || len(f.Features) != 5 {
		t.Fatalf("fixture: %d bytes, %d baseline and %d evaluation rows, features %v", len(data), len(f.Baseline), len(f.Evaluation), f.Features)
	}
	for i, x := range f.Evaluation {
		if d := math.Abs(f.score(x) - f.EvaluationScores[i]); d > modelTolerance {
			t.Errorf("row %d: float64 score %v, onnxruntime %v", i, f.score(x), f.EvaluationScores[i])
		}
		base, phi := f.shapley(f.Baseline, x)
		sum := base
		for _, p := range phi {
			sum += p
		}
		if math.Abs(sum-f.score(x)) > 1e-12 {
			t.Errorf("row %d: base %v + Σφ %v = %v, score %v", i, base, phi, sum, f.score(x))
		}
	}
}

func TestModelArtifactsAndComputations(t *testing.T) {
	f, data := loadFixture(t)
	admin, s := adminClient(t)
	addr := s.Server.Addr
	ctx := ctxFor(t, 3*time.Minute)
	project, _ := projectWithKey(t, ctx, admin, addr)
	key, err := admin.Admin.CreateApiKey(ctx, &sightlinev1.CreateApiKeyRequest{Project: project, DisplayName: "models"})
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, addr, sightline.WithAPIKey(key.GetSecret()), sightline.WithProject(project))
	setUpScores(t, ctx, c, f)
	digest := sha256Hex(data)

	t.Run("UploadAndVersions", func(t *testing.T) {
		first, err := c.UploadModelArtifact(ctx, modelsColl, "logit", bytes.NewReader(data), int64(len(data)), strings.ToUpper(digest))
		if err != nil {
			t.Fatalf("UploadModelArtifact: %v", err)
		}
		want := sightline.ModelArtifact{
			Project: project, Collection: modelsColl, Model: "logit", Version: 1, Format: "ONNX",
			SizeBytes: int64(len(data)), SHA256: digest, Uploaded: first.Uploaded,
			Inputs: []string{f.InputName}, Outputs: []string{f.Output}, InfluenceAlgorithm: sightline.KernelSHAP, Producer: f.Producer,
		}
		if !equalArtifacts(*first, want) {
			t.Fatalf("first upload: %+v, want %+v", *first, want)
		}
		if age := time.Since(first.Uploaded); age < -time.Minute || age > 5*time.Minute || first.Uploaded.Location() != time.UTC {
			t.Errorf("uploaded at %v", first.Uploaded)
		}
		// A file, in many small chunks: the next version.
		second, err := c.UploadModelArtifactFile(ctx, modelsColl, "logit", artifactPath, sightline.WithArtifactChunkSize(37))
		if err != nil {
			t.Fatalf("UploadModelArtifactFile: %v", err)
		}
		if second.Version != 2 || second.SHA256 != digest || second.SizeBytes != int64(len(data)) {
			t.Fatalf("second upload: %+v", *second)
		}
		latest, err := c.GetModelArtifact(ctx, modelsColl, "logit")
		if err != nil || !equalArtifacts(*latest, *second) || !latest.Uploaded.Equal(second.Uploaded) {
			t.Fatalf("GetModelArtifact: %+v, %v; want %+v", latest, err, second)
		}
		v1, err := c.GetModelArtifact(ctx, modelsColl, "logit", sightline.WithArtifactVersion(1))
		if err != nil || v1.Version != 1 || !v1.Uploaded.Equal(first.Uploaded) {
			t.Fatalf("GetModelArtifact version 1: %+v, %v", v1, err)
		}
		_, err = c.GetModelArtifact(ctx, modelsColl, "logit", sightline.WithArtifactVersion(9))
		wantError(t, "GetModelArtifact of an unknown version", err, codes.NotFound, sightline.ReasonNotFound)
	})

	t.Run("Errors", func(t *testing.T) {
		// A wrong digest: refused, and nothing stored.
		_, err := c.UploadModelArtifact(ctx, modelsColl, "logit", bytes.NewReader(data), int64(len(data)), sha256Hex([]byte("something else")))
		e := wantError(t, "UploadModelArtifact with a wrong SHA-256", err, codes.InvalidArgument, sightline.ReasonArtifactInvalid)
		hasViolation(t, "wrong SHA-256", e, "header.sha256")
		// A size larger than the bytes the reader holds: the client stops, and nothing is stored either.
		_, err = c.UploadModelArtifact(ctx, modelsColl, "logit", bytes.NewReader(data), int64(len(data))+10, digest)
		if err == nil || !strings.Contains(err.Error(), "ended after") {
			t.Errorf("UploadModelArtifact from a short reader: %v", err)
		} else if _, ok := sightline.AsError(err); ok {
			t.Errorf("a short reader is the caller's error, not the server's: %v", err)
		}
		// Bytes that are not ONNX.
		junk := bytes.Repeat([]byte("not onnx "), 40)
		_, err = c.UploadModelArtifact(ctx, modelsColl, "logit", bytes.NewReader(junk), int64(len(junk)), sha256Hex(junk))
		wantError(t, "UploadModelArtifact of junk", err, codes.InvalidArgument, sightline.ReasonArtifactInvalid)
		if a, err := c.GetModelArtifact(ctx, modelsColl, "logit"); err != nil || a.Version != 2 {
			t.Errorf("after refused uploads, the latest artifact is %+v, %v; want version 2", a, err)
		}

		// A DATA_ONLY model has no artifact and computes nothing.
		_, err = c.UploadModelArtifactFile(ctx, modelsColl, "sent", artifactPath)
		wantError(t, "UploadModelArtifactFile to a DATA_ONLY model", err, codes.FailedPrecondition, sightline.ReasonModelMode)
		_, err = c.GetModelArtifact(ctx, modelsColl, "sent")
		wantError(t, "GetModelArtifact of a DATA_ONLY model", err, codes.FailedPrecondition, sightline.ReasonModelMode)
		_, err = c.ComputePredictions(ctx, modelsColl, "sent", sightline.ComputeOptions{Split: "eval"})
		wantError(t, "ComputePredictions of a DATA_ONLY model", err, codes.FailedPrecondition, sightline.ReasonModelMode)
		_, err = c.ComputeInfluences(ctx, modelsColl, "sent", sightline.InfluenceOptions{ComputeOptions: sightline.ComputeOptions{Split: "eval"}})
		wantError(t, "ComputeInfluences of a DATA_ONLY model", err, codes.FailedPrecondition, sightline.ReasonModelMode)

		// TreeSHAP needs a tree ensemble; an unknown split or model is NOT_FOUND.
		_, err = c.ComputeInfluences(ctx, modelsColl, "logit", sightline.InfluenceOptions{ComputeOptions: sightline.ComputeOptions{Split: "eval"}, Algorithm: sightline.TreeSHAP})
		wantError(t, "TreeSHAP of a logistic model", err, codes.FailedPrecondition, sightline.ReasonArtifactMismatch)
		_, err = c.ComputePredictions(ctx, modelsColl, "logit", sightline.ComputeOptions{Split: "nope"})
		wantError(t, "ComputePredictions of an unknown split", err, codes.NotFound, sightline.ReasonNotFound)
		_, err = c.GetModelArtifact(ctx, modelsColl, "nope")
		wantError(t, "GetModelArtifact of an unknown model", err, codes.NotFound, sightline.ReasonNotFound)
	})

	var predictions map[string]sightline.Row
	t.Run("Predictions", func(t *testing.T) {
		jobID, err := c.ComputePredictions(ctx, modelsColl, "logit", sightline.ComputeOptions{Split: "eval"})
		if err != nil {
			t.Fatalf("ComputePredictions: %v", err)
		}
		if !strings.HasPrefix(jobID, "compute:") {
			t.Errorf("job ID %q", jobID)
		}
		status, err := c.WaitForJob(ctx, jobID)
		if err != nil || status.State != sightline.JobCompleted || status.Result != nil || status.ComputeResult == nil {
			t.Fatalf("WaitForJob: %+v, %v", status, err)
		}
		n := int64(len(f.Evaluation))
		want := sightline.ComputeResult{Records: n, Written: n, Chunks: 1, ArtifactVersion: 2, Algorithm: sightline.AlgorithmDefault, Exact: true}
		if *status.ComputeResult != want {
			t.Errorf("predictions result %+v, want %+v", *status.ComputeResult, want)
		}
		predictions = readEval(t, ctx, c, "logit")
		if len(predictions) != len(f.Evaluation) {
			t.Fatalf("%d records read back, want %d", len(predictions), len(f.Evaluation))
		}
		for i, id := range rowIDs("eval", len(f.Evaluation)) {
			got, ok := predictions[id].Predictions[modelsScore].(float64)
			if !ok {
				t.Errorf("%s: no %s prediction: %+v", id, modelsScore, predictions[id])
				continue
			}
			if d := math.Abs(got - f.EvaluationScores[i]); d > modelTolerance {
				t.Errorf("%s: prediction %.9g, onnxruntime %.9g (off by %.3g)", id, got, f.EvaluationScores[i], d)
			}
		}
	})
	if t.Failed() {
		t.FailNow()
	}

	t.Run("Influences", func(t *testing.T) {
		jobID, err := c.ComputeInfluences(ctx, modelsColl, "logit", sightline.InfluenceOptions{ComputeOptions: sightline.ComputeOptions{Split: "eval", ArtifactVersion: 1}, Seed: 5})
		if err != nil {
			t.Fatalf("ComputeInfluences: %v", err)
		}
		// Follow it with WatchJob: the last status carries the result.
		var last sightline.JobStatus
		for status, err := range c.WatchJob(ctx, jobID) {
			if err != nil {
				t.Fatalf("WatchJob: %v", err)
			}
			last = status
		}
		r := last.ComputeResult
		if last.State != sightline.JobCompleted || r == nil {
			t.Fatalf("WatchJob ended with %+v", last)
		}
		n := int64(len(f.Evaluation))
		// Five features: KernelSHAP enumerates every coalition, so the values are exact.
		if r.Records != n || r.Written != n || r.Rejected != 0 || r.ArtifactVersion != 1 || r.Algorithm != sightline.KernelSHAP || !r.Exact || !r.HasBaseValue {
			t.Fatalf("influences result %+v", *r)
		}
		// The whole baseline (30 rows, under the default 100) is the background: the base value is its mean score.
		mean := 0.0
		for _, s := range f.BaselineScores {
			mean += s / float64(len(f.BaselineScores))
		}
		if math.Abs(r.BaseValue-mean) > modelTolerance {
			t.Errorf("base value %.9g, mean baseline score %.9g", r.BaseValue, mean)
		}
		rows := readEval(t, ctx, c, "logit")
		for i, id := range rowIDs("eval", len(f.Evaluation)) {
			row := rows[id]
			score, _ := predictions[id].Predictions[modelsScore].(float64)
			if again, _ := row.Predictions[modelsScore].(float64); again != score {
				t.Errorf("%s: the prediction changed from %v to %v", id, score, again)
			}
			sum := r.BaseValue
			_, exact := f.shapley(f.Baseline, f.Evaluation[i])
			for j, name := range f.Features {
				phi, ok := row.Influences[name].(float64)
				if !ok {
					t.Fatalf("%s: no influence of %s: %+v", id, name, row.Influences)
				}
				sum += phi
				if math.Abs(phi-exact[j]) > modelTolerance {
					t.Errorf("%s: influence of %s %.9g, brute force %.9g", id, name, phi, exact[j])
				}
			}
			// Additivity: base value + Σ influences = the record's score.
			if math.Abs(sum-score) > modelTolerance {
				t.Errorf("%s: base %.9g + Σ influences = %.9g, prediction %.9g", id, r.BaseValue, sum, score)
			}
		}
	})

	t.Run("ProductionScope", func(t *testing.T) {
		// No split: production records by event time. There are none, so the job selects nothing.
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		jobID, err := c.ComputePredictions(ctx, modelsColl, "logit", sightline.ComputeOptions{Start: start, End: start.AddDate(0, 1, 0)})
		if err != nil {
			t.Fatalf("ComputePredictions of production: %v", err)
		}
		status, err := c.WaitForJob(ctx, jobID)
		if err != nil || status.ComputeResult == nil || status.ComputeResult.Records != 0 || status.ComputeResult.Written != 0 {
			t.Fatalf("WaitForJob: %+v, %v", status, err)
		}
		_, err = c.ComputePredictions(ctx, modelsColl, "logit", sightline.ComputeOptions{Start: start, End: start})
		e := wantError(t, "ComputePredictions with End at Start", err, codes.InvalidArgument, sightline.ReasonInvalidArgument)
		hasViolation(t, "End at Start", e, "production.end")
	})
}

func equalArtifacts(a, b sightline.ModelArtifact) bool {
	return a.Project == b.Project && a.Collection == b.Collection && a.Model == b.Model && a.Version == b.Version &&
		a.Format == b.Format && a.SizeBytes == b.SizeBytes && a.SHA256 == b.SHA256 && a.Uploaded.Equal(b.Uploaded) &&
		slices.Equal(a.Inputs, b.Inputs) && slices.Equal(a.Outputs, b.Outputs) &&
		a.InfluenceAlgorithm == b.InfluenceAlgorithm && a.Producer == b.Producer
}

// What the client checks itself, without a server.
func TestModelsClientSide(t *testing.T) {
	ctx := context.Background()
	c := dial(t, "127.0.0.1:1")
	for name, call := range map[string]func() error{
		"UploadModelArtifact": func() error {
			_, err := c.UploadModelArtifact(ctx, "coll", "m", bytes.NewReader([]byte("x")), 1, sha256Hex([]byte("x")))
			return err
		},
		"GetModelArtifact": func() error { _, err := c.GetModelArtifact(ctx, "coll", "m"); return err },
		"ComputePredictions": func() error {
			_, err := c.ComputePredictions(ctx, "coll", "m", sightline.ComputeOptions{Split: "s"})
			return err
		},
		"ComputeInfluences": func() error {
			_, err := c.ComputeInfluences(ctx, "coll", "m", sightline.InfluenceOptions{})
			return err
		},
	} {
		err := call()
		if err == nil || !strings.Contains(err.Error(), "WithProject") {
			t.Errorf("%s without a project: %v", name, err)
		} else if _, ok := sightline.AsError(err); ok {
			t.Errorf("%s without a project sent a call: %v", name, err)
		}
	}
	p := dial(t, "127.0.0.1:1", sightline.WithProject("acme"))
	_, err := p.ComputePredictions(ctx, "coll", "m", sightline.ComputeOptions{Split: "s", Start: time.Now()})
	if err == nil || !strings.Contains(err.Error(), "Split") {
		t.Errorf("ComputePredictions with a split and a start: %v", err)
	}
	_, err = p.UploadModelArtifact(ctx, "coll", "m", bytes.NewReader([]byte("x")), 1, "", sightline.WithArtifactChunkSize(0))
	if err == nil || !strings.Contains(err.Error(), "chunk size") {
		t.Errorf("a zero chunk size: %v", err)
	}
	_, err = p.UploadModelArtifactFile(ctx, "coll", "m", filepath.Join(t.TempDir(), "missing.onnx"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("UploadModelArtifactFile of a missing file: %v", err)
	}
	for a, name := range map[sightline.InfluenceAlgorithm]string{sightline.TreeSHAP: "TREE_SHAP", sightline.KernelSHAP: "KERNEL_SHAP"} {
		if a.String() != name || int32(a) != sightlinev1.InfluenceAlgorithm_value["INFLUENCE_ALGORITHM_"+name] {
			t.Errorf("%d: %s, the enum says %d", a, a, sightlinev1.InfluenceAlgorithm_value["INFLUENCE_ALGORITHM_"+name])
		}
	}
	if sightline.AlgorithmDefault != sightline.InfluenceAlgorithm(sightlinev1.InfluenceAlgorithm_INFLUENCE_ALGORITHM_UNSPECIFIED) {
		t.Errorf("AlgorithmDefault is not UNSPECIFIED")
	}
}

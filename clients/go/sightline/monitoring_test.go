package sightline_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/big"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	sightlinev1 "sightline/clients/go/gen/sightline/v1"
	"sightline/clients/go/internal/livetest"
	"sightline/clients/go/sightline"
)

// ─── The dataset ──────────────────────────────────────────────────────────────────────────────────────────────────
//
// A churn model (PROBITS, threshold 0.5) over a collection with a DOUBLE feature, a CATEGORICAL feature and a BOOL
// label. The baseline split "train" holds 8 rows; production holds 40 records in two UTC hours either side of a
// midnight, so the hours fall on two days. Scores are multiples of 1/16 with ties across the classes and exactly at
// the threshold, so every binary metric but log_loss is an exact rational.

const (
	monCollection = "churn"
	monModel      = "churn-p"
	monScore      = "p_churn"
	noLabel       = -1
)

var (
	monDay1 = time.Date(2025, 6, 3, 0, 0, 0, 0, time.UTC)
	monDay2 = monDay1.Add(24 * time.Hour)
	// Hour A, the last of day 1, has both classes, two unlabelled records, a missing amount and segment, two
	// amounts outside the baseline's range, two segments the baseline never held, a rejected row and an overwrite.
	monHourA = monDay1.Add(23 * time.Hour)
	// Hour B, the first of day 2: every label is true, so roc_auc, specificity and false_positive_rate are undefined.
	monHourB = monDay2
)

type monRow struct {
	id      string
	at      time.Time
	amount  float64 // NaN for null
	segment string  // "" for null
	score   float64
	label   int // 1 true, 0 false, noLabel
}

func (r monRow) labelled() bool { return r.label != noLabel }

var monTrain = []monRow{
	{"t0", time.Time{}, 10, "a", 0.125, 0},
	{"t1", time.Time{}, 20, "a", 0.25, 0},
	{"t2", time.Time{}, 30, "a", 0.375, 1},
	{"t3", time.Time{}, 40, "b", 0.5, 0},
	{"t4", time.Time{}, 50, "b", 0.625, 1},
	{"t5", time.Time{}, 60, "b", 0.75, 1},
	{"t6", time.Time{}, 70, "a", 0.875, 1},
	{"t7", time.Time{}, 80, "b", 0.9375, 1},
}

// hourARows are in hour A, two minutes apart. a09's label is first sent false, then corrected to true by a Put.
func hourARows() []monRow {
	nan := math.NaN()
	rows := []monRow{
		{"a00", time.Time{}, 95, "a", 0.9375, 1},
		{"a01", time.Time{}, 12, "b", 0.875, 1},
		{"a02", time.Time{}, 25, "a", 0.875, 0},
		{"a03", time.Time{}, 33, "c", 0.75, 1},
		{"a04", time.Time{}, 41, "a", 0.75, 1},
		{"a05", time.Time{}, nan, "b", 0.625, 0},
		{"a06", time.Time{}, 47, "a", 0.625, 1},
		{"a07", time.Time{}, 52, "", 0.5, 1},
		{"a08", time.Time{}, 58, "a", 0.5, 0},
		{"a09", time.Time{}, 61, "b", 0.4375, 1},
		{"a10", time.Time{}, 5, "a", 0.375, 0},
		{"a11", time.Time{}, 66, "b", 0.375, 1},
		{"a12", time.Time{}, 70, "a", 0.3125, 0},
		{"a13", time.Time{}, 74, "c", 0.25, 0},
		{"a14", time.Time{}, 78, "a", 0.25, 0},
		{"a15", time.Time{}, 15, "b", 0.1875, 1},
		{"a16", time.Time{}, 18, "a", 0.125, 0},
		{"a17", time.Time{}, 22, "b", 0.125, 0},
		{"a18", time.Time{}, 27, "a", 0.0625, 0},
		{"a19", time.Time{}, 35, "b", 0.0625, 0},
		{"a20", time.Time{}, 44, "a", 0, 0},
		{"a21", time.Time{}, 55, "b", 1, 0},
		{"a22", time.Time{}, 63, "a", 0.6875, noLabel},
		{"a23", time.Time{}, 69, "b", 0.1, noLabel},
	}
	for i := range rows {
		rows[i].at = monHourA.Add(time.Duration(i) * 2 * time.Minute)
	}
	return rows
}

// hourBRows are in hour B, three minutes apart, every label true.
func hourBRows() []monRow {
	rows := make([]monRow, 16)
	for i := range rows {
		segment := "a"
		if i%2 == 1 {
			segment = "b"
		}
		score := float64(15-i) / 16
		if i >= 8 {
			score = float64(16-i) / 16 // 0.5 twice, at i = 7 and 8
		}
		rows[i] = monRow{fmt.Sprintf("b%02d", i), monHourB.Add(time.Duration(i) * 3 * time.Minute), 12.5 + 4*float64(i), segment, score, 1}
	}
	return rows
}

// ─── Expected values, computed independently of the server's algorithms ────────────────────────────────────────────

// want is an expected metric: a value, or undefined.
type want struct {
	value   float64
	defined bool
}

func rat(r *big.Rat) want {
	f, _ := r.Float64()
	return want{f, true}
}

func frac(a, b int64) want {
	if b == 0 {
		return want{}
	}
	return rat(big.NewRat(a, b))
}

func exactly(f float64) *big.Rat { return new(big.Rat).SetFloat64(f) }

type expectedBinary struct {
	confusion   sightline.Confusion
	performance map[string]want
}

// binaryExpectations computes every binary metric of the labelled rows at threshold 0.5: counts and ratios as
// rationals, roc_auc by counting positive-negative pairs (ties one half), average precision as the precision at
// each distinct score weighted by the recall gained there, and log loss with probabilities clipped to
// [ε, 1 − ε], ε the double epsilon.
func binaryExpectations(rows []monRow) expectedBinary {
	var labelled []monRow
	for _, r := range rows {
		if r.labelled() {
			labelled = append(labelled, r)
		}
	}
	var c sightline.Confusion
	var pos, neg []float64
	for _, r := range labelled {
		predicted := r.score >= 0.5
		switch {
		case r.label == 1 && predicted:
			c.TruePositives++
		case r.label == 1:
			c.FalseNegatives++
		case predicted:
			c.FalsePositives++
		default:
			c.TrueNegatives++
		}
		if r.label == 1 {
			pos = append(pos, r.score)
		} else {
			neg = append(neg, r.score)
		}
	}
	tp, fp, fn, tn := c.TruePositives, c.FalsePositives, c.FalseNegatives, c.TrueNegatives
	n := int64(len(labelled))
	perf := map[string]want{
		"accuracy":            frac(tp+tn, n),
		"precision":           frac(tp, tp+fp),
		"recall":              frac(tp, tp+fn),
		"f1":                  frac(2*tp, 2*tp+fp+fn),
		"specificity":         frac(tn, tn+fp),
		"false_positive_rate": frac(fp, fp+tn),
		"false_negative_rate": frac(fn, fn+tp),
	}

	// roc_auc: P(score of a random positive > score of a random negative), ties one half.
	if len(pos) > 0 && len(neg) > 0 {
		doubled := int64(0)
		for _, p := range pos {
			for _, q := range neg {
				switch {
				case p > q:
					doubled += 2
				case p == q:
					doubled++
				}
			}
		}
		perf["roc_auc"] = frac(doubled, 2*int64(len(pos))*int64(len(neg)))
	} else {
		perf["roc_auc"] = want{}
	}

	// average_precision: Σ over distinct scores t (descending) of (positives at t / P) · precision(score ≥ t).
	if len(pos) > 0 {
		distinct := map[float64]bool{}
		for _, r := range labelled {
			distinct[r.score] = true
		}
		ap := new(big.Rat)
		for t := range distinct {
			var at, tpAbove, above int64
			for _, r := range labelled {
				if r.score >= t {
					above++
					if r.label == 1 {
						tpAbove++
					}
				}
				if r.score == t && r.label == 1 {
					at++
				}
			}
			if at > 0 {
				ap.Add(ap, new(big.Rat).Mul(big.NewRat(at, int64(len(pos))), big.NewRat(tpAbove, above)))
			}
		}
		perf["average_precision"] = rat(ap)
	} else {
		perf["average_precision"] = want{}
	}

	// brier_score: the mean squared difference between the probability and the label, exactly.
	brier := new(big.Rat)
	for _, r := range labelled {
		d := new(big.Rat).Sub(exactly(r.score), big.NewRat(int64(r.label), 1))
		brier.Add(brier, d.Mul(d, d))
	}
	perf["brier_score"] = rat(brier.Quo(brier, big.NewRat(n, 1)))

	// log_loss is irrational: a plain mean of the clipped losses.
	eps := math.Nextafter(1, 2) - 1
	loss := 0.0
	for _, r := range labelled {
		p := math.Min(math.Max(r.score, eps), 1-eps)
		if r.label == 1 {
			loss -= math.Log(p)
		} else {
			loss -= math.Log(1 - p)
		}
	}
	perf["log_loss"] = want{loss / float64(n), true}
	return expectedBinary{confusion: c, performance: perf}
}

// empirical is the fraction of sorted values at or below x, as a rational.
func empirical(sorted []float64, x float64) *big.Rat {
	k := sort.Search(len(sorted), func(i int) bool { return sorted[i] > x })
	return big.NewRat(int64(k), int64(len(sorted)))
}

// ksAndWasserstein gives the two-sample KS statistic sup|F_u − F_v| and the Wasserstein-1 distance ∫|F_u − F_v|,
// both exact for these samples.
func ksAndWasserstein(u, v []float64) (ks, w1 want) {
	u, v = slices.Sorted(slices.Values(u)), slices.Sorted(slices.Values(v))
	points := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(u), v...))))
	sup, area := new(big.Rat), new(big.Rat)
	for i, x := range points {
		d := new(big.Rat).Sub(empirical(u, x), empirical(v, x))
		d.Abs(d)
		if d.Cmp(sup) > 0 {
			sup.Set(d)
		}
		if i+1 < len(points) {
			area.Add(area, d.Mul(d, new(big.Rat).Sub(exactly(points[i+1]), exactly(x))))
		}
	}
	return rat(sup), rat(area)
}

func amounts(rows []monRow) []float64 {
	var out []float64
	for _, r := range rows {
		if !math.IsNaN(r.amount) {
			out = append(out, r.amount)
		}
	}
	return out
}

func scores(rows []monRow) []float64 {
	out := make([]float64, len(rows))
	for i, r := range rows {
		out[i] = r.score
	}
	return out
}

// ─── Comparisons ──────────────────────────────────────────────────────────────────────────────────────────────────

const monTolerance = 1e-12

func checkMetric(t *testing.T, where string, got sightline.Metric, w want) {
	t.Helper()
	if !w.defined {
		if got.Defined || got.UndefinedReason == "" || got.Value != 0 {
			t.Errorf("%s: got %+v, want undefined with a reason", where, got)
		}
		return
	}
	if !got.Defined || got.UndefinedReason != "" {
		t.Errorf("%s: got %+v, want %.17g", where, got, w.value)
		return
	}
	if diff := math.Abs(got.Value - w.value); diff > monTolerance*math.Max(1, math.Abs(w.value)) {
		t.Errorf("%s: got %.17g, want %.17g (off by %.3g)", where, got.Value, w.value, diff)
	}
}

func checkBinary(t *testing.T, where string, b sightline.Bucket, rows []monRow) {
	t.Helper()
	exp := binaryExpectations(rows)
	if b.Confusion == nil || *b.Confusion != exp.confusion {
		t.Errorf("%s: confusion %+v, want %+v", where, b.Confusion, exp.confusion)
	}
	if len(b.Performance) != len(exp.performance) {
		t.Errorf("%s: performance has %v, want the %d binary metrics", where, slices.Sorted(maps.Keys(b.Performance)), len(exp.performance))
	}
	for name, w := range exp.performance {
		got, ok := b.Performance[name]
		if !ok {
			t.Errorf("%s: no %s", where, name)
			continue
		}
		checkMetric(t, where+" "+name, got, w)
	}
}

func checkCounts(t *testing.T, where string, got sightline.Counts, rows []monRow) {
	t.Helper()
	var labelled int64
	for _, r := range rows {
		if r.labelled() {
			labelled++
		}
	}
	n := int64(len(rows))
	if got.Records != n || got.Predictions != n || got.Labelled != labelled || got.UnusableLabels != 0 || got.ZeroLabels != 0 {
		t.Errorf("%s: counts %+v, want %d records and predictions, %d labelled", where, got, n, labelled)
	}
	checkMetric(t, where+" label_rate", got.LabelRate, frac(labelled, n))
}

var (
	numericStatistics     = []string{"jensen_shannon", "ks_p_value", "ks_statistic", "psi", "wasserstein"}
	categoricalStatistics = []string{"chi_square", "chi_square_p_value", "jensen_shannon", "psi"}
)

// checkDrift checks the drift rows' fields, sources, counts and statistic names, the exact KS statistic and
// Wasserstein distance of the numeric ones, and that every statistic is a number or says why not.
func checkDrift(t *testing.T, where string, drift []sightline.FieldDrift, rows []monRow) {
	t.Helper()
	var segments int64
	for _, r := range rows {
		if r.segment != "" {
			segments++
		}
	}
	type wantDrift struct {
		field           string
		source          sightline.DriftSource
		stats           []string
		current         int64
		baseline, check []float64
	}
	wants := []wantDrift{
		{"amount", sightline.DriftFeature, numericStatistics, int64(len(amounts(rows))), amounts(monTrain), amounts(rows)},
		{"segment", sightline.DriftFeature, categoricalStatistics, segments, nil, nil},
		{monScore, sightline.DriftPrediction, numericStatistics, int64(len(rows)), scores(monTrain), scores(rows)},
	}
	if len(drift) != len(wants) {
		t.Errorf("%s: %d drift rows, want %d: %+v", where, len(drift), len(wants), drift)
		return
	}
	for i, w := range wants {
		d := drift[i]
		at := where + " drift " + w.field
		if d.Field != w.field || d.Source != w.source || d.BaselineCount != int64(len(monTrain)) || d.CurrentCount != w.current {
			t.Errorf("%s: got %s/%s %d vs %d, want %s/%s %d vs %d", at, d.Field, d.Source, d.CurrentCount, d.BaselineCount, w.field, w.source, w.current, len(monTrain))
		}
		if got := slices.Sorted(maps.Keys(d.Statistics)); !slices.Equal(got, w.stats) {
			t.Errorf("%s: statistics %v, want %v", at, got, w.stats)
		}
		for name, m := range d.Statistics {
			if m.Defined == (m.UndefinedReason != "") || math.IsNaN(m.Value) {
				t.Errorf("%s %s: %+v is neither a number nor undefined with a reason", at, name, m)
			}
			if strings.HasSuffix(name, "p_value") && m.Defined && (m.Value < 0 || m.Value > 1) {
				t.Errorf("%s %s: %v is not a probability", at, name, m.Value)
			}
		}
		if w.check != nil {
			ks, w1 := ksAndWasserstein(w.baseline, w.check)
			checkMetric(t, at+" ks_statistic", d.Statistics["ks_statistic"], ks)
			checkMetric(t, at+" wasserstein", d.Statistics["wasserstein"], w1)
		}
	}
}

// checkQuality checks missing, out-of-range and unseen counts and rates against the baseline's range [10, 80] and
// categories {a, b}.
func checkQuality(t *testing.T, where string, quality []sightline.FieldQuality, rows []monRow) {
	t.Helper()
	n := int64(len(rows))
	var amountMissing, outOfRange, segmentMissing, unseen int64
	for _, r := range rows {
		switch {
		case math.IsNaN(r.amount):
			amountMissing++
		case r.amount < 10 || r.amount > 80:
			outOfRange++
		}
		switch r.segment {
		case "":
			segmentMissing++
		case "a", "b":
		default:
			unseen++
		}
	}
	if len(quality) != 2 || quality[0].Field != "amount" || quality[1].Field != "segment" {
		t.Errorf("%s: quality %+v, want amount then segment", where, quality)
		return
	}
	amount, segment := quality[0], quality[1]
	if amount.Count != n || amount.Missing != amountMissing || amount.OutOfRange != outOfRange || amount.Unseen != 0 {
		t.Errorf("%s amount: %+v, want %d records, %d missing, %d out of range", where, amount, n, amountMissing, outOfRange)
	}
	checkMetric(t, where+" amount missing_rate", amount.Rates["missing_rate"], frac(amountMissing, n))
	checkMetric(t, where+" amount out_of_range_rate", amount.Rates["out_of_range_rate"], frac(outOfRange, n-amountMissing))
	if segment.Count != n || segment.Missing != segmentMissing || segment.Unseen != unseen || segment.OutOfRange != 0 {
		t.Errorf("%s segment: %+v, want %d records, %d missing, %d unseen", where, segment, n, segmentMissing, unseen)
	}
	checkMetric(t, where+" segment missing_rate", segment.Rates["missing_rate"], frac(segmentMissing, n))
	checkMetric(t, where+" segment unseen_rate", segment.Rates["unseen_rate"], frac(unseen, n-segmentMissing))
}

func checkBucket(t *testing.T, where string, b sightline.Bucket, start time.Time, rows []monRow, rejected map[string]int64, overwritten int64) {
	t.Helper()
	if !b.Start.Equal(start) || b.Start.Location() != time.UTC {
		t.Errorf("%s: starts at %v, want %v UTC", where, b.Start, start)
	}
	if b.Computed.IsZero() {
		t.Errorf("%s: no compute time", where)
	}
	checkCounts(t, where, b.Counts, rows)
	checkBinary(t, where, b, rows)
	checkDrift(t, where, b.Drift, rows)
	checkQuality(t, where, b.Quality, rows)
	if !maps.Equal(b.RejectedRows, rejected) || b.OverwrittenRecords != overwritten {
		t.Errorf("%s: rejected %v and %d overwritten, want %v and %d", where, b.RejectedRows, b.OverwrittenRecords, rejected, overwritten)
	}
}

// ─── Setup ────────────────────────────────────────────────────────────────────────────────────────────────────────

// monEnv is a server and a worker of the monitoring tests' own.
type monEnv struct {
	server *livetest.Server
	iso    livetest.Isolation
	opts   livetest.ServerOptions
}

// monitoringEnv starts a server and a worker, the worker's per-model schedulers running every second, so scheduled
// runs race the test's refreshes as they would in production. The server has a fixed port, so it can be restarted.
func monitoringEnv(t *testing.T) monEnv {
	t.Helper()
	iso := livetest.NewIsolation()
	port, err := livetest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	interval := map[string]string{"SIGHTLINE_MONITORING_INTERVAL_MS": "1000"}
	opts := livetest.ServerOptions{Port: port, Env: map[string]string{"SIGHTLINE_SHUTDOWN_GRACE_MS": "300"}}
	maps.Copy(opts.Env, interval)
	server := livetest.ServerFor(t, iso, opts)
	livetest.WorkerFor(t, iso, livetest.WorkerOptions{Env: interval})
	return monEnv{server: server, iso: iso, opts: opts}
}

func monBatch(t *testing.T, rows []monRow, withTimes, withFeatures, withScores, withLabels bool) *sightlinev1.RecordBatch {
	t.Helper()
	ids := make([]string, len(rows))
	times := make([]time.Time, len(rows))
	amount, amountNull := make([]float64, len(rows)), make([]bool, len(rows))
	segment, segmentNull := make([]string, len(rows)), make([]bool, len(rows))
	score := make([]float64, len(rows))
	label, labelNull := make([]bool, len(rows)), make([]bool, len(rows))
	for i, r := range rows {
		ids[i], times[i], score[i] = r.id, r.at, r.score
		amount[i], amountNull[i] = r.amount, math.IsNaN(r.amount)
		if amountNull[i] {
			amount[i] = 0
		}
		segment[i], segmentNull[i] = r.segment, r.segment == ""
		label[i], labelNull[i] = r.label == 1, !r.labelled()
	}
	b := sightline.NewBatch(ids...)
	if withTimes {
		b.EventTimes(times...)
	}
	if withFeatures {
		b.Columns(sightline.Doubles("amount", amount, amountNull), sightline.Strings("segment", segment, segmentNull))
	}
	if withLabels {
		b.Columns(sightline.Bools("churned", label, labelNull))
	}
	if withScores {
		b.Predictions(sightline.Doubles(monScore, score, nil))
	}
	batch, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return batch
}

func onlyLabelled(rows []monRow) []monRow {
	var out []monRow
	for _, r := range rows {
		if r.labelled() {
			out = append(out, r)
		}
	}
	return out
}

// setUpChurn creates the collection, the baseline split, the model and the data; c must default to the project.
func setUpChurn(t *testing.T, ctx context.Context, c *sightline.Client) {
	t.Helper()
	project := c.Project()
	schema := &sightlinev1.Schema{RecordIdColumn: "id", TimestampColumn: "ts", Fields: []*sightlinev1.Field{
		field("amount", feature, sightlinev1.FieldType_FIELD_TYPE_DOUBLE, true),
		field("segment", feature, sightlinev1.FieldType_FIELD_TYPE_CATEGORICAL, true, "a", "b", "c"),
		field("churned", label, sightlinev1.FieldType_FIELD_TYPE_BOOL, true),
	}}
	if _, err := c.Catalog.CreateDataCollection(ctx, &sightlinev1.CreateDataCollectionRequest{Collection: &sightlinev1.DataCollection{Project: project, Name: monCollection, Schema: schema}}); err != nil {
		t.Fatalf("CreateDataCollection: %v", err)
	}
	if _, err := c.Catalog.CreateSplit(ctx, &sightlinev1.CreateSplitRequest{Split: &sightlinev1.Split{Project: project, Collection: monCollection, Name: "train", Type: sightlinev1.SplitType_SPLIT_TYPE_TRAIN, Baseline: true}}); err != nil {
		t.Fatalf("CreateSplit: %v", err)
	}
	if _, err := c.Catalog.CreateModel(ctx, &sightlinev1.CreateModelRequest{Model: &sightlinev1.Model{
		Project: project, Collection: monCollection, Name: monModel,
		ScoreType:         sightlinev1.ScoreType_SCORE_TYPE_PROBITS,
		PredictionFields:  []*sightlinev1.PredictionField{{Name: monScore, Type: sightlinev1.FieldType_FIELD_TYPE_DOUBLE}},
		LabelField:        "churned",
		DecisionThreshold: proto.Float64(0.5),
		Mode:              sightlinev1.ModelMode_MODEL_MODE_DATA_ONLY,
	}}); err != nil {
		t.Fatalf("CreateModel: %v", err)
	}

	train := &sightlinev1.Target{Project: project, Collection: monCollection, Destination: &sightlinev1.Target_Split{Split: "train"}, Model: monModel}
	if s, err := c.Upload(ctx, train, []*sightlinev1.RecordBatch{monBatch(t, monTrain, false, true, true, true)}); err != nil || s.GetRowsAccepted() != int64(len(monTrain)) {
		t.Fatalf("Upload train: %v, %v", s, err)
	}

	// Production: features and scores with event times, one row refused for an unknown category in hour A.
	rows := append(hourARows(), hourBRows()...)
	bad := monRow{"a-bad", monHourA.Add(30 * time.Minute), 50, "z", 0.5, noLabel}
	production := sightline.ProductionTarget(project, monCollection, monModel)
	s, err := c.Upload(ctx, production, []*sightlinev1.RecordBatch{monBatch(t, append(slices.Clone(rows), bad), true, true, true, false)})
	if err != nil || s.GetRowsAccepted() != 40 || s.GetRowsRejected() != 1 {
		t.Fatalf("Upload production: %v, %v", s, err)
	}

	// Labels arrive later, by record ID alone; a09's is sent wrong, then corrected (an overwrite in hour A).
	late := onlyLabelled(rows)
	for i := range late {
		if late[i].id == "a09" {
			late[i].label = 0
		}
	}
	labels := sightline.ProductionTarget(project, monCollection, "")
	if s, err := c.Upload(ctx, labels, []*sightlinev1.RecordBatch{monBatch(t, late, false, false, false, true)}); err != nil || s.GetRowsAccepted() != int64(len(late)) {
		t.Fatalf("Upload labels: %v, %v", s, err)
	}
	fix := monBatch(t, []monRow{{id: "a09", label: 1}}, false, false, false, true)
	if s, err := c.Put(ctx, labels, fix); err != nil || s.GetRowsAccepted() != 1 {
		t.Fatalf("Put a09's label: %v, %v", s, err)
	}
}

// ─── Tests ────────────────────────────────────────────────────────────────────────────────────────────────────────

// The helpers' expectations agree with the values worked out by hand, so the live comparisons below test the server
// and not only the helper.
func TestMonitoringExpectationsByHand(t *testing.T) {
	a := binaryExpectations(hourARows())
	if a.confusion != (sightline.Confusion{TrueNegatives: 9, FalsePositives: 4, FalseNegatives: 3, TruePositives: 6}) {
		t.Fatalf("hour A confusion %+v", a.confusion)
	}
	byHand := map[string]want{
		"accuracy": frac(15, 22), "precision": frac(3, 5), "recall": frac(2, 3), "f1": frac(12, 19),
		"specificity": frac(9, 13), "false_positive_rate": frac(4, 13), "false_negative_rate": frac(1, 3),
		// Per positive, the negatives it outscores (ties ½): 12 + 11.5 + 11 + 11 + 10.5 + 9.5 + 9 + 8.5 + 5 = 88,
		// over 9 positives × 13 negatives.
		"roc_auc": frac(88, 117),
	}
	for name, w := range byHand {
		if a.performance[name] != w {
			t.Errorf("hour A %s: helper %v, by hand %v", name, a.performance[name], w)
		}
	}
	b := binaryExpectations(hourBRows())
	if b.confusion != (sightline.Confusion{FalseNegatives: 7, TruePositives: 9}) {
		t.Fatalf("hour B confusion %+v", b.confusion)
	}
	byHand = map[string]want{
		"accuracy": frac(9, 16), "precision": frac(1, 1), "recall": frac(9, 16), "f1": frac(18, 25),
		"specificity": {}, "false_positive_rate": {}, "false_negative_rate": frac(7, 16),
		"roc_auc": {}, "average_precision": frac(1, 1),
	}
	for name, w := range byHand {
		if b.performance[name] != w {
			t.Errorf("hour B %s: helper %v, by hand %v", name, b.performance[name], w)
		}
	}
	// Identical samples: no drift. One value moved by 1 over 8: KS 1/8, Wasserstein 1/8.
	ks, w1 := ksAndWasserstein([]float64{1, 2, 3, 4}, []float64{4, 3, 2, 1})
	if ks != frac(0, 1) || w1 != frac(0, 1) {
		t.Errorf("identical samples: ks %v, wasserstein %v", ks, w1)
	}
	ks, w1 = ksAndWasserstein([]float64{0, 1, 2, 3, 4, 5, 6, 7}, []float64{0, 1, 2, 3, 4, 5, 6, 8})
	if ks != frac(1, 8) || w1 != frac(1, 8) {
		t.Errorf("one value moved: ks %v, wasserstein %v", ks, w1)
	}
}

func TestMonitoring(t *testing.T) {
	env := monitoringEnv(t)
	addr := env.server.Addr
	ctx := ctxFor(t, 3*time.Minute)
	started := time.Now()
	admin := dial(t, addr, sightline.WithAPIKey(env.iso.AdminKey))
	project, keyed := projectWithKey(t, ctx, admin, addr)
	// The key of projectWithKey's client, now with the project as its default.
	created, err := admin.Admin.CreateApiKey(ctx, &sightlinev1.CreateApiKeyRequest{Project: project, DisplayName: "monitoring"})
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, addr, sightline.WithAPIKey(created.GetSecret()), sightline.WithProject(project))
	setUpChurn(t, ctx, c)

	hourA, hourB := hourARows(), hourBRows()
	rejectedA := map[string]int64{"UNKNOWN_CATEGORY": 1}

	var jobID string
	t.Run("RefreshAndWait", func(t *testing.T) {
		jobID, err = c.RefreshMonitoring(ctx, monCollection, monModel)
		if err != nil {
			t.Fatalf("RefreshMonitoring: %v", err)
		}
		if !strings.HasPrefix(jobID, "monitoring:") {
			t.Errorf("job ID %q", jobID)
		}
		status, err := c.WaitForJob(ctx, jobID)
		if err != nil {
			t.Fatalf("WaitForJob: %v (last status %+v)", err, status)
		}
		if status.JobID != jobID || status.State != sightline.JobCompleted || status.Progress != 100 || status.Result == nil || status.Attempts < 1 {
			t.Fatalf("WaitForJob: %+v", status)
		}
		t.Logf("refresh %s: %+v, result %+v", jobID, status, *status.Result)
	})
	if t.Failed() {
		t.FailNow()
	}

	t.Run("WatchJob", func(t *testing.T) {
		// A finished job reports once, and the watch ends.
		var seen []sightline.JobStatus
		for status, err := range c.WatchJob(ctx, jobID) {
			if err != nil {
				t.Fatalf("WatchJob: %v", err)
			}
			seen = append(seen, status)
		}
		if len(seen) != 1 || seen[0].State != sightline.JobCompleted || seen[0].Progress != 100 || seen[0].Result == nil || seen[0].JobID != jobID {
			t.Fatalf("WatchJob of a completed job: %+v", seen)
		}
		// A running job: every status until the last is unfinished, the last is COMPLETED, and progress never goes
		// back. Stopping the loop early is fine too.
		id, err := c.RefreshMonitoring(ctx, monCollection, monModel, sightline.WithFullRefresh())
		if err != nil {
			t.Fatal(err)
		}
		for range c.WatchJob(ctx, id) {
			break
		}
		seen = nil
		for status, err := range c.WatchJob(ctx, id) {
			if err != nil {
				t.Fatalf("WatchJob: %v", err)
			}
			seen = append(seen, status)
		}
		for i, s := range seen {
			if s.JobID != id || (i < len(seen)-1) == s.State.Done() {
				t.Fatalf("WatchJob statuses: %+v", seen)
			}
			// Progress only goes back when the job is put back (its model was busy) or retried.
			if i > 0 {
				prev := seen[i-1]
				if s.Progress < prev.Progress && s.Attempts == prev.Attempts && s.State != sightline.JobDelayed && prev.State != sightline.JobDelayed {
					t.Fatalf("WatchJob progress went back: %+v", seen)
				}
			}
		}
		last := seen[len(seen)-1]
		if last.State != sightline.JobCompleted || last.Progress != 100 || last.Result == nil {
			t.Fatalf("WatchJob ended with %+v", last)
		}
		// A full refresh recomputes both hours, both days and the split, whatever the scheduled runs did.
		if r := *last.Result; !r.Full || r.Hours != 2 || r.Days != 2 || r.Splits != 1 || r.RecordsRead < 48 {
			t.Errorf("full refresh result %+v", r)
		}
		// Buckets written in the last three seconds (a production hour's one-second mark lease, then the server's
		// two-second settle margin) are recomputed once more by the next run; after that, with nothing changed, a
		// plain refresh recomputes nothing.
		time.Sleep(3100 * time.Millisecond)
		if id, err = c.RefreshMonitoring(ctx, monCollection, monModel); err != nil {
			t.Fatal(err)
		}
		if _, err = c.WaitForJob(ctx, id); err != nil {
			t.Fatal(err)
		}
		id, err = c.RefreshMonitoring(ctx, monCollection, monModel)
		if err != nil {
			t.Fatal(err)
		}
		status, err := c.WaitForJob(ctx, id)
		if err != nil || status.Result == nil || *status.Result != (sightline.RunResult{}) {
			t.Errorf("refresh with nothing changed: %+v, %v", status, err)
		}
		t.Logf("full refresh %s went through %d statuses", id, len(seen))
	})

	t.Run("HourBuckets", func(t *testing.T) {
		m, err := c.Monitoring(ctx, monCollection, monModel, sightline.MonitoringQuery{})
		if err != nil {
			t.Fatalf("Monitoring: %v", err)
		}
		if len(m.Buckets) != 2 {
			t.Fatalf("%d hour buckets: %+v", len(m.Buckets), m.Buckets)
		}
		checkBucket(t, "hour A", m.Buckets[0], monHourA, hourA, rejectedA, 1)
		checkBucket(t, "hour B", m.Buckets[1], monHourB, hourB, map[string]int64{}, 0)
		if m.LastRun.Before(started.Add(-time.Second)) || m.LastRun.After(time.Now().Add(time.Second)) {
			t.Errorf("last run %v, want during the test (from %v)", m.LastRun, started)
		}
		if len(m.Splits) != 0 {
			t.Errorf("splits without asking: %v", m.Splits)
		}
		auc := m.Buckets[1].Performance["roc_auc"]
		t.Logf("hour B roc_auc: %v; hour A roc_auc: %v", auc, m.Buckets[0].Performance["roc_auc"])
	})

	t.Run("DayBuckets", func(t *testing.T) {
		m, err := c.Monitoring(ctx, monCollection, monModel, sightline.MonitoringQuery{Granularity: sightline.Day, Splits: []string{"*"}})
		if err != nil {
			t.Fatalf("Monitoring: %v", err)
		}
		if len(m.Buckets) != 2 {
			t.Fatalf("%d day buckets, want one per day: %+v", len(m.Buckets), m.Buckets)
		}
		checkBucket(t, "day 1", m.Buckets[0], monDay1, hourA, rejectedA, 1)
		checkBucket(t, "day 2", m.Buckets[1], monDay2, hourB, map[string]int64{}, 0)
		// A day starting before Start is left out, even if some of its hours are after it.
		m, err = c.Monitoring(ctx, monCollection, monModel, sightline.MonitoringQuery{Granularity: sightline.Day, Start: monDay1.Add(time.Hour)})
		if err != nil || len(m.Buckets) != 1 || !m.Buckets[0].Start.Equal(monDay2) {
			t.Fatalf("days from 01:00 on day 1: %+v, %v", m, err)
		}
	})

	t.Run("Splits", func(t *testing.T) {
		m, err := c.Monitoring(ctx, monCollection, monModel, sightline.MonitoringQuery{Splits: []string{"train"}})
		if err != nil {
			t.Fatalf("Monitoring: %v", err)
		}
		train, ok := m.Splits["train"]
		if !ok || len(m.Splits) != 1 {
			t.Fatalf("splits %v", m.Splits)
		}
		if !train.Start.IsZero() || train.Computed.IsZero() {
			t.Errorf("split start %v, computed %v", train.Start, train.Computed)
		}
		checkCounts(t, "train", train.Counts, monTrain)
		checkBinary(t, "train", train, monTrain)
		// The baseline against itself: no drift at all.
		checkDrift(t, "train", train.Drift, monTrain)
		checkQuality(t, "train", train.Quality, monTrain)
		for _, d := range train.Drift {
			if psi, js := d.Statistics["psi"], d.Statistics["jensen_shannon"]; !psi.Defined || math.Abs(psi.Value) > monTolerance || !js.Defined || js.Value > 1e-6 {
				t.Errorf("train drift of %s against itself: %v", d.Field, d.Statistics)
			}
		}
	})

	t.Run("TimeRange", func(t *testing.T) {
		from, err := c.Monitoring(ctx, monCollection, monModel, sightline.MonitoringQuery{Start: monHourB})
		if err != nil || len(from.Buckets) != 1 || !from.Buckets[0].Start.Equal(monHourB) {
			t.Fatalf("from hour B: %+v, %v", from, err)
		}
		until, err := c.Monitoring(ctx, monCollection, monModel, sightline.MonitoringQuery{End: monHourB})
		if err != nil || len(until.Buckets) != 1 || !until.Buckets[0].Start.Equal(monHourA) {
			t.Fatalf("until hour B: %+v, %v", until, err)
		}
		// Any time zone: instants are what count.
		local := time.FixedZone("UTC+5:30", 5*3600+1800)
		both, err := c.Monitoring(ctx, monCollection, monModel, sightline.MonitoringQuery{Start: monHourA.In(local), End: monHourB.Add(time.Hour).In(local)})
		if err != nil || len(both.Buckets) != 2 {
			t.Fatalf("both hours: %+v, %v", both, err)
		}
		none, err := c.Monitoring(ctx, monCollection, monModel, sightline.MonitoringQuery{Start: monDay1, End: monHourA})
		if err != nil || len(none.Buckets) != 0 {
			t.Fatalf("before hour A: %+v, %v", none, err)
		}
		_, err = c.Monitoring(ctx, monCollection, monModel, sightline.MonitoringQuery{Start: monHourB, End: monHourA})
		e := wantError(t, "End before Start", err, codes.InvalidArgument, sightline.ReasonInvalidArgument)
		hasViolation(t, "End before Start", e, "end_time")
	})

	t.Run("Filters", func(t *testing.T) {
		m, err := c.Monitoring(ctx, monCollection, monModel, sightline.MonitoringQuery{Metrics: []string{"roc_auc", "accuracy"}, Fields: []string{"amount"}, Start: monHourA, End: monHourB})
		if err != nil || len(m.Buckets) != 1 {
			t.Fatalf("Monitoring: %+v, %v", m, err)
		}
		b := m.Buckets[0]
		if got := slices.Sorted(maps.Keys(b.Performance)); !slices.Equal(got, []string{"accuracy", "roc_auc"}) {
			t.Errorf("metrics %v", got)
		}
		checkMetric(t, "filtered accuracy", b.Performance["accuracy"], frac(15, 22))
		checkMetric(t, "filtered roc_auc", b.Performance["roc_auc"], frac(88, 117))
		if len(b.Drift) != 1 || b.Drift[0].Field != "amount" || len(b.Quality) != 1 || b.Quality[0].Field != "amount" {
			t.Errorf("fields: drift %+v, quality %+v", b.Drift, b.Quality)
		}
		// The score by its field name: drift only, since quality covers features.
		m, err = c.Monitoring(ctx, monCollection, monModel, sightline.MonitoringQuery{Fields: []string{monScore}})
		if err != nil || len(m.Buckets) != 2 {
			t.Fatalf("Monitoring: %+v, %v", m, err)
		}
		if d := m.Buckets[1].Drift; len(d) != 1 || d[0].Field != monScore || d[0].Source != sightline.DriftPrediction || len(m.Buckets[1].Quality) != 0 {
			t.Errorf("score field: drift %+v, quality %+v", d, m.Buckets[1].Quality)
		}

		_, err = c.Monitoring(ctx, monCollection, monModel, sightline.MonitoringQuery{Metrics: []string{"mae"}, Fields: []string{"churned"}, Splits: []string{"nope"}})
		e := wantError(t, "unknown metric, field and split", err, codes.InvalidArgument, sightline.ReasonInvalidArgument)
		for _, f := range []string{"metrics[0]", "fields[0]", "splits[0]"} {
			hasViolation(t, "unknown metric, field and split", e, f)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		_, err := c.Monitoring(ctx, monCollection, "nope", sightline.MonitoringQuery{})
		e := wantError(t, "Monitoring of an unknown model", err, codes.NotFound, sightline.ReasonNotFound)
		if e.ResourceType != "model" || e.ResourceName != "nope" {
			t.Errorf("resource %q %q", e.ResourceType, e.ResourceName)
		}
		_, err = c.Monitoring(ctx, "nope", monModel, sightline.MonitoringQuery{})
		wantError(t, "Monitoring of an unknown collection", err, codes.NotFound, sightline.ReasonNotFound)
		id, err := c.RefreshMonitoring(ctx, monCollection, "nope")
		e = wantError(t, "RefreshMonitoring of an unknown model", err, codes.NotFound, sightline.ReasonNotFound)
		if id != "" || e.ResourceType != "model" {
			t.Errorf("RefreshMonitoring of an unknown model: %q, %+v", id, e)
		}

		for _, bad := range []string{"bogus", "", "monitoring:", ":1", "other-queue:1"} {
			var errs []error
			for status, err := range c.WatchJob(ctx, bad) {
				if err == nil {
					t.Fatalf("WatchJob(%q) yielded %+v", bad, status)
				}
				errs = append(errs, err)
			}
			if len(errs) != 1 {
				t.Fatalf("WatchJob(%q) yielded %d errors", bad, len(errs))
			}
			e := wantError(t, fmt.Sprintf("WatchJob(%q)", bad), errs[0], codes.InvalidArgument, sightline.ReasonInvalidArgument)
			hasViolation(t, "WatchJob", e, "job_id")
			_, err := c.WaitForJob(ctx, bad)
			wantError(t, fmt.Sprintf("WaitForJob(%q)", bad), err, codes.InvalidArgument, sightline.ReasonInvalidArgument)
		}
		_, err = c.WaitForJob(ctx, "monitoring:999999999")
		wantError(t, "WaitForJob of an unknown job", err, codes.NotFound, sightline.ReasonNotFound)

		// A job is only visible to its own project's keys, and to others it does not exist (no hint that the ID is
		// taken); the admin key sees every job.
		_, other := projectWithKey(t, ctx, admin, addr)
		_, err = other.WaitForJob(ctx, jobID)
		wantError(t, "WaitForJob of another project's job", err, codes.NotFound, sightline.ReasonNotFound)
		_, err = other.Monitoring(ctx, monCollection, monModel, sightline.MonitoringQuery{Project: project})
		wantError(t, "Monitoring of another project", err, codes.PermissionDenied, sightline.ReasonPermissionDenied)
		if status, err := admin.WaitForJob(ctx, jobID); err != nil || status.State != sightline.JobCompleted {
			t.Errorf("WaitForJob with the admin key: %+v, %v", status, err)
		}

		// A client without a default project takes one per call.
		id, err = keyed.RefreshMonitoring(ctx, monCollection, monModel, sightline.WithRefreshProject(project))
		if err != nil {
			t.Fatalf("RefreshMonitoring with WithRefreshProject: %v", err)
		}
		if _, err := keyed.WaitForJob(ctx, id); err != nil {
			t.Fatalf("WaitForJob: %v", err)
		}
		m, err := keyed.Monitoring(ctx, monCollection, monModel, sightline.MonitoringQuery{Project: project, Granularity: sightline.Day})
		if err != nil || len(m.Buckets) != 2 {
			t.Fatalf("Monitoring with MonitoringQuery.Project: %+v, %v", m, err)
		}

		// Contexts end the waits as they do every other call.
		short, cancel := context.WithCancel(ctx)
		cancel()
		_, err = c.WaitForJob(short, jobID)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("WaitForJob with a cancelled context: %v", err)
		}
	})

	// Last, since it restarts the server: WaitForJob watches again while the server is away, and finishes once
	// it is back.
	t.Run("WaitForJobAcrossRestart", func(t *testing.T) {
		id, err := c.RefreshMonitoring(ctx, monCollection, monModel)
		if err != nil {
			t.Fatal(err)
		}
		if err := env.server.Stop(20 * time.Second); err != nil {
			t.Fatalf("stopping the server: %v", err)
		}
		type outcome struct {
			status sightline.JobStatus
			err    error
			at     time.Time
		}
		done := make(chan outcome, 1)
		go func() {
			status, err := c.WaitForJob(ctx, id)
			done <- outcome{status, err, time.Now()}
		}()
		time.Sleep(700 * time.Millisecond)
		restarted := time.Now()
		server, err := livetest.StartServer(livetest.RequireEnv(t), env.iso, env.opts)
		if err != nil {
			t.Fatalf("restarting the server: %v", err)
		}
		t.Cleanup(func() {
			_ = server.Stop(20 * time.Second)
			if t.Failed() {
				t.Logf("restarted server output:\n%s", server.Output())
			}
		})
		got := <-done
		if got.err != nil || got.status.State != sightline.JobCompleted || got.status.Progress != 100 {
			t.Fatalf("WaitForJob across a restart: %+v, %v", got.status, got.err)
		}
		if got.at.Before(restarted) {
			t.Fatalf("WaitForJob returned at %v, before the server was back at %v", got.at, restarted)
		}
		t.Logf("WaitForJob returned %v after the restart began", got.at.Sub(restarted).Round(time.Millisecond))
	})
}

// What the client checks or builds itself, without a server.
func TestMonitoringClientSide(t *testing.T) {
	ctx := context.Background()
	c := dial(t, "127.0.0.1:1")
	if _, err := c.RefreshMonitoring(ctx, "coll", "model"); err == nil || !strings.Contains(err.Error(), "WithProject") {
		t.Errorf("RefreshMonitoring without a project: %v", err)
	} else if _, ok := sightline.AsError(err); ok {
		t.Errorf("RefreshMonitoring without a project sent a call: %v", err)
	}
	if _, err := c.Monitoring(ctx, "coll", "model", sightline.MonitoringQuery{}); err == nil || !strings.Contains(err.Error(), "WithProject") {
		t.Errorf("Monitoring without a project: %v", err)
	}
	p := dial(t, "127.0.0.1:1", sightline.WithProject("acme"))
	if p.Project() != "acme" {
		t.Errorf("Project() = %q", p.Project())
	}
	if _, err := p.Monitoring(ctx, "coll", "model", sightline.MonitoringQuery{Granularity: sightline.Granularity(7)}); err == nil || !strings.Contains(err.Error(), "Granularity(7)") {
		t.Errorf("Monitoring with an unknown granularity: %v", err)
	}

	failed := &sightline.JobFailedError{Status: sightline.JobStatus{JobID: "monitoring:7", State: sightline.JobFailed, Message: "lost the model's lease", Attempts: 5}}
	var err error = fmt.Errorf("refreshing: %w", failed)
	var as *sightline.JobFailedError
	if !errors.Is(err, sightline.ErrJobFailed) || !errors.As(err, &as) || as.Status.Message != "lost the model's lease" {
		t.Errorf("JobFailedError does not unwrap: %v", err)
	}
	if got, want := failed.Error(), "sightline: job monitoring:7 failed after 5 attempt(s): lost the model's lease"; got != want {
		t.Errorf("JobFailedError: %q, want %q", got, want)
	}
	if _, ok := sightline.AsError(err); ok {
		t.Errorf("a failed job is not a failed call")
	}

	for state, name := range map[sightline.JobState]string{sightline.JobWaiting: "WAITING", sightline.JobActive: "ACTIVE", sightline.JobCompleted: "COMPLETED", sightline.JobFailed: "FAILED", sightline.JobDelayed: "DELAYED"} {
		if state.String() != name || state.Done() != (state == sightline.JobCompleted || state == sightline.JobFailed) {
			t.Errorf("%d: %s, done %v", state, state, state.Done())
		}
		if int(state) != int(sightlinev1.JobState_value["JOB_STATE_"+name]) {
			t.Errorf("%s is %d, the enum says %d", name, state, sightlinev1.JobState_value["JOB_STATE_"+name])
		}
	}
	if v, ok := (sightline.Metric{Value: 0.25, Defined: true}).Get(); !ok || v != 0.25 {
		t.Errorf("Metric.Get: %v %v", v, ok)
	}
	if s := (sightline.Metric{UndefinedReason: "every label is positive"}).String(); s != "undefined (every label is positive)" {
		t.Errorf("Metric.String: %q", s)
	}
}

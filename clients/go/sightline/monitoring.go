package sightline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	sightlinev1 "sightline/clients/go/gen/sightline/v1"
)

// ─── Jobs ─────────────────────────────────────────────────────────────────────────────────────────────────────────

// JobState is where a server job is in its life. A job ends COMPLETED or FAILED; DELAYED means it waits to run again
// (its model's previous run is still going, or it is retrying after an error).
type JobState int

// The values follow sightline.v1.JobState.
const (
	JobStateUnknown JobState = iota
	JobWaiting
	JobActive
	JobCompleted
	JobFailed
	JobDelayed
)

func (s JobState) String() string {
	switch s {
	case JobWaiting:
		return "WAITING"
	case JobActive:
		return "ACTIVE"
	case JobCompleted:
		return "COMPLETED"
	case JobFailed:
		return "FAILED"
	case JobDelayed:
		return "DELAYED"
	case JobStateUnknown:
		return "UNKNOWN"
	}
	return "JobState(" + strconv.Itoa(int(s)) + ")"
}

// Done reports whether the job has ended, COMPLETED or FAILED.
func (s JobState) Done() bool {
	return s == JobCompleted || s == JobFailed
}

// JobStatus is one report on a job, as WatchJob sends it.
type JobStatus struct {
	JobID string
	State JobState
	// Progress goes from 0 to 100; it is 100 once the job completed.
	Progress float64
	// Message says what the job is doing, or why it failed.
	Message string
	// Attempts made so far, the current one included.
	Attempts int
	// Result is what a completed monitoring run computed; nil before it completed, and for other jobs.
	Result *RunResult
	// ComputeResult is what a completed ComputePredictions or ComputeInfluences job wrote; nil before it completed,
	// and for other jobs.
	ComputeResult *ComputeResult
}

// RunResult is what one monitoring run recomputed.
type RunResult struct {
	// Hour and day buckets, and splits, recomputed.
	Hours, Days, Splits int64
	// Records read to do it.
	RecordsRead int64
	// Full is true when every bucket was recomputed: the first run, a changed model, schema or baseline, or a
	// refresh asked with WithFullRefresh.
	Full bool
}

// ErrJobFailed matches, through errors.Is, the error WaitForJob returns for a job that ended FAILED.
var ErrJobFailed = errors.New("sightline: job failed")

// JobFailedError is WaitForJob's error for a job that ended FAILED; Status.Message says why. It is not an *Error:
// the call succeeded, the job did not.
type JobFailedError struct {
	Status JobStatus
}

func (e *JobFailedError) Error() string {
	msg := e.Status.Message
	if msg == "" {
		msg = "no reason given"
	}
	return fmt.Sprintf("sightline: job %s failed after %d attempt(s): %s", e.Status.JobID, e.Status.Attempts, msg)
}

// Is makes errors.Is(err, ErrJobFailed) true.
func (e *JobFailedError) Is(target error) bool {
	return target == ErrJobFailed
}

// RefreshOption adjusts RefreshMonitoring.
type RefreshOption func(*refreshOptions)

type refreshOptions struct {
	full    bool
	project string
}

// WithFullRefresh recomputes every bucket, not only those whose data changed since the last run.
func WithFullRefresh() RefreshOption {
	return func(o *refreshOptions) { o.full = true }
}

// WithRefreshProject names the project for this call, instead of the client's WithProject default.
func WithRefreshProject(project string) RefreshOption {
	return func(o *refreshOptions) { o.project = project }
}

// projectFor picks the call's project, or says how to give one. The error is not an *Error: nothing was sent.
func (c *Client) projectFor(call, explicit, how string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	if c.project != "" {
		return c.project, nil
	}
	return "", fmt.Errorf("sightline: %s needs a project: Dial with WithProject, or pass %s", call, how)
}

// RefreshMonitoring asks for a monitoring run of one model now, instead of waiting for its scheduled run, and
// returns the job's ID for WatchJob or WaitForJob. The run recomputes the buckets whose data changed since the
// last run (every bucket with WithFullRefresh). The project is the client's (WithProject) unless
// WithRefreshProject names another. An unknown model or collection is NOT_FOUND.
func (c *Client) RefreshMonitoring(ctx context.Context, collection, model string, opts ...RefreshOption) (jobID string, err error) {
	var o refreshOptions
	for _, opt := range opts {
		opt(&o)
	}
	project, err := c.projectFor("RefreshMonitoring", o.project, "WithRefreshProject")
	if err != nil {
		return "", err
	}
	resp, err := c.MonitoringService.RefreshMonitoring(ctx, &sightlinev1.RefreshMonitoringRequest{
		Project: project, Collection: collection, Model: model, Full: o.full,
	})
	if err != nil {
		return "", err
	}
	return resp.GetJobId(), nil
}

func jobStatusFrom(m *sightlinev1.WatchJobResponse) JobStatus {
	s := JobStatus{
		JobID:    m.GetJobId(),
		State:    JobState(m.GetState()),
		Progress: m.GetProgress(),
		Message:  m.GetMessage(),
		Attempts: int(m.GetAttempts()),
	}
	if r := m.GetResult(); r != nil {
		s.Result = &RunResult{Hours: r.GetHours(), Days: r.GetDays(), Splits: r.GetSplits(), RecordsRead: r.GetRecordsRead(), Full: r.GetFull()}
	}
	if r := m.GetComputeResult(); r != nil {
		s.ComputeResult = computeResultFrom(r)
	}
	return s
}

// errWatchCut is yielded when the server ends a watch cleanly before the job ended, as it does when it shuts down.
func errWatchCut(jobID string) *Error {
	return &Error{Code: codes.Unavailable, Message: "the watch of job " + jobID + " ended before the job did"}
}

// WatchJob follows a job (a monitoring refresh, or a ComputePredictions or ComputeInfluences job): it yields the
// job's status at once, then again whenever its state, progress, message or
// attempts change, and stops after the status that says COMPLETED or FAILED. The loop may stop early; the call is
// then cancelled. A failure is yielded once, as the last item: INVALID_ARGUMENT for a malformed job ID, NOT_FOUND
// for a job the server does not hold (finished jobs are kept for a day), PERMISSION_DENIED for another project's
// job, and a retryable UNAVAILABLE when the watch is cut before the job ended.
//
//	for status, err := range client.WatchJob(ctx, jobID) {
//		if err != nil { return err }
//		fmt.Printf("%s %.0f%% %s\n", status.State, status.Progress, status.Message)
//	}
//
// A FAILED job is a status, not an error here; WaitForJob turns it into one.
func (c *Client) WatchJob(ctx context.Context, jobID string) iter.Seq2[JobStatus, error] {
	return func(yield func(JobStatus, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := c.MonitoringService.WatchJob(ctx, &sightlinev1.WatchJobRequest{JobId: jobID})
		if err != nil {
			yield(JobStatus{}, err)
			return
		}
		for {
			resp, err := stream.Recv()
			if err == io.EOF {
				yield(JobStatus{}, errWatchCut(jobID))
				return
			}
			if err != nil {
				yield(JobStatus{}, err)
				return
			}
			status := jobStatusFrom(resp)
			if !yield(status, nil) || status.State.Done() {
				return
			}
		}
	}
}

// How WaitForJob rides out a server restart: it watches again after a retryable failure, backing off, and gives up
// after this many failures in a row with no status between them.
const (
	watchRetries       = 10
	watchMinBackoff    = 100 * time.Millisecond
	watchMaxBackoff    = 2 * time.Second
	watchBackoffFactor = 2
)

// WaitForJob watches a job until it ends and returns its last status. A COMPLETED job returns a nil error. A FAILED
// job returns its status with a *JobFailedError (errors.Is(err, ErrJobFailed)) carrying the server's reason. If
// the watch is cut by something retryable (UNAVAILABLE, a server restart), it watches again. Any other failure,
// or ctx ending, returns the last status seen with that error.
func (c *Client) WaitForJob(ctx context.Context, jobID string) (JobStatus, error) {
	var last JobStatus
	backoff := watchMinBackoff
	for failures := 0; ; {
		var watchErr error
		for status, err := range c.WatchJob(ctx, jobID) {
			if err != nil {
				watchErr = err
				break
			}
			last = status
			failures = 0
			backoff = watchMinBackoff
		}
		if watchErr == nil {
			if last.State == JobFailed {
				return last, &JobFailedError{Status: last}
			}
			return last, nil
		}
		e, ok := AsError(watchErr)
		failures++
		if !ok || !e.Retryable() || failures >= watchRetries || ctx.Err() != nil {
			return last, watchErr
		}
		timer := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			timer.Stop()
			return last, wrapError(ctx.Err())
		case <-timer.C:
		}
		backoff = min(backoff*watchBackoffFactor, watchMaxBackoff)
	}
}

// ─── Series ───────────────────────────────────────────────────────────────────────────────────────────────────────

// Granularity is the width of a production bucket.
type Granularity int

const (
	// Hour buckets start at each UTC hour. It is the zero value, and the server's default.
	Hour Granularity = iota
	// Day buckets start at each UTC midnight and hold the whole day's records.
	Day
)

func (g Granularity) String() string {
	switch g {
	case Hour:
		return "hour"
	case Day:
		return "day"
	}
	return "Granularity(" + strconv.Itoa(int(g)) + ")"
}

// MonitoringQuery says which part of a model's series Monitoring returns.
type MonitoringQuery struct {
	// Project is the model's project; empty means the client's (WithProject).
	Project string
	// Buckets starting at or after Start and before End; a zero time leaves that end open.
	Start, End time.Time
	// Granularity is Hour (the zero value) or Day.
	Granularity Granularity
	// Metrics limits Performance to these names (see Bucket.Performance); empty for all.
	Metrics []string
	// Fields limits Drift and Quality to these fields: features, or the model's score field by its name. Empty for
	// all.
	Fields []string
	// Splits whose results to return: names, or "*" for all. Empty for none.
	Splits []string
}

// Monitoring is a model's series, as Client.Monitoring returns it.
type Monitoring struct {
	// Buckets are the production buckets in time order. Buckets without records are absent, except that one whose
	// hour saw rejected rows or overwrites (RejectedRows, OverwrittenRecords) is listed with zero counts.
	Buckets []Bucket
	// Splits holds each requested split that has results, by name. Their Bucket.Start is zero.
	Splits map[string]Bucket
	// LastRun is when the newest monitoring run of the model finished; zero before the first.
	LastRun time.Time
}

// Bucket is what monitoring computed for one hour or day of production, or for one split.
type Bucket struct {
	// Start is the start of the hour or day (UTC); zero for a split.
	Start  time.Time
	Counts Counts
	// Performance by metric name. Binary models: accuracy, precision, recall, f1, specificity,
	// false_positive_rate, false_negative_rate, roc_auc, average_precision, log_loss, brier_score. Regression
	// models: mae, mse, rmse, mape, r2, mean_error. A metric the data leaves undefined (roc_auc with one class,
	// say) is present with Defined false and the reason.
	Performance map[string]Metric
	// Confusion is the confusion matrix at the model's decision threshold; nil for regression models.
	Confusion *Confusion
	// Drift against the collection's baseline split: each feature, then the model's score.
	Drift []FieldDrift
	// Quality of each feature's values.
	Quality []FieldQuality
	// RejectedRows counts rows ingestion refused in this bucket (by event time, else arrival time), by
	// RowErrorReason name without its prefix, such as "UNKNOWN_CATEGORY".
	RejectedRows map[string]int64
	// OverwrittenRecords counts writes that replaced a kind of data a record already held, re-sends included.
	OverwrittenRecords int64
	// Computed is when the bucket's figures were computed; zero for a bucket listed only for its ingestion counts.
	Computed time.Time
}

// Counts are a bucket's record counts.
type Counts struct {
	// Records in the bucket.
	Records int64
	// Records with the model's prediction score.
	Predictions int64
	// Records with both a prediction and a label the model can be judged by.
	Labelled int64
	// LabelRate is Labelled / Predictions; undefined without predictions.
	LabelRate Metric
	// Labels present but not mappable to the model's classes (binary), or not numeric (regression).
	UnusableLabels int64
	// Regression: labelled records with a zero label, which mape leaves out.
	ZeroLabels int64
}

// Confusion is a binary model's confusion matrix.
type Confusion struct {
	TrueNegatives, FalsePositives, FalseNegatives, TruePositives int64
}

// DriftSource says whether a drift row is about a feature or the model's prediction score.
type DriftSource int

const (
	DriftSourceUnknown DriftSource = iota
	DriftFeature
	DriftPrediction
)

func (s DriftSource) String() string {
	switch s {
	case DriftFeature:
		return "feature"
	case DriftPrediction:
		return "prediction"
	}
	return "unknown"
}

// FieldDrift compares one field's distribution in a bucket with the baseline split's.
type FieldDrift struct {
	Field  string
	Source DriftSource
	// Statistics by name. Numeric fields: psi, jensen_shannon, wasserstein, ks_statistic, ks_p_value. Categorical
	// fields: psi, jensen_shannon, chi_square, chi_square_p_value.
	Statistics map[string]Metric
	// Values compared on each side.
	BaselineCount, CurrentCount int64
}

// FieldQuality is one feature's data quality in a bucket.
type FieldQuality struct {
	Field string
	// Records in the bucket that carry features, and those among them missing this one.
	Count, Missing int64
	// Present values outside the baseline's range (numeric fields), or that the baseline never held (categorical).
	OutOfRange, Unseen int64
	// Rates by name: missing_rate, and out_of_range_rate (numeric) or unseen_rate (categorical).
	Rates map[string]Metric
}

// Metric is a metric or statistic that may be undefined for the data, such as roc_auc when every label is one
// class. An undefined metric has Defined false, Value 0 and the server's UndefinedReason; it is never a NaN.
type Metric struct {
	Value           float64
	Defined         bool
	UndefinedReason string
}

// Get returns the value and whether it is defined, for `if v, ok := m.Get(); ok { ... }`.
func (m Metric) Get() (float64, bool) {
	return m.Value, m.Defined
}

func (m Metric) String() string {
	if m.Defined {
		return strconv.FormatFloat(m.Value, 'g', -1, 64)
	}
	return "undefined (" + m.UndefinedReason + ")"
}

// undefinedLabelRate is the reason for an unset label rate, which the server sends without one.
const undefinedLabelRate = "no predictions in the bucket"

// Monitoring reads a model's monitoring series: the production buckets of q's range at q's granularity, and the
// results of q.Splits, as the model's runs last computed them (RefreshMonitoring and WaitForJob bring them up to
// date). An unknown project, collection or model is NOT_FOUND; unknown metrics, fields or splits, or an End not
// after Start, are INVALID_ARGUMENT with field violations (metrics[i], fields[i], splits[i], end_time).
func (c *Client) Monitoring(ctx context.Context, collection, model string, q MonitoringQuery) (*Monitoring, error) {
	project, err := c.projectFor("Monitoring", q.Project, "MonitoringQuery.Project")
	if err != nil {
		return nil, err
	}
	req := &sightlinev1.GetMonitoringRequest{
		Project: project, Collection: collection, Model: model,
		Metrics: q.Metrics, Fields: q.Fields, Splits: q.Splits,
	}
	switch q.Granularity {
	case Hour:
		req.Granularity = sightlinev1.Granularity_GRANULARITY_HOUR
	case Day:
		req.Granularity = sightlinev1.Granularity_GRANULARITY_DAY
	default:
		return nil, fmt.Errorf("sightline: Monitoring: %s is neither Hour nor Day", q.Granularity)
	}
	if !q.Start.IsZero() {
		req.StartTime = timestamppb.New(q.Start)
	}
	if !q.End.IsZero() {
		req.EndTime = timestamppb.New(q.End)
	}
	resp, err := c.MonitoringService.GetMonitoring(ctx, req)
	if err != nil {
		return nil, err
	}
	out := &Monitoring{
		Buckets: make([]Bucket, 0, len(resp.GetBuckets())),
		Splits:  make(map[string]Bucket, len(resp.GetSplits())),
		LastRun: timeOf(resp.GetLastRunTime()),
	}
	for _, b := range resp.GetBuckets() {
		out.Buckets = append(out.Buckets, bucketFrom(b))
	}
	for _, s := range resp.GetSplits() {
		out.Splits[s.GetSplit()] = bucketFrom(s.GetResult())
	}
	return out, nil
}

func timeOf(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime().UTC()
}

func metricFrom(m *sightlinev1.MetricValue) Metric {
	if m == nil || m.Value == nil {
		return Metric{UndefinedReason: m.GetUndefinedReason()}
	}
	return Metric{Value: m.GetValue(), Defined: true}
}

func metricsFrom(values []*sightlinev1.MetricValue) map[string]Metric {
	out := make(map[string]Metric, len(values))
	for _, v := range values {
		out[v.GetName()] = metricFrom(v)
	}
	return out
}

func bucketFrom(b *sightlinev1.MonitoringBucket) Bucket {
	c := b.GetCounts()
	out := Bucket{
		Start: timeOf(b.GetStartTime()),
		Counts: Counts{
			Records:        c.GetRecords(),
			Predictions:    c.GetPredictions(),
			Labelled:       c.GetLabelled(),
			LabelRate:      Metric{UndefinedReason: undefinedLabelRate},
			UnusableLabels: c.GetUnusableLabels(),
			ZeroLabels:     c.GetZeroLabels(),
		},
		Performance:        metricsFrom(b.GetPerformance()),
		Drift:              make([]FieldDrift, 0, len(b.GetDrift())),
		Quality:            make([]FieldQuality, 0, len(b.GetQuality())),
		RejectedRows:       make(map[string]int64, len(b.GetRejectedRows())),
		OverwrittenRecords: b.GetOverwrittenRecords(),
		Computed:           timeOf(b.GetComputeTime()),
	}
	if c.LabelRate != nil {
		out.Counts.LabelRate = Metric{Value: c.GetLabelRate(), Defined: true}
	}
	if m := b.GetConfusion(); m != nil {
		out.Confusion = &Confusion{
			TrueNegatives: m.GetTrueNegatives(), FalsePositives: m.GetFalsePositives(),
			FalseNegatives: m.GetFalseNegatives(), TruePositives: m.GetTruePositives(),
		}
	}
	for _, d := range b.GetDrift() {
		out.Drift = append(out.Drift, FieldDrift{
			Field:         d.GetField(),
			Source:        DriftSource(d.GetSource()),
			Statistics:    metricsFrom(d.GetStatistics()),
			BaselineCount: d.GetBaselineCount(),
			CurrentCount:  d.GetCurrentCount(),
		})
	}
	for _, q := range b.GetQuality() {
		out.Quality = append(out.Quality, FieldQuality{
			Field:      q.GetField(),
			Count:      q.GetCount(),
			Missing:    q.GetMissing(),
			OutOfRange: q.GetOutOfRange(),
			Unseen:     q.GetUnseen(),
			Rates:      metricsFrom(q.GetRates()),
		})
	}
	for _, r := range b.GetRejectedRows() {
		out.RejectedRows[r.GetReason()] += r.GetCount()
	}
	return out
}

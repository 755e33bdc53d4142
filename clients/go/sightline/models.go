package sightline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	sightlinev1 "sightline/clients/go/gen/sightline/v1"
)

// ─── Artifacts ────────────────────────────────────────────────────────────────────────────────────────────────────

// DefaultArtifactChunkSize is the bytes per message of an artifact upload: far below gRPC's message limits, and few
// messages per model.
const DefaultArtifactChunkSize = 1 << 20

// InfluenceAlgorithm says how Shapley values are computed from a model's artifact.
type InfluenceAlgorithm int

// The values follow sightline.v1.InfluenceAlgorithm.
const (
	// AlgorithmDefault leaves the choice to the model's influence options, then to the artifact: TreeSHAP for a
	// tree ensemble whose raw output is the model's score, KernelSHAP otherwise.
	AlgorithmDefault InfluenceAlgorithm = iota
	// TreeSHAP is exact interventional TreeSHAP against the background sample.
	TreeSHAP
	// KernelSHAP enumerates every coalition when the feature count allows it, and samples them otherwise.
	KernelSHAP
)

func (a InfluenceAlgorithm) String() string {
	switch a {
	case AlgorithmDefault:
		return "DEFAULT"
	case TreeSHAP:
		return "TREE_SHAP"
	case KernelSHAP:
		return "KERNEL_SHAP"
	}
	return "InfluenceAlgorithm(" + strconv.Itoa(int(a)) + ")"
}

// ModelArtifact describes one stored version of a model's artifact.
type ModelArtifact struct {
	Project, Collection, Model string
	// Version is 1 for the model's first upload, then one more per upload.
	Version int64
	// Format is "ONNX", the only format the server accepts.
	Format    string
	SizeBytes int64
	// SHA256 is the digest of the bytes, 64 lowercase hexadecimal digits.
	SHA256   string
	Uploaded time.Time
	// Inputs and Outputs name the graph's inputs and outputs, in order.
	Inputs, Outputs []string
	// InfluenceAlgorithm is what ComputeInfluences uses when neither the call nor the model chooses.
	InfluenceAlgorithm InfluenceAlgorithm
	// Producer is the producer the ONNX file names, such as "skl2onnx".
	Producer string
}

func artifactFrom(m *sightlinev1.ModelArtifact) *ModelArtifact {
	return &ModelArtifact{
		Project:            m.GetProject(),
		Collection:         m.GetCollection(),
		Model:              m.GetModel(),
		Version:            m.GetVersion(),
		Format:             strings.TrimPrefix(m.GetFormat().String(), "ARTIFACT_FORMAT_"),
		SizeBytes:          m.GetSizeBytes(),
		SHA256:             m.GetSha256(),
		Uploaded:           timeOf(m.GetUploadTime()),
		Inputs:             m.GetInputs(),
		Outputs:            m.GetOutputs(),
		InfluenceAlgorithm: InfluenceAlgorithm(m.GetInfluenceAlgorithm()),
		Producer:           m.GetProducer(),
	}
}

// ArtifactOption adjusts UploadModelArtifact, UploadModelArtifactFile and GetModelArtifact.
type ArtifactOption func(*artifactOptions)

type artifactOptions struct {
	project   string
	chunkSize int
	version   int64
}

// WithArtifactProject names the project for this call, instead of the client's WithProject default.
func WithArtifactProject(project string) ArtifactOption {
	return func(o *artifactOptions) { o.project = project }
}

// WithArtifactChunkSize sets the bytes per message of an upload (DefaultArtifactChunkSize by default).
func WithArtifactChunkSize(n int) ArtifactOption {
	return func(o *artifactOptions) { o.chunkSize = n }
}

// WithArtifactVersion makes GetModelArtifact return that version instead of the latest.
func WithArtifactVersion(version int64) ArtifactOption {
	return func(o *artifactOptions) { o.version = version }
}

func artifactOptionsOf(opts []ArtifactOption) artifactOptions {
	o := artifactOptions{chunkSize: DefaultArtifactChunkSize}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// UploadModelArtifact streams an ONNX artifact of exactly size bytes from r, whose SHA-256 is sha256hex, as the next
// version of a DATA_AND_MODEL model, and returns what the server stored. The digest is declared up front, so the
// caller computes it (UploadModelArtifactFile does so for a file); the server checks size and digest against what
// arrives, loads the model and matches its inputs and outputs against the collection's features and the model's
// prediction fields, and stores nothing when a check fails. The project is the client's (WithProject) unless
// WithArtifactProject names another.
//
// Failures: INVALID_ARGUMENT with reason ReasonArtifactInvalid for bytes that are not a usable ONNX model or do not
// match the declared size or digest (a field violation names header.sha256, header.size_bytes or chunk);
// FAILED_PRECONDITION with ReasonArtifactMismatch (a precondition violation per input or output at fault) or
// ReasonModelMode for a DATA_ONLY model. A reader that fails, or ends before size bytes, ends the call with its
// error, which is not an *Error.
func (c *Client) UploadModelArtifact(ctx context.Context, collection, model string, r io.Reader, size int64, sha256hex string, opts ...ArtifactOption) (*ModelArtifact, error) {
	o := artifactOptionsOf(opts)
	project, err := c.projectFor("UploadModelArtifact", o.project, "WithArtifactProject")
	if err != nil {
		return nil, err
	}
	if o.chunkSize <= 0 {
		return nil, fmt.Errorf("sightline: UploadModelArtifact: the chunk size must be positive, not %d", o.chunkSize)
	}
	if size <= 0 {
		return nil, fmt.Errorf("sightline: UploadModelArtifact: the size must be positive, not %d", size)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.ModelService.UploadModelArtifact(ctx)
	if err != nil {
		return nil, err
	}
	// Send reports io.EOF when the server ended the call early (a refused header, say); CloseAndRecv says why.
	err = stream.Send(&sightlinev1.UploadModelArtifactRequest{Part: &sightlinev1.UploadModelArtifactRequest_Header{Header: &sightlinev1.ArtifactHeader{
		Project: project, Collection: collection, Model: model,
		Format:    sightlinev1.ArtifactFormat_ARTIFACT_FORMAT_ONNX,
		SizeBytes: size,
		Sha256:    strings.ToLower(sha256hex),
	}}})
	if err != nil && err != io.EOF {
		return nil, err
	}
	if err == nil {
		buf := make([]byte, min(int64(o.chunkSize), size))
		for sent := int64(0); sent < size; {
			n, readErr := io.ReadFull(r, buf[:min(int64(len(buf)), size-sent)])
			if readErr != nil {
				if errors.Is(readErr, io.EOF) || errors.Is(readErr, io.ErrUnexpectedEOF) {
					return nil, fmt.Errorf("sightline: UploadModelArtifact: the reader ended after %d of the declared %d bytes", sent+int64(n), size)
				}
				return nil, fmt.Errorf("sightline: UploadModelArtifact: reading the artifact: %w", readErr)
			}
			// gRPC may hold the message until it is written, so each chunk gets its own copy of the buffer.
			chunk := make([]byte, n)
			copy(chunk, buf[:n])
			if err := stream.Send(&sightlinev1.UploadModelArtifactRequest{Part: &sightlinev1.UploadModelArtifactRequest_Chunk{Chunk: chunk}}); err != nil {
				if err == io.EOF {
					break
				}
				return nil, err
			}
			sent += int64(n)
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return nil, err
	}
	return artifactFrom(resp.GetArtifact()), nil
}

// UploadModelArtifactFile uploads the ONNX file at path with UploadModelArtifact. It reads the file twice, a chunk
// at a time: once for its size and SHA-256, then to stream it, so memory stays bounded whatever the file's size. A
// file that changes between the two passes arrives with the wrong digest and is refused (ReasonArtifactInvalid).
func (c *Client) UploadModelArtifactFile(ctx context.Context, collection, model, path string, opts ...ArtifactOption) (*ModelArtifact, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sightline: UploadModelArtifactFile: %w", err)
	}
	defer f.Close()
	hash := sha256.New()
	size, err := io.Copy(hash, f)
	if err != nil {
		return nil, fmt.Errorf("sightline: UploadModelArtifactFile: reading %s: %w", path, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("sightline: UploadModelArtifactFile: %w", err)
	}
	return c.UploadModelArtifact(ctx, collection, model, f, size, hex.EncodeToString(hash.Sum(nil)), opts...)
}

// GetModelArtifact returns the metadata of a model's latest artifact, or of the version WithArtifactVersion names.
// A model without an artifact is FAILED_PRECONDITION with ReasonArtifactMissing, an unknown version NOT_FOUND, a
// DATA_ONLY model FAILED_PRECONDITION with ReasonModelMode.
func (c *Client) GetModelArtifact(ctx context.Context, collection, model string, opts ...ArtifactOption) (*ModelArtifact, error) {
	o := artifactOptionsOf(opts)
	project, err := c.projectFor("GetModelArtifact", o.project, "WithArtifactProject")
	if err != nil {
		return nil, err
	}
	resp, err := c.ModelService.GetModelArtifact(ctx, &sightlinev1.GetModelArtifactRequest{Project: project, Collection: collection, Model: model, Version: o.version})
	if err != nil {
		return nil, err
	}
	return artifactFrom(resp.GetArtifact()), nil
}

// ─── Computations ─────────────────────────────────────────────────────────────────────────────────────────────────

// ComputeOptions selects the records ComputePredictions and ComputeInfluences compute for, and the artifact.
type ComputeOptions struct {
	// Project is the model's project; empty means the client's (WithProject).
	Project string
	// Split names the split whose records to compute for. Empty means production.
	Split string
	// Production records of event time at or after Start and before End; a zero time leaves that end open. Both
	// must be zero with a Split.
	Start, End time.Time
	// ArtifactVersion is the artifact to compute with; 0 for the latest.
	ArtifactVersion int64
}

// InfluenceOptions is ComputeOptions plus how ComputeInfluences computes. Zero fields take the model's own influence
// options, then the server's defaults (the artifact's algorithm, 100 background rows, 2048 + 2 × features
// KernelSHAP coalitions, seed 0).
type InfluenceOptions struct {
	ComputeOptions
	Algorithm InfluenceAlgorithm
	// BackgroundRows is how many rows of the baseline split make the background sample.
	BackgroundRows int32
	// KernelSamples is how many coalitions KernelSHAP evaluates per record when it samples.
	KernelSamples int32
	// Seed seeds the background draw and KernelSHAP's sampling.
	Seed int64
}

func (c *Client) computeScope(call string, o ComputeOptions) (project string, split string, production *sightlinev1.ProductionRange, err error) {
	project, err = c.projectFor(call, o.Project, "ComputeOptions.Project")
	if err != nil {
		return "", "", nil, err
	}
	if o.Split != "" {
		if !o.Start.IsZero() || !o.End.IsZero() {
			return "", "", nil, fmt.Errorf("sightline: %s: Start and End select production records; leave them zero with a Split", call)
		}
		return project, o.Split, nil, nil
	}
	production = &sightlinev1.ProductionRange{}
	if !o.Start.IsZero() {
		production.Start = timestamppb.New(o.Start)
	}
	if !o.End.IsZero() {
		production.End = timestamppb.New(o.End)
	}
	return project, "", production, nil
}

// ComputePredictions asks the workers to compute a DATA_AND_MODEL model's predictions from its artifact, for the
// records of o.Split or of production in [o.Start, o.End), and to write them as an upload of them would. It returns
// the job's ID for WatchJob or WaitForJob, whose final status carries a ComputeResult. FAILED_PRECONDITION with
// ReasonModelMode for a DATA_ONLY model, ReasonArtifactMissing before the first upload.
func (c *Client) ComputePredictions(ctx context.Context, collection, model string, o ComputeOptions) (jobID string, err error) {
	project, split, production, err := c.computeScope("ComputePredictions", o)
	if err != nil {
		return "", err
	}
	req := &sightlinev1.ComputePredictionsRequest{Project: project, Collection: collection, Model: model, ArtifactVersion: o.ArtifactVersion}
	if production != nil {
		req.Scope = &sightlinev1.ComputePredictionsRequest_Production{Production: production}
	} else {
		req.Scope = &sightlinev1.ComputePredictionsRequest_Split{Split: split}
	}
	resp, err := c.ModelService.ComputePredictions(ctx, req)
	if err != nil {
		return "", err
	}
	return resp.GetJobId(), nil
}

// ComputeInfluences asks the workers to compute a model's influences (the Shapley values of its score) for the
// records ComputePredictions would select, against a background sample of the collection's baseline split, and to
// write them as an upload of them would. It returns the job's ID; the final status's ComputeResult holds the base
// value, which plus the sum of a record's influences is its score. FAILED_PRECONDITION with ReasonBaselineMissing
// when the collection has no baseline split with features, ReasonArtifactMismatch for TreeSHAP on an artifact that
// is not a tree ensemble, and as for ComputePredictions.
func (c *Client) ComputeInfluences(ctx context.Context, collection, model string, o InfluenceOptions) (jobID string, err error) {
	project, split, production, err := c.computeScope("ComputeInfluences", o.ComputeOptions)
	if err != nil {
		return "", err
	}
	req := &sightlinev1.ComputeInfluencesRequest{Project: project, Collection: collection, Model: model, ArtifactVersion: o.ArtifactVersion}
	if production != nil {
		req.Scope = &sightlinev1.ComputeInfluencesRequest_Production{Production: production}
	} else {
		req.Scope = &sightlinev1.ComputeInfluencesRequest_Split{Split: split}
	}
	if o.Algorithm != AlgorithmDefault || o.BackgroundRows != 0 || o.KernelSamples != 0 || o.Seed != 0 {
		req.Options = &sightlinev1.InfluenceOptions{
			Algorithm:      sightlinev1.InfluenceAlgorithm(o.Algorithm),
			BackgroundRows: o.BackgroundRows,
			KernelSamples:  o.KernelSamples,
			Seed:           o.Seed,
		}
	}
	resp, err := c.ModelService.ComputeInfluences(ctx, req)
	if err != nil {
		return "", err
	}
	return resp.GetJobId(), nil
}

// ComputeResult is what a completed ComputePredictions or ComputeInfluences job wrote.
type ComputeResult struct {
	// Records the job selected, and those whose predictions or influences were written.
	Records, Written int64
	// Rejected counts records whose computed values the ingest rules refused (a non-finite output, say).
	Rejected int64
	// Chunks is how many chunk jobs the records were split into.
	Chunks int64
	// ArtifactVersion is the artifact version used.
	ArtifactVersion int64
	// Algorithm is the influence algorithm used; AlgorithmDefault for predictions.
	Algorithm InfluenceAlgorithm
	// Exact is false when KernelSHAP sampled coalitions instead of enumerating them all.
	Exact bool
	// BaseValue is, for influences (HasBaseValue), the mean score over the background sample: a record's base value
	// plus the sum of its influences is its score.
	BaseValue    float64
	HasBaseValue bool
}

func computeResultFrom(r *sightlinev1.ComputeRunResult) *ComputeResult {
	return &ComputeResult{
		Records:         r.GetRecords(),
		Written:         r.GetWritten(),
		Rejected:        r.GetRejected(),
		Chunks:          r.GetChunks(),
		ArtifactVersion: r.GetArtifactVersion(),
		Algorithm:       InfluenceAlgorithm(r.GetAlgorithm()),
		Exact:           r.GetExact(),
		BaseValue:       r.GetBaseValue(),
		HasBaseValue:    r.BaseValue != nil,
	}
}

package sightline

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sightlinev1 "sightline/clients/go/gen/sightline/v1"
)

// ErrClosed is returned by Write after Close has begun, and by the acks of batches a Close abandoned because its
// context ended first.
var ErrClosed = errors.New("sightline: the stream writer is closed")

// StreamWriterOptions tunes a StreamWriter; the zero value is a sensible default.
type StreamWriterOptions struct {
	// MaxInFlight is how many batches may await their ack before Write blocks; default 64. It bounds the memory
	// held for re-sending, and how much a reconnect re-sends.
	MaxInFlight int
	// MaxReconnects is how many consecutive attempts may fail (with no ack in between) before the writer gives up
	// and fails every pending batch; default 20.
	MaxReconnects int
	// MinBackoff and MaxBackoff bound the wait between attempts, which doubles from one to the other; defaults
	// 100ms and 2s.
	MinBackoff, MaxBackoff time.Duration
	// OnReconnect, if set, is called from the writer's goroutine each time a stream replaces a failed one, with the
	// number of unacknowledged batches it re-sends.
	OnReconnect func(resent int)
}

// StreamWriterStats counts what a writer has done so far.
type StreamWriterStats struct {
	// Batches accepted by Write.
	Written int64
	// Batches acknowledged by the server, refused ones included.
	Acked int64
	// Acks that carried a BatchError: the batch was refused whole and nothing of it was written.
	Refused int64
	// Rows the acks counted as written, and as rejected one by one.
	RowsAccepted, RowsRejected int64
	// Streams opened to replace a failed one.
	Reconnects int64
}

// Ack is the future of one written batch.
type Ack struct {
	sequence uint64
	batch    *sightlinev1.RecordBatch
	done     chan struct{}
	resp     *sightlinev1.StreamResponse
	err      error
}

// Sequence is the number the writer gave the batch; the server's ack echoes it.
func (a *Ack) Sequence() uint64 { return a.sequence }

// Done is closed once the batch is acknowledged or has failed for good, for use in a select.
func (a *Ack) Done() <-chan struct{} { return a.done }

// Wait blocks until the server has acknowledged the batch, that is until its accepted rows are durable, and
// returns the ack with its summary. Rows rejected one by one are listed in the summary, not returned as an error.
// The error is an *Error (INVALID_ARGUMENT, with field violations) when the server refused the batch whole, the
// writer's failure when it gave up, or ctx's error when ctx ends first; the batch's fate is then still pending.
func (a *Ack) Wait(ctx context.Context) (*sightlinev1.StreamResponse, error) {
	select {
	case <-a.done:
		return a.resp, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// StreamWriter writes batches to one target over the bidirectional Stream call, for services that send records as
// they happen. Write queues a batch and returns at once; a background goroutine reads the acks. Up to MaxInFlight
// batches travel unacknowledged, so the network round trip and the database write overlap with producing the next
// records.
//
// Every batch is kept until its ack arrives. When the stream fails in a way that may pass (the server restarting or
// going away, UNAVAILABLE, a reset), the writer opens a new stream after a backoff and re-sends every
// unacknowledged batch in order. Writes are upserts by record ID, so a batch that was written but not acked before
// the failure is written again to the same effect: the result is exact, never duplicated. Failures that will not
// pass (an unknown collection, a revoked key) fail every pending batch and every later Write.
//
// Its methods are safe for concurrent use. A batch must not be changed after Write, since it may be sent again.
type StreamWriter struct {
	ingest sightlinev1.IngestServiceClient
	target *sightlinev1.Target
	opts   StreamWriterOptions

	// ctx spans every stream the writer opens; cancel ends them all when a Close gives up waiting.
	ctx    context.Context
	cancel context.CancelFunc
	// slots holds one token per unacknowledged batch, so Write blocks once MaxInFlight are out.
	slots chan struct{}
	// wake tells the current sender that there is something new to send, or that the stream should end.
	wake chan struct{}
	// stopped is closed when writes are no longer taken: at Close, or when the writer fails.
	stopped  chan struct{}
	stopOnce sync.Once
	// finished is closed when the background goroutine exits.
	finished chan struct{}

	mu        sync.Mutex
	sequence  uint64
	pending   []*Ack // unacknowledged, in sequence order
	changed   chan struct{}
	started   bool
	closing   bool // Close has begun: no new writes
	endStream bool // every ack is in: the sender may half-close the stream
	err       error
	stats     StreamWriterStats
}

// NewStreamWriter prepares a writer for target; it opens its stream with the first Write. Call Close when done, or
// its goroutine and stream stay open.
func (c *Client) NewStreamWriter(target *sightlinev1.Target, opts StreamWriterOptions) *StreamWriter {
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 64
	}
	if opts.MaxReconnects <= 0 {
		opts.MaxReconnects = 20
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(2*time.Second, opts.MinBackoff)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &StreamWriter{
		ingest:   c.Ingest,
		target:   target,
		opts:     opts,
		ctx:      ctx,
		cancel:   cancel,
		slots:    make(chan struct{}, opts.MaxInFlight),
		wake:     make(chan struct{}, 1),
		stopped:  make(chan struct{}),
		finished: make(chan struct{}),
		changed:  make(chan struct{}),
	}
}

// Write queues batch and returns its Ack without waiting for it. It blocks only while MaxInFlight batches await
// their acks, and gives up with ctx's error if ctx ends first (the batch is then not queued).
func (w *StreamWriter) Write(ctx context.Context, batch *sightlinev1.RecordBatch) (*Ack, error) {
	if batch == nil {
		return nil, errors.New("sightline: Write got a nil batch")
	}
	if err := w.refusal(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case w.slots <- struct{}{}:
	case <-w.stopped:
		return nil, w.refusal()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	w.mu.Lock()
	if err := w.refusalLocked(); err != nil {
		w.mu.Unlock()
		<-w.slots
		return nil, err
	}
	w.sequence++
	ack := &Ack{sequence: w.sequence, batch: batch, done: make(chan struct{})}
	w.pending = append(w.pending, ack)
	w.stats.Written++
	if !w.started {
		w.started = true
		go w.run()
	}
	w.mu.Unlock()
	w.signal()
	return ack, nil
}

// Flush waits until every batch written before it has its ack. It returns the writer's failure if it gave up, or
// ctx's error if ctx ends first; the writer goes on either way. Batches refused whole do not fail Flush: their
// Acks and Stats report them.
func (w *StreamWriter) Flush(ctx context.Context) error {
	w.mu.Lock()
	last := w.sequence
	w.mu.Unlock()
	for {
		w.mu.Lock()
		if w.err != nil || len(w.pending) == 0 || w.pending[0].sequence > last {
			err := w.err
			w.mu.Unlock()
			return err
		}
		changed := w.changed
		w.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close stops taking writes, waits for every ack, then ends the stream. If ctx ends first it abandons the
// batches still unacknowledged (their Acks fail with ErrClosed) and returns ctx's error: the server may or may not
// have written them, so re-send them elsewhere if they matter.
func (w *StreamWriter) Close(ctx context.Context) error {
	defer w.cancel()
	w.mu.Lock()
	w.closing = true
	started := w.started
	w.mu.Unlock()
	w.stop()
	if !started {
		return nil
	}
	if err := w.Flush(ctx); err != nil {
		if ctx.Err() != nil {
			w.cancel()
		}
		<-w.finished
		return err
	}
	w.mu.Lock()
	w.endStream = true
	w.mu.Unlock()
	w.signal()
	select {
	case <-w.finished:
	case <-ctx.Done():
		w.cancel()
		<-w.finished
		return ctx.Err()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Stats is a snapshot of the writer's counters.
func (w *StreamWriter) Stats() StreamWriterStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

func (w *StreamWriter) refusal() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.refusalLocked()
}

func (w *StreamWriter) refusalLocked() error {
	if w.err != nil {
		return w.err
	}
	if w.closing {
		return ErrClosed
	}
	return nil
}

func (w *StreamWriter) stop() {
	w.stopOnce.Do(func() { close(w.stopped) })
}

func (w *StreamWriter) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// broadcastLocked wakes everything waiting for the pending list to change.
func (w *StreamWriter) broadcastLocked() {
	close(w.changed)
	w.changed = make(chan struct{})
}

// run opens streams until every ack is in (after Close) or the writer fails.
func (w *StreamWriter) run() {
	defer close(w.finished)
	failures := 0
	for attempt := 0; ; attempt++ {
		acked, err := w.attempt(attempt > 0)
		w.mu.Lock()
		done := w.endStream && len(w.pending) == 0
		w.mu.Unlock()
		if done {
			return
		}
		if w.ctx.Err() != nil {
			w.fail(ErrClosed)
			return
		}
		if !retryable(err) {
			w.fail(err)
			return
		}
		// Nothing to re-send: typically the server ended a stream left idle past its timeout. Reopening it now would
		// only time out again, each time counting against MaxReconnects; the next Write reopens it instead.
		if w.nothingPending() {
			if !w.waitForWrite() {
				return
			}
			failures = 0
			continue
		}
		if acked > 0 {
			failures = 0
		}
		failures++
		if failures > w.opts.MaxReconnects {
			w.fail(err)
			return
		}
		select {
		case <-time.After(w.backoff(failures)):
		case <-w.ctx.Done():
		}
	}
}

// retryable tells failures that a new stream may get past from those it would meet again. The writer cancels its
// own streams only when a Close gives up, and run checks that first, so CANCELED here came from the other side: a
// server (or proxy) resetting its open calls as it shuts down.
func retryable(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.Canceled, codes.Aborted, codes.Internal, codes.Unknown, codes.DeadlineExceeded:
		return true
	}
	return false
}

func (w *StreamWriter) backoff(failures int) time.Duration {
	d := w.opts.MinBackoff
	for i := 1; i < failures && d < w.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, w.opts.MaxBackoff)
	// Jitter keeps many writers of one service from reconnecting in lockstep after a restart.
	return d/2 + rand.N(d/2+1)
}

func (w *StreamWriter) nothingPending() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending) == 0
}

// waitForWrite blocks until a batch is pending (true), or until Close has every ack or gives up (false).
func (w *StreamWriter) waitForWrite() bool {
	for {
		w.mu.Lock()
		pending, end := len(w.pending), w.endStream
		w.mu.Unlock()
		if pending > 0 {
			return true
		}
		if end {
			return false
		}
		select {
		case <-w.wake:
		case <-w.ctx.Done():
			w.fail(ErrClosed)
			return false
		}
	}
}

// attempt runs one stream: it sends the header and every unacknowledged batch, then new ones as they come, and
// settles acks until the stream ends. It returns how many acks it got and why the stream ended (nil when it ended
// cleanly).
func (w *StreamWriter) attempt(reconnect bool) (acked int, err error) {
	ctx, cancel := context.WithCancel(w.ctx)
	defer cancel()
	stream, err := w.ingest.Stream(ctx)
	if err != nil {
		return 0, err
	}
	if err := stream.Send(&sightlinev1.StreamRequest{Message: &sightlinev1.StreamRequest_Header{Header: w.target}}); err != nil && err != io.EOF {
		return 0, err
	}
	if reconnect {
		w.mu.Lock()
		resent := len(w.pending)
		w.stats.Reconnects++
		w.mu.Unlock()
		if w.opts.OnReconnect != nil {
			w.opts.OnReconnect(resent)
		}
	}
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		w.send(ctx, stream)
	}()
	// Whatever ends the stream, the sender must be gone before the next attempt starts its own.
	defer func() {
		cancel()
		<-sent
	}()
	for {
		resp, err := stream.Recv()
		if err == io.EOF {
			w.mu.Lock()
			clean := w.endStream && len(w.pending) == 0
			w.mu.Unlock()
			if clean {
				return acked, nil
			}
			return acked, &Error{Code: codes.Unavailable, Message: "the server ended the stream before acknowledging every batch"}
		}
		if err != nil {
			return acked, err
		}
		w.settle(resp)
		acked++
	}
}

// send feeds one stream: every pending batch it has not sent yet, in sequence order, then the half-close once
// Close has every ack. A new stream starts from the oldest pending batch, which is what re-sends them after a
// reconnect. It returns when the stream or its context fails; Recv then reports why.
func (w *StreamWriter) send(ctx context.Context, stream sightlinev1.IngestService_StreamClient) {
	var last uint64
	for {
		w.mu.Lock()
		var next *Ack
		if i := sort.Search(len(w.pending), func(i int) bool { return w.pending[i].sequence > last }); i < len(w.pending) {
			next = w.pending[i]
		}
		end := w.endStream
		w.mu.Unlock()
		switch {
		case next != nil:
			req := &sightlinev1.StreamRequest{Message: &sightlinev1.StreamRequest_Batch{Batch: &sightlinev1.SequencedBatch{Sequence: next.sequence, Batch: next.batch}}}
			if err := stream.Send(req); err != nil {
				return
			}
			last = next.sequence
			continue
		case end:
			_ = stream.CloseSend()
			return
		}
		select {
		case <-w.wake:
		case <-ctx.Done():
			return
		}
	}
}

func (w *StreamWriter) settle(resp *sightlinev1.StreamResponse) {
	w.mu.Lock()
	i := sort.Search(len(w.pending), func(i int) bool { return w.pending[i].sequence >= resp.GetSequence() })
	if i == len(w.pending) || w.pending[i].sequence != resp.GetSequence() {
		// Not ours (an ack for a batch already settled): nothing to do.
		w.mu.Unlock()
		return
	}
	ack := w.pending[i]
	w.pending = append(w.pending[:i], w.pending[i+1:]...)
	w.stats.Acked++
	w.stats.RowsAccepted += resp.GetSummary().GetRowsAccepted()
	w.stats.RowsRejected += resp.GetSummary().GetRowsRejected()
	ack.resp = resp
	if resp.GetError() != nil {
		w.stats.Refused++
		ack.err = batchError(resp.GetError())
	}
	w.broadcastLocked()
	w.mu.Unlock()
	close(ack.done)
	<-w.slots
}

// fail ends the writer: every pending batch and every later Write get err.
func (w *StreamWriter) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	pending := w.pending
	w.pending = nil
	w.broadcastLocked()
	w.mu.Unlock()
	w.stop()
	for _, ack := range pending {
		ack.err = err
		close(ack.done)
	}
}

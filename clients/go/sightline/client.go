package sightline

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	sightlinev1 "sightline/clients/go/gen/sightline/v1"
)

// Client is one connection to a Sightline server with its API key. It is safe for concurrent use; make one per
// process and share it, since each Client holds an HTTP/2 connection.
type Client struct {
	// The raw gRPC stubs, for every RPC of the contracts. Their errors are *Error too.
	Admin   sightlinev1.AdminServiceClient
	Catalog sightlinev1.CatalogServiceClient
	Ingest  sightlinev1.IngestServiceClient
	// MonitoringService is the raw MonitoringService stub; the Monitoring method reads its series as Go values.
	MonitoringService sightlinev1.MonitoringServiceClient
	// ModelService is the raw ModelService stub; UploadModelArtifact, ComputePredictions and ComputeInfluences wrap
	// it.
	ModelService sightlinev1.ModelServiceClient

	conn    *grpc.ClientConn
	project string
}

type dialOptions struct {
	apiKey     string
	project    string
	tlsConfig  *tls.Config
	caFile     string
	useTLS     bool
	grpcExtras []grpc.DialOption
}

// Option configures Dial.
type Option func(*dialOptions)

// WithAPIKey sends key as `authorization: Bearer <key>` on every call: the admin key for AdminService, or a
// project key (slk_...) from CreateApiKey for one project's data.
func WithAPIKey(key string) Option {
	return func(o *dialOptions) { o.apiKey = key }
}

// WithProject sets the project that the helpers taking no project argument work on (RefreshMonitoring, Monitoring,
// and the model artifact and compute helpers).
// A project key belongs to one project, so a client dialled with one usually names that project here.
func WithProject(project string) Option {
	return func(o *dialOptions) { o.project = project }
}

// WithTLS connects over TLS with cfg; nil means the system's roots and the address's host name.
func WithTLS(cfg *tls.Config) Option {
	return func(o *dialOptions) {
		o.useTLS = true
		o.tlsConfig = cfg
	}
}

// WithRootCAFile connects over TLS and trusts the PEM certificate(s) in path beside the system's roots: the usual
// setup for a server with a private or self-signed certificate.
func WithRootCAFile(path string) Option {
	return func(o *dialOptions) {
		o.useTLS = true
		o.caFile = path
	}
}

// WithGRPCOptions passes extra options to grpc.NewClient (interceptors, keepalive, a custom dialer); they are
// applied after this package's own, so they win.
func WithGRPCOptions(opts ...grpc.DialOption) Option {
	return func(o *dialOptions) { o.grpcExtras = append(o.grpcExtras, opts...) }
}

// maxReceiveBytes lets a ReadRecords batch as large as the server may send (its own limit defaults to 16 MiB)
// through, instead of gRPC's 4 MiB default.
const maxReceiveBytes = 256 << 20

// Dial prepares a connection to addr, "host:port" for plaintext HTTP/2 (the server's default without TLS
// certificates) or "https://host:port" for TLS. It does no I/O, so ctx is only checked: like gRPC itself, the
// client connects on the first call and reconnects as needed, and a server that cannot be reached (or whose
// certificate is not trusted) shows as an UNAVAILABLE *Error from that call. Ping checks reachability up front.
func Dial(ctx context.Context, addr string, opts ...Option) (*Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var o dialOptions
	target := addr
	switch {
	case strings.HasPrefix(addr, "https://"):
		o.useTLS = true
		target = strings.TrimPrefix(addr, "https://")
	case strings.HasPrefix(addr, "http://"):
		target = strings.TrimPrefix(addr, "http://")
	}
	target = strings.TrimSuffix(target, "/")
	if target == "" {
		return nil, errors.New("sightline: Dial needs an address such as 127.0.0.1:50051")
	}
	for _, opt := range opts {
		opt(&o)
	}

	transport, err := transportCredentials(&o)
	if err != nil {
		return nil, err
	}
	grpcOpts := []grpc.DialOption{
		grpc.WithTransportCredentials(transport),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxReceiveBytes)),
		// gRPC's default reconnect backoff grows to two minutes; a real-time writer waiting out a server restart
		// should find the new process within seconds.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 200 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 3 * time.Second},
			MinConnectTimeout: 5 * time.Second,
		}),
		grpc.WithChainUnaryInterceptor(unaryErrors),
		grpc.WithChainStreamInterceptor(streamErrors),
	}
	if o.apiKey != "" {
		grpcOpts = append(grpcOpts, grpc.WithPerRPCCredentials(bearerKey(o.apiKey)))
	}
	grpcOpts = append(grpcOpts, o.grpcExtras...)
	conn, err := grpc.NewClient(target, grpcOpts...)
	if err != nil {
		return nil, fmt.Errorf("sightline: dial %s: %w", addr, err)
	}
	return &Client{
		Admin:   sightlinev1.NewAdminServiceClient(conn),
		Catalog: sightlinev1.NewCatalogServiceClient(conn),
		Ingest:  sightlinev1.NewIngestServiceClient(conn),

		MonitoringService: sightlinev1.NewMonitoringServiceClient(conn),
		ModelService:      sightlinev1.NewModelServiceClient(conn),

		conn:    conn,
		project: o.project,
	}, nil
}

func transportCredentials(o *dialOptions) (credentials.TransportCredentials, error) {
	if !o.useTLS {
		return insecure.NewCredentials(), nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.tlsConfig != nil {
		cfg = o.tlsConfig.Clone()
	}
	if o.caFile != "" {
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			return nil, fmt.Errorf("sightline: root CA file: %w", err)
		}
		pool := cfg.RootCAs
		if pool == nil {
			if pool, err = x509.SystemCertPool(); err != nil {
				pool = x509.NewCertPool()
			}
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("sightline: root CA file %s holds no PEM certificate", o.caFile)
		}
		cfg.RootCAs = pool
	}
	return credentials.NewTLS(cfg), nil
}

// bearerKey is the per-RPC credential that carries the API key. It does not demand TLS: the server listens in
// plaintext on loopback by default, and refusing to send the key there would make local use impossible.
type bearerKey string

func (k bearerKey) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(k)}, nil
}

func (bearerKey) RequireTransportSecurity() bool { return false }

func unaryErrors(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return wrapError(invoker(ctx, method, req, reply, cc, opts...))
}

func streamErrors(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, wrapError(err)
	}
	return errorStream{s}, nil
}

// errorStream converts a stream's failures to *Error, so streaming and unary calls fail alike.
type errorStream struct{ grpc.ClientStream }

func (s errorStream) SendMsg(m any) error { return wrapError(s.ClientStream.SendMsg(m)) }
func (s errorStream) RecvMsg(m any) error { return wrapError(s.ClientStream.RecvMsg(m)) }
func (s errorStream) CloseSend() error    { return wrapError(s.ClientStream.CloseSend()) }
func (s errorStream) Header() (metadata.MD, error) {
	md, err := s.ClientStream.Header()
	return md, wrapError(err)
}

// Close ends the connection; calls still running fail with CANCELED.
func (c *Client) Close() error {
	return c.conn.Close()
}

// Project is the default project given to Dial with WithProject, or "".
func (c *Client) Project() string {
	return c.project
}

// Conn is the underlying connection, for services this package does not wrap.
func (c *Client) Conn() *grpc.ClientConn {
	return c.conn
}

// Ping asks the server's gRPC health service whether it serves, which needs no API key: a cheap way to tell a
// wrong address or an untrusted certificate (UNAVAILABLE) from a wrong key (UNAUTHENTICATED on the next call).
func (c *Client) Ping(ctx context.Context) error {
	resp, err := healthpb.NewHealthClient(c.conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return err
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return &Error{Code: codes.Unavailable, Message: "the server reports " + resp.GetStatus().String()}
	}
	return nil
}

// SplitTarget addresses a pre-production split, the destination of training and test data.
func SplitTarget(project, collection, split string) *sightlinev1.Target {
	return &sightlinev1.Target{Project: project, Collection: collection, Destination: &sightlinev1.Target_Split{Split: split}}
}

// ProductionTarget addresses a collection's production records. model is needed only when batches carry
// predictions or influences (or a read should return them); pass "" otherwise.
func ProductionTarget(project, collection, model string) *sightlinev1.Target {
	return &sightlinev1.Target{Project: project, Collection: collection, Destination: &sightlinev1.Target_Production{Production: true}, Model: model}
}

// Upload sends batches over one client-streaming call and returns the server's summary of the whole call. If the
// server refuses a batch whole, the error is INVALID_ARGUMENT with field violations under "batches[i]"; the
// batches before it are written.
func (c *Client) Upload(ctx context.Context, target *sightlinev1.Target, batches []*sightlinev1.RecordBatch) (*sightlinev1.WriteSummary, error) {
	return c.UploadSeq(ctx, target, func(yield func(*sightlinev1.RecordBatch, error) bool) {
		for _, b := range batches {
			if !yield(b, nil) {
				return
			}
		}
	})
}

// UploadSeq is Upload for batches produced on the fly (read from a file, say), so a backfill never holds more than
// one batch in memory. An error from batches ends the call and is returned as is; batches already sent stay
// written.
func (c *Client) UploadSeq(ctx context.Context, target *sightlinev1.Target, batches iter.Seq2[*sightlinev1.RecordBatch, error]) (*sightlinev1.WriteSummary, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.Ingest.Upload(ctx)
	if err != nil {
		return nil, err
	}
	send := func(req *sightlinev1.UploadRequest) (stop bool, err error) {
		err = stream.Send(req)
		if err == io.EOF {
			// The server ended the call early; CloseAndRecv below reports why.
			return true, nil
		}
		return false, err
	}
	stop, err := send(&sightlinev1.UploadRequest{Message: &sightlinev1.UploadRequest_Header{Header: target}})
	if err != nil {
		return nil, err
	}
	if !stop {
		for batch, err := range batches {
			if err != nil {
				return nil, err
			}
			if batch == nil {
				return nil, errors.New("sightline: Upload got a nil batch")
			}
			if stop, err = send(&sightlinev1.UploadRequest{Message: &sightlinev1.UploadRequest_Batch{Batch: batch}}); err != nil {
				return nil, err
			}
			if stop {
				break
			}
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return nil, err
	}
	return resp.GetSummary(), nil
}

// Put writes one batch in a unary call: the simplest way to send a few rows, such as a late label. The server caps
// its rows (SIGHTLINE_MAX_PUT_ROWS, 1000 by default); use Upload beyond that.
func (c *Client) Put(ctx context.Context, target *sightlinev1.Target, batch *sightlinev1.RecordBatch) (*sightlinev1.WriteSummary, error) {
	resp, err := c.Ingest.Put(ctx, &sightlinev1.PutRequest{Target: target, Batch: batch})
	if err != nil {
		return nil, err
	}
	return resp.GetSummary(), nil
}

// ReadRecords streams the joined records of req's target, one batch at a time, in record-ID order. The loop may
// stop early; the call is then cancelled. A failure (or ctx ending) is yielded once, as the last item:
//
//	for batch, err := range client.ReadRecords(ctx, req) {
//		if err != nil { return err }
//		...
//	}
func (c *Client) ReadRecords(ctx context.Context, req *sightlinev1.ReadRecordsRequest) iter.Seq2[*sightlinev1.RecordBatch, error] {
	return func(yield func(*sightlinev1.RecordBatch, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := c.Ingest.ReadRecords(ctx, req)
		if err != nil {
			yield(nil, err)
			return
		}
		for {
			resp, err := stream.Recv()
			if err == io.EOF {
				return
			}
			if err != nil {
				yield(nil, err)
				return
			}
			if resp.GetBatch() == nil {
				continue
			}
			if !yield(resp.GetBatch(), nil) {
				return
			}
		}
	}
}

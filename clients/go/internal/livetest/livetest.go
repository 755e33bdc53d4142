// Package livetest runs the real Sightline server and worker as child processes for the Go client's tests. The
// test runner (`npm run test:clients`) provides the databases, the built server and the node binary through
// SIGHTLINE_TEST_* variables; each Isolation gets its own database and queue prefix, so test packages can run at
// the same time against the same FerretDB and Redis.
package livetest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Env is what the test runner provides.
type Env struct {
	MongoURL  string
	RedisURL  string
	Root      string
	Node      string
	ServerEnv map[string]string
}

var requiredVars = []string{"SIGHTLINE_TEST_MONGODB_URL", "SIGHTLINE_TEST_REDIS_URL", "SIGHTLINE_TEST_ROOT", "SIGHTLINE_TEST_NODE"}

// LoadEnv reads the runner's variables, and says how to get them when they are missing.
func LoadEnv() (Env, error) {
	var missing []string
	for _, name := range requiredVars {
		if os.Getenv(name) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return Env{}, fmt.Errorf("the live-server tests need %s: run them with `npm run test:clients` from the repository root, which starts FerretDB and Redis, builds the server and sets these variables", strings.Join(missing, ", "))
	}
	env := Env{
		MongoURL:  os.Getenv("SIGHTLINE_TEST_MONGODB_URL"),
		RedisURL:  os.Getenv("SIGHTLINE_TEST_REDIS_URL"),
		Root:      os.Getenv("SIGHTLINE_TEST_ROOT"),
		Node:      os.Getenv("SIGHTLINE_TEST_NODE"),
		ServerEnv: map[string]string{},
	}
	if raw := os.Getenv("SIGHTLINE_TEST_SERVER_ENV"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &env.ServerEnv); err != nil {
			return Env{}, fmt.Errorf("SIGHTLINE_TEST_SERVER_ENV is not a JSON object of strings: %w", err)
		}
	}
	if _, err := os.Stat(filepath.Join(env.Root, "dist", "server", "src", "main.js")); err != nil {
		return Env{}, fmt.Errorf("the server is not built under %s (run `npm run build`): %w", env.Root, err)
	}
	return env, nil
}

// RequireEnv is LoadEnv for a test: without the runner's variables the test fails (it does not skip), so a
// misconfigured run can never pass by testing nothing.
func RequireEnv(t testing.TB) Env {
	t.Helper()
	env, err := LoadEnv()
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// Isolation is one database, queue prefix and admin key.
type Isolation struct {
	Database    string
	QueuePrefix string
	AdminKey    string
}

// NewIsolation names a fresh database t_go_<hex>; the runner drops t_* databases afterwards.
func NewIsolation() Isolation {
	tag := "t_go_" + randomHex(6)
	return Isolation{Database: tag, QueuePrefix: "{" + tag + "}", AdminKey: "admin-" + randomHex(16)}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// Process is a running server or worker with its output kept for diagnostics.
type Process struct {
	Name string
	cmd  *exec.Cmd

	mu     sync.Mutex
	lines  []string
	notify chan struct{}
	exited chan struct{}
	exit   error
}

const keptLines = 400

func start(env Env, name, entry string, vars map[string]string) (*Process, error) {
	script := filepath.Join(env.Root, "dist", "server", "src", entry)
	cmd := exec.Command(env.Node, "--enable-source-maps", script)
	cmd.Dir = env.Root
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	// If the test binary dies (a panic, a timeout), its servers die with it instead of lingering.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{Name: name, cmd: cmd, notify: make(chan struct{}), exited: make(chan struct{})}
	var readers sync.WaitGroup
	for _, r := range []io.Reader{stdout, stderr} {
		readers.Add(1)
		go func() {
			defer readers.Done()
			scanner := bufio.NewScanner(r)
			scanner.Buffer(make([]byte, 64*1024), 4*1024*1024)
			for scanner.Scan() {
				p.addLine(scanner.Text())
			}
		}()
	}
	go func() {
		readers.Wait()
		err := cmd.Wait()
		p.mu.Lock()
		p.exit = err
		p.mu.Unlock()
		close(p.exited)
	}()
	return p, nil
}

func (p *Process) addLine(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines = append(p.lines, line)
	if len(p.lines) > keptLines {
		p.lines = p.lines[len(p.lines)-keptLines:]
	}
	close(p.notify)
	p.notify = make(chan struct{})
}

// Output is the last lines the process printed.
func (p *Process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// WaitForLine returns the first kept line matching pattern, waiting up to timeout for it.
func (p *Process) WaitForLine(pattern *regexp.Regexp, timeout time.Duration) (string, error) {
	deadline := time.After(timeout)
	for {
		p.mu.Lock()
		for _, line := range p.lines {
			if pattern.MatchString(line) {
				p.mu.Unlock()
				return line, nil
			}
		}
		notify := p.notify
		p.mu.Unlock()
		select {
		case <-notify:
		case <-p.exited:
			// The last lines may have arrived with the exit; look once more.
			if line, ok := p.findLine(pattern); ok {
				return line, nil
			}
			return "", fmt.Errorf("%s exited (%v) before printing %s; output:\n%s", p.Name, p.exitErr(), pattern, p.Output())
		case <-deadline:
			return "", fmt.Errorf("%s printed no %s within %s; output:\n%s", p.Name, pattern, timeout, p.Output())
		}
	}
}

func (p *Process) findLine(pattern *regexp.Regexp) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, line := range p.lines {
		if pattern.MatchString(line) {
			return line, true
		}
	}
	return "", false
}

func (p *Process) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exit
}

// Stop sends SIGTERM and waits for the exit (SIGKILL after timeout). It returns the exit error: nil for exit 0.
func (p *Process) Stop(timeout time.Duration) error {
	select {
	case <-p.exited:
		return p.exitErr()
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return p.exitErr()
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("%s did not stop within %s of SIGTERM and was killed", p.Name, timeout)
	}
}

// Server is a running server process.
type Server struct {
	*Process
	Iso  Isolation
	Port int
	// Addr is 127.0.0.1:<port>.
	Addr string
}

// ServerOptions adjust one server.
type ServerOptions struct {
	// Port to listen on; 0 picks a free one.
	Port int
	// Extra environment, such as the TLS certificate files or a short shutdown grace period.
	Env map[string]string
}

var listening = regexp.MustCompile(`"msg":"listening"`)

func baseVars(env Env, iso Isolation) map[string]string {
	vars := map[string]string{
		"MONGODB_URL":            env.MongoURL,
		"REDIS_URL":              env.RedisURL,
		"MONGODB_DATABASE":       iso.Database,
		"SIGHTLINE_QUEUE_PREFIX": iso.QueuePrefix,
		"SIGHTLINE_ADMIN_KEY":    iso.AdminKey,
		"SIGHTLINE_LOG_LEVEL":    "info",
	}
	for k, v := range env.ServerEnv {
		vars[k] = v
	}
	return vars
}

// StartServer starts a server and waits until it listens.
func StartServer(env Env, iso Isolation, opts ServerOptions) (*Server, error) {
	vars := baseVars(env, iso)
	vars["SIGHTLINE_PORT"] = strconv.Itoa(opts.Port)
	vars["SIGHTLINE_HEALTH_INTERVAL_MS"] = "300"
	for k, v := range opts.Env {
		vars[k] = v
	}
	p, err := start(env, "server", "main.js", vars)
	if err != nil {
		return nil, err
	}
	line, err := p.WaitForLine(listening, 60*time.Second)
	if err != nil {
		_ = p.Stop(5 * time.Second)
		return nil, err
	}
	var parsed struct {
		Port int `json:"port"`
	}
	if err := json.Unmarshal([]byte(line), &parsed); err != nil || parsed.Port == 0 {
		_ = p.Stop(5 * time.Second)
		return nil, fmt.Errorf("no port in the listening line %q", line)
	}
	return &Server{Process: p, Iso: iso, Port: parsed.Port, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(parsed.Port))}, nil
}

var workerStarted = regexp.MustCompile(`"msg":"worker started"`)

// WorkerOptions adjust one worker.
type WorkerOptions struct {
	// Extra environment, such as a short SIGHTLINE_MONITORING_INTERVAL_MS.
	Env map[string]string
}

// StartWorker starts a statistics and monitoring worker on iso's queues and waits until it runs.
func StartWorker(env Env, iso Isolation) (*Process, error) {
	return StartWorkerWith(env, iso, WorkerOptions{})
}

// StartWorkerWith is StartWorker with options.
func StartWorkerWith(env Env, iso Isolation, opts WorkerOptions) (*Process, error) {
	vars := baseVars(env, iso)
	for k, v := range opts.Env {
		vars[k] = v
	}
	p, err := start(env, "worker", "worker.js", vars)
	if err != nil {
		return nil, err
	}
	if _, err := p.WaitForLine(workerStarted, 60*time.Second); err != nil {
		_ = p.Stop(5 * time.Second)
		return nil, err
	}
	return p, nil
}

// ServerFor starts a server for one test and stops it when the test ends.
func ServerFor(t testing.TB, iso Isolation, opts ServerOptions) *Server {
	t.Helper()
	env := RequireEnv(t)
	s, err := StartServer(env, iso, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(20 * time.Second); err != nil {
			t.Logf("stopping the server: %v", err)
		}
		if t.Failed() {
			t.Logf("server output:\n%s", s.Output())
		}
	})
	return s
}

// WorkerFor starts a worker for one test and stops it when the test ends.
func WorkerFor(t testing.TB, iso Isolation, opts WorkerOptions) *Process {
	t.Helper()
	env := RequireEnv(t)
	w, err := StartWorkerWith(env, iso, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Stop(20 * time.Second); err != nil {
			t.Logf("stopping the worker: %v", err)
		}
		if t.Failed() {
			t.Logf("worker output:\n%s", w.Output())
		}
	})
	return w
}

// Shared is a server and worker for a whole test package, started by the first test that asks.
type Shared struct {
	Server *Server
	Worker *Process
	Iso    Isolation
}

var (
	sharedMu  sync.Mutex
	shared    *Shared
	sharedErr error
)

// SharedServer returns the package's server and worker, starting them on first use; StopShared (from TestMain)
// stops them. A failure to start fails every test that needs them, with the reason.
func SharedServer(t testing.TB) *Shared {
	t.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared == nil && sharedErr == nil {
		shared, sharedErr = startShared()
	}
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

func startShared() (*Shared, error) {
	env, err := LoadEnv()
	if err != nil {
		return nil, err
	}
	iso := NewIsolation()
	var (
		server    *Server
		worker    *Process
		serverErr error
		workerErr error
		wg        sync.WaitGroup
	)
	wg.Add(2)
	go func() { defer wg.Done(); server, serverErr = StartServer(env, iso, ServerOptions{}) }()
	go func() { defer wg.Done(); worker, workerErr = StartWorker(env, iso) }()
	wg.Wait()
	if err := errors.Join(serverErr, workerErr); err != nil {
		if server != nil {
			_ = server.Stop(10 * time.Second)
		}
		if worker != nil {
			_ = worker.Stop(10 * time.Second)
		}
		return nil, err
	}
	return &Shared{Server: server, Worker: worker, Iso: iso}, nil
}

// StopShared stops the shared server and worker, if they were started.
func StopShared() {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared == nil {
		return
	}
	_ = shared.Server.Stop(20 * time.Second)
	_ = shared.Worker.Stop(20 * time.Second)
	shared = nil
}

// FreePort finds a port that is free right now, for a server that must come back on the same port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Context bounds a test's calls, so a hung server fails the test with a deadline instead of hanging the suite.
func Context(t testing.TB, limit time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	t.Cleanup(cancel)
	return ctx
}

package sightline_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	sightlinev1 "sightline/clients/go/gen/sightline/v1"
	"sightline/clients/go/internal/livetest"
	"sightline/clients/go/sightline"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and localhost, and its key, as PEM files.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "sightline test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// Over TLS the client works when it trusts the server's CA (by file, or by a tls.Config), and fails with the
// documented error (UNAVAILABLE, no reason, the certificate named in the message) when it does not.
func TestTLS(t *testing.T) {
	certFile, keyFile := selfSigned(t)
	iso := livetest.NewIsolation()
	s := livetest.ServerFor(t, iso, livetest.ServerOptions{Env: map[string]string{
		"SIGHTLINE_TLS_CERT_FILE": certFile,
		"SIGHTLINE_TLS_KEY_FILE":  keyFile,
	}})
	ctx := ctxFor(t, time.Minute)

	trusted := dial(t, s.Addr, sightline.WithAPIKey(iso.AdminKey), sightline.WithRootCAFile(certFile))
	if err := trusted.Ping(ctx); err != nil {
		t.Fatalf("Ping over TLS: %v", err)
	}
	project := uniqueName("tls")
	if _, err := trusted.Admin.CreateProject(ctx, &sightlinev1.CreateProjectRequest{Project: &sightlinev1.Project{Name: project}}); err != nil {
		t.Fatalf("CreateProject over TLS: %v", err)
	}

	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	byConfig := dial(t, "https://localhost:"+strings.Split(s.Addr, ":")[1], sightline.WithAPIKey(iso.AdminKey), sightline.WithTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	if got, err := byConfig.Admin.GetProject(ctx, &sightlinev1.GetProjectRequest{Name: project}); err != nil || got.GetProject().GetName() != project {
		t.Fatalf("GetProject over TLS with a tls.Config: %v, %v", got, err)
	}

	untrusted := dial(t, "https://"+s.Addr, sightline.WithAPIKey(iso.AdminKey))
	_, err = untrusted.Admin.GetProject(ctx, &sightlinev1.GetProjectRequest{Name: project})
	e := wantError(t, "a server certificate the client does not trust", err, codes.Unavailable, "")
	t.Logf("untrusted certificate: %v", e)
	if !strings.Contains(e.Message, "certificate") {
		t.Fatalf("the error does not name the certificate: %q", e.Message)
	}
	if err := untrusted.Ping(ctx); err == nil {
		t.Fatal("Ping succeeded with an untrusted certificate")
	}

	// Plaintext against the TLS port fails the same way, without reaching the server's handlers.
	plain := dial(t, s.Addr, sightline.WithAPIKey(iso.AdminKey))
	_, err = plain.Admin.GetProject(ctx, &sightlinev1.GetProjectRequest{Name: project})
	t.Logf("plaintext to TLS: %v", wantError(t, "plaintext to a TLS port", err, codes.Unavailable, ""))
}

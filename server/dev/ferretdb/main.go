// Command sightline-ferretdb runs FerretDB v1 on PostgreSQL through its embeddable package.
// `go install .../cmd/ferretdb` produces a binary that panics at start (its version file is missing),
// so the dev scripts build this small wrapper instead.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address for the MongoDB wire protocol")
	pgURL := flag.String("postgresql-url", "postgres://127.0.0.1:5432/ferretdb", "PostgreSQL connection string")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	ginEvery := flag.Duration("gin-index-interval", time.Second, "how often to add GIN twins of FerretDB's indexes (0 disables)")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "bad -log-level: %v\n", err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	db, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: *listen},
		Logger:        logger,
		Handler:       "postgresql",
		PostgreSQLURL: *pgURL,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: %v\n", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	if *ginEvery > 0 {
		go keepGinIndexes(ctx, *pgURL, *ginEvery, logger)
	}

	go func() {
		// MongoDBURI blocks until the listener is bound, so this line marks readiness for the scripts.
		fmt.Fprintf(os.Stdout, "ready %s\n", db.MongoDBURI())
	}()
	if err := db.Run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: %v\n", err)
		os.Exit(1)
	}
}

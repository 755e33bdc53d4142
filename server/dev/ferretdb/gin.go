package main

// FerretDB v1 pushes an equality filter down to PostgreSQL as `_jsonb->'key' @> value`, which its own btree
// expression indexes cannot serve, so every filtered read, update and upsert scans the whole table. For each of
// FerretDB's indexes this adds a GIN twin on the same first key, which serves `@>` (with the custom plans that
// `plan_cache_mode=force_custom_plan` guarantees). It changes only speed, never results: the service runs the
// same against MongoDB, where none of this exists. fastupdate is off because its pending list is scanned by every
// lookup until it is merged, and a bulk load keeps it long.

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var firstKey = regexp.MustCompile(`USING btree \(\(\(_jsonb -> '([^']+)'::text\)\)`)

// Indexes newer than the last round's, outside the system schemas. The OID filter is on pg_index alone, so
// pg_get_indexdef runs only for those rows: over every index in the database (system catalogs and all the tables the
// dev and test runs leave behind) it cost PostgreSQL 50 to 80 ms of CPU a round, a stall each second that every
// request felt at its tail.
const listIndexesSince = `
SELECT x.indexrelid::bigint, n.nspname, c.relname, pg_get_indexdef(x.indexrelid)
FROM pg_index x
JOIN pg_class c ON c.oid = x.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE x.indexrelid::bigint > $1 AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%'`

type ginTarget struct {
	oid                      int64
	schema, table, key, name string
}

func ginName(schema, table, key string) string {
	sum := sha1.Sum([]byte(schema + "." + table + "." + key))
	return "sl_gin_" + hex.EncodeToString(sum[:12])
}

// newGinTargets lists the GIN twins that indexes created after OID `since` call for, and the highest index OID seen.
func newGinTargets(ctx context.Context, pool *pgxpool.Pool, since int64) ([]ginTarget, int64, error) {
	rows, err := pool.Query(ctx, listIndexesSince, since)
	if err != nil {
		return nil, since, err
	}
	defer rows.Close()
	highest := since
	seen := map[string]bool{}
	var targets []ginTarget
	for rows.Next() {
		var oid int64
		var schema, table, def string
		if err := rows.Scan(&oid, &schema, &table, &def); err != nil {
			return nil, since, err
		}
		highest = max(highest, oid)
		m := firstKey.FindStringSubmatch(def)
		if m == nil {
			continue
		}
		name := ginName(schema, table, m[1])
		if !seen[name] {
			seen[name] = true
			targets = append(targets, ginTarget{oid, schema, table, m[1], name})
		}
	}
	return targets, highest, rows.Err()
}

// missingGinIndexes keeps the targets whose twin does not exist yet.
func missingGinIndexes(ctx context.Context, pool *pgxpool.Pool, targets []ginTarget) ([]ginTarget, error) {
	if len(targets) == 0 {
		return nil, nil
	}
	names := make([]string, len(targets))
	for i, t := range targets {
		names[i] = t.name
	}
	rows, err := pool.Query(ctx, `SELECT relname FROM pg_class WHERE relkind = 'i' AND relname = ANY($1)`, names)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	existing := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		existing[name] = true
	}
	var missing []ginTarget
	for _, t := range targets {
		if !existing[t.name] {
			missing = append(missing, t)
		}
	}
	return missing, rows.Err()
}

// ginRound adds the twins that indexes created after OID `since` call for, and returns the OID the next round starts
// after: the highest seen, or, when a twin could not be made, just below the oldest such index, so it is tried again
// (an index whose table was dropped meanwhile is gone from the next listing).
func ginRound(ctx context.Context, pool *pgxpool.Pool, since int64, logger *slog.Logger) (int64, error) {
	targets, highest, err := newGinTargets(ctx, pool, since)
	if err != nil {
		return since, err
	}
	missing, err := missingGinIndexes(ctx, pool, targets)
	if err != nil {
		return since, err
	}
	next := highest
	for _, t := range missing {
		sql := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s USING gin ((_jsonb -> %s)) WITH (fastupdate = off)`,
			pgx.Identifier{t.name}.Sanitize(), pgx.Identifier{t.schema, t.table}.Sanitize(), quoteLiteral(t.key))
		if _, err := pool.Exec(ctx, sql); err != nil && ctx.Err() == nil {
			logger.Debug("gin indexer: create failed", "table", t.table, "error", err)
			next = min(next, t.oid-1)
		}
	}
	return next, nil
}

// keepGinIndexes runs until ctx ends, adding missing GIN twins every interval.
func keepGinIndexes(ctx context.Context, pgURL string, interval time.Duration, logger *slog.Logger) {
	pool, err := pgxpool.New(ctx, pgURL)
	if err != nil {
		logger.Error("gin indexer: cannot connect", "error", err)
		return
	}
	defer pool.Close()
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var since int64
	for {
		since, err = ginRound(ctx, pool, since, logger)
		if err != nil && ctx.Err() == nil {
			logger.Warn("gin indexer: listing indexes failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func quoteLiteral(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}

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

const listIndexes = `
SELECT n.nspname, c.relname, pg_get_indexdef(x.indexrelid)
FROM pg_index x
JOIN pg_class c ON c.oid = x.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE pg_get_indexdef(x.indexrelid) LIKE '%USING btree (((_jsonb -> %'`

type ginTarget struct{ schema, table, key, name string }

func ginName(schema, table, key string) string {
	sum := sha1.Sum([]byte(schema + "." + table + "." + key))
	return "sl_gin_" + hex.EncodeToString(sum[:12])
}

func missingGinIndexes(ctx context.Context, pool *pgxpool.Pool) ([]ginTarget, error) {
	rows, err := pool.Query(ctx, listIndexes)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	seen := map[string]bool{}
	var targets []ginTarget
	for rows.Next() {
		var schema, table, def string
		if err := rows.Scan(&schema, &table, &def); err != nil {
			return nil, err
		}
		m := firstKey.FindStringSubmatch(def)
		if m == nil {
			continue
		}
		name := ginName(schema, table, m[1])
		if seen[name] {
			continue
		}
		seen[name] = true
		targets = append(targets, ginTarget{schema, table, m[1], name})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var existing = map[string]bool{}
	idx, err := pool.Query(ctx, `SELECT indexname FROM pg_indexes WHERE indexname LIKE 'sl_gin_%'`)
	if err != nil {
		return nil, err
	}
	defer idx.Close()
	for idx.Next() {
		var name string
		if err := idx.Scan(&name); err != nil {
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
	return missing, idx.Err()
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
	for {
		missing, err := missingGinIndexes(ctx, pool)
		if err != nil && ctx.Err() == nil {
			logger.Warn("gin indexer: listing indexes failed", "error", err)
		}
		for _, t := range missing {
			sql := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s USING gin ((_jsonb -> %s)) WITH (fastupdate = off)`,
				pgx.Identifier{t.name}.Sanitize(), pgx.Identifier{t.schema, t.table}.Sanitize(), quoteLiteral(t.key))
			// A table or schema dropped meanwhile makes this fail; the next round sees it gone.
			if _, err := pool.Exec(ctx, sql); err != nil && ctx.Err() == nil {
				logger.Debug("gin indexer: create failed", "table", t.table, "error", err)
			}
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

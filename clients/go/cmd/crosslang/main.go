// Command crosslang lets another language's test suite drive the Go client: it reads one JSON request on stdin,
// performs it with the sightline package, and prints one JSON result on stdout. Failures go to stderr with exit
// status 1. The Python suite uses it to check that what one client writes the other reads back unchanged.
//
//	crosslang write  {"url": "127.0.0.1:50051", "apiKey": "slk_...",
//	                  "target": {"project": "p", "collection": "c", "split": "train"},
//	                  "recordIds": ["a", "b"],
//	                  "columns": [{"name": "age", "type": "int64", "values": ["41", null]}]}
//	              -> {"rowsAccepted": 2, "rowsRejected": 0}
//	crosslang read   {"url": ..., "apiKey": ..., "target": {...}, "fields": ["age"]}
//	              -> {"recordIds": [...], "columns": [{"name": "age", "type": "int64", "values": ["41", null]}]}
//
// Column types are "double" (JSON numbers), "int64" (decimal strings, so values beyond 2^53 stay exact), "string"
// and "bool"; null is a null value. A target names either "split" or "production": true, and optionally "model".
// write also takes "eventTimes" (Unix milliseconds as decimal strings, or null) and "batchRows" (rows per batch,
// default 1000); both commands take "timeoutSeconds" (default 120).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	sightlinev1 "sightline/clients/go/gen/sightline/v1"
	"sightline/clients/go/sightline"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

type target struct {
	Project    string `json:"project"`
	Collection string `json:"collection"`
	Split      string `json:"split,omitempty"`
	Production bool   `json:"production,omitempty"`
	Model      string `json:"model,omitempty"`
}

type column struct {
	Name   string            `json:"name"`
	Type   string            `json:"type"`
	Values []json.RawMessage `json:"values"`
}

type request struct {
	URL            string            `json:"url"`
	APIKey         string            `json:"apiKey"`
	Target         *target           `json:"target"`
	TimeoutSeconds float64           `json:"timeoutSeconds"`
	RecordIDs      []string          `json:"recordIds"`
	Columns        []column          `json:"columns"`
	EventTimes     []json.RawMessage `json:"eventTimes"`
	BatchRows      int               `json:"batchRows"`
	Fields         []string          `json:"fields"`
}

type writeResult struct {
	RowsAccepted int64 `json:"rowsAccepted"`
	RowsRejected int64 `json:"rowsRejected"`
}

type outColumn struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Values []any  `json:"values"`
}

type readResult struct {
	RecordIDs []string    `json:"recordIds"`
	Columns   []outColumn `json:"columns"`
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) != 1 || (args[0] != "write" && args[0] != "read") {
		fmt.Fprintln(stderr, "usage: crosslang write|read < request.json")
		return 2
	}
	result, err := perform(args[0], stdin)
	if err == nil {
		err = json.NewEncoder(stdout).Encode(result)
	}
	if err != nil {
		fmt.Fprintf(stderr, "crosslang %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func perform(command string, stdin io.Reader) (any, error) {
	var req request
	if err := json.NewDecoder(stdin).Decode(&req); err != nil {
		return nil, fmt.Errorf("reading the request: %w", err)
	}
	if req.URL == "" || req.Target == nil {
		return nil, errors.New("the request needs url and target")
	}
	tgt, err := req.Target.proto()
	if err != nil {
		return nil, err
	}
	timeout := 120 * time.Second
	if req.TimeoutSeconds > 0 {
		timeout = time.Duration(req.TimeoutSeconds * float64(time.Second))
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	client, err := sightline.Dial(ctx, req.URL, sightline.WithAPIKey(req.APIKey))
	if err != nil {
		return nil, err
	}
	defer client.Close()
	if command == "write" {
		return write(ctx, client, tgt, &req)
	}
	return read(ctx, client, tgt, req.Fields)
}

func (t *target) proto() (*sightlinev1.Target, error) {
	switch {
	case t.Split != "" && t.Production:
		return nil, errors.New("target: give split or production, not both")
	case t.Production:
		return sightline.ProductionTarget(t.Project, t.Collection, t.Model), nil
	case t.Split != "":
		tgt := sightline.SplitTarget(t.Project, t.Collection, t.Split)
		tgt.Model = t.Model
		return tgt, nil
	}
	return nil, errors.New("target: give split or production")
}

func write(ctx context.Context, client *sightline.Client, tgt *sightlinev1.Target, req *request) (*writeResult, error) {
	rows := len(req.RecordIDs)
	cols := make([]sightline.Column, 0, len(req.Columns))
	for _, c := range req.Columns {
		if len(c.Values) != rows {
			return nil, fmt.Errorf("column %q has %d values for %d record IDs", c.Name, len(c.Values), rows)
		}
		col, err := decodeColumn(c)
		if err != nil {
			return nil, err
		}
		cols = append(cols, col)
	}
	var times []time.Time
	if req.EventTimes != nil {
		if len(req.EventTimes) != rows {
			return nil, fmt.Errorf("%d event times for %d record IDs", len(req.EventTimes), rows)
		}
		millis, nulls, err := decodeInt64s(req.EventTimes)
		if err != nil {
			return nil, fmt.Errorf("eventTimes: %w", err)
		}
		times = make([]time.Time, rows)
		for i := range millis {
			if !nulls[i] {
				times[i] = time.UnixMilli(millis[i])
			}
		}
	}
	per := req.BatchRows
	if per <= 0 {
		per = 1000
	}
	var batches []*sightlinev1.RecordBatch
	for lo := 0; lo < rows; lo += per {
		hi := min(lo+per, rows)
		b := sightline.NewBatch(req.RecordIDs[lo:hi]...)
		if times != nil {
			b.EventTimes(times[lo:hi]...)
		}
		for _, col := range cols {
			b.Columns(slice(col.Proto(), lo, hi))
		}
		batch, err := b.Build()
		if err != nil {
			return nil, err
		}
		batches = append(batches, batch)
	}
	summary, err := client.Upload(ctx, tgt, batches)
	if err != nil {
		return nil, err
	}
	return &writeResult{RowsAccepted: summary.GetRowsAccepted(), RowsRejected: summary.GetRowsRejected()}, nil
}

func decodeColumn(c column) (sightline.Column, error) {
	fail := func(err error) (sightline.Column, error) {
		return sightline.Column{}, fmt.Errorf("column %q: %w", c.Name, err)
	}
	switch c.Type {
	case "double":
		values, nulls, err := decodeEach(c.Values, func(raw json.RawMessage) (float64, error) {
			var v float64
			err := json.Unmarshal(raw, &v)
			return v, err
		})
		if err != nil {
			return fail(err)
		}
		return sightline.Doubles(c.Name, values, nulls), nil
	case "int64":
		values, nulls, err := decodeInt64s(c.Values)
		if err != nil {
			return fail(err)
		}
		return sightline.Int64s(c.Name, values, nulls), nil
	case "string":
		values, nulls, err := decodeEach(c.Values, func(raw json.RawMessage) (string, error) {
			var v string
			err := json.Unmarshal(raw, &v)
			return v, err
		})
		if err != nil {
			return fail(err)
		}
		return sightline.Strings(c.Name, values, nulls), nil
	case "bool":
		values, nulls, err := decodeEach(c.Values, func(raw json.RawMessage) (bool, error) {
			var v bool
			err := json.Unmarshal(raw, &v)
			return v, err
		})
		if err != nil {
			return fail(err)
		}
		return sightline.Bools(c.Name, values, nulls), nil
	}
	return fail(fmt.Errorf("unknown type %q (want double, int64, string or bool)", c.Type))
}

func isNull(raw json.RawMessage) bool {
	return strings.TrimSpace(string(raw)) == "null"
}

func decodeEach[T any](raws []json.RawMessage, decode func(json.RawMessage) (T, error)) ([]T, []bool, error) {
	values := make([]T, len(raws))
	nulls := make([]bool, len(raws))
	for i, raw := range raws {
		if isNull(raw) {
			nulls[i] = true
			continue
		}
		v, err := decode(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("value %d: %w", i, err)
		}
		values[i] = v
	}
	return values, nulls, nil
}

// decodeInt64s takes decimal strings, as the protocol asks, and also plain JSON integers: either way the digits
// are parsed as text, so no value passes through a float64.
func decodeInt64s(raws []json.RawMessage) ([]int64, []bool, error) {
	return decodeEach(raws, func(raw json.RawMessage) (int64, error) {
		text := strings.TrimSpace(string(raw))
		if strings.HasPrefix(text, `"`) {
			if err := json.Unmarshal(raw, &text); err != nil {
				return 0, err
			}
		}
		return strconv.ParseInt(text, 10, 64)
	})
}

// slice is rows [lo, hi) of a column, its null mask rebuilt for the new row numbers.
func slice(col *sightlinev1.Column, lo, hi int) sightline.Column {
	nulls := make([]bool, hi-lo)
	for i := range nulls {
		nulls[i] = sightline.IsNull(col.GetNullMask(), lo+i)
	}
	name := col.GetName()
	switch v := col.GetValues().(type) {
	case *sightlinev1.Column_Doubles:
		return sightline.Doubles(name, v.Doubles.GetValues()[lo:hi], nulls)
	case *sightlinev1.Column_Int64S:
		return sightline.Int64s(name, v.Int64S.GetValues()[lo:hi], nulls)
	case *sightlinev1.Column_Strings:
		return sightline.Strings(name, v.Strings.GetValues()[lo:hi], nulls)
	case *sightlinev1.Column_Bools:
		return sightline.Bools(name, v.Bools.GetValues()[lo:hi], nulls)
	}
	return sightline.RawColumn(nil)
}

func typeName(col *sightlinev1.Column) string {
	switch col.GetValues().(type) {
	case *sightlinev1.Column_Doubles:
		return "double"
	case *sightlinev1.Column_Int64S:
		return "int64"
	case *sightlinev1.Column_Strings:
		return "string"
	case *sightlinev1.Column_Bools:
		return "bool"
	}
	return ""
}

// encodeCell is a cell in the protocol's encoding: int64s as decimal strings, non-finite doubles (which JSON
// cannot hold, and the server never returns) as null.
func encodeCell(v any) any {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
	}
	return v
}

func read(ctx context.Context, client *sightline.Client, tgt *sightlinev1.Target, fields []string) (*readResult, error) {
	result := &readResult{RecordIDs: []string{}, Columns: []outColumn{}}
	index := map[string]int{}
	for batch, err := range client.ReadRecords(ctx, &sightlinev1.ReadRecordsRequest{Target: tgt, Fields: fields}) {
		if err != nil {
			return nil, err
		}
		before := len(result.RecordIDs)
		result.RecordIDs = append(result.RecordIDs, batch.GetRecordIds()...)
		for _, col := range batch.GetColumns() {
			i, ok := index[col.GetName()]
			if !ok {
				i = len(result.Columns)
				index[col.GetName()] = i
				// A column first seen in a later batch is null for the rows before it.
				result.Columns = append(result.Columns, outColumn{Name: col.GetName(), Type: typeName(col), Values: make([]any, before)})
			}
			for row := range batch.GetRecordIds() {
				result.Columns[i].Values = append(result.Columns[i].Values, encodeCell(sightline.Value(col, row)))
			}
		}
		// Keep every column as long as the record IDs, even one a batch lacked.
		for i := range result.Columns {
			for len(result.Columns[i].Values) < len(result.RecordIDs) {
				result.Columns[i].Values = append(result.Columns[i].Values, nil)
			}
		}
	}
	order := make([]int, len(result.RecordIDs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return result.RecordIDs[order[a]] < result.RecordIDs[order[b]] })
	result.RecordIDs = permute(result.RecordIDs, order)
	for i := range result.Columns {
		result.Columns[i].Values = permute(result.Columns[i].Values, order)
	}
	return result, nil
}

func permute[T any](values []T, order []int) []T {
	out := make([]T, len(order))
	for i, j := range order {
		out[i] = values[j]
	}
	return out
}

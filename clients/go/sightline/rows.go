package sightline

import (
	"time"

	sightlinev1 "sightline/clients/go/gen/sightline/v1"
)

// Row is one record of a batch read back. Cell values are float64, int64, string or bool by column type (a
// TIMESTAMP field reads as int64 Unix milliseconds), and nil where the value is null or the record lacks that
// kind of data.
type Row struct {
	RecordID string
	// EventTime is zero when the record has none (split records, or labels that arrived alone).
	EventTime   time.Time
	Columns     map[string]any
	Predictions map[string]any
	Influences  map[string]any
}

// Value is the cell at row of col: nil when null, otherwise float64, int64, string or bool.
func Value(col *sightlinev1.Column, row int) any {
	if IsNull(col.GetNullMask(), row) || row < 0 {
		return nil
	}
	switch v := col.GetValues().(type) {
	case *sightlinev1.Column_Doubles:
		if vals := v.Doubles.GetValues(); row < len(vals) {
			return vals[row]
		}
	case *sightlinev1.Column_Int64S:
		if vals := v.Int64S.GetValues(); row < len(vals) {
			return vals[row]
		}
	case *sightlinev1.Column_Strings:
		if vals := v.Strings.GetValues(); row < len(vals) {
			return vals[row]
		}
	case *sightlinev1.Column_Bools:
		if vals := v.Bools.GetValues(); row < len(vals) {
			return vals[row]
		}
	}
	return nil
}

// EventTime is row's event time, and false when it is null or the batch carries none.
func EventTime(batch *sightlinev1.RecordBatch, row int) (time.Time, bool) {
	times := batch.GetEventTimes()
	if times == nil || row < 0 || row >= len(times.GetUnixMillis()) || IsNull(times.GetNullMask(), row) {
		return time.Time{}, false
	}
	return time.UnixMilli(times.GetUnixMillis()[row]).UTC(), true
}

// Rows turns a columnar batch into one Row per record: the inverse of Batch, for reading back and for tests.
// Prefer the columns themselves for large reads; maps cost an allocation per cell.
func Rows(batch *sightlinev1.RecordBatch) []Row {
	rows := make([]Row, len(batch.GetRecordIds()))
	group := func(cols []*sightlinev1.Column, row int) map[string]any {
		m := make(map[string]any, len(cols))
		for _, c := range cols {
			m[c.GetName()] = Value(c, row)
		}
		return m
	}
	for i, id := range batch.GetRecordIds() {
		t, _ := EventTime(batch, i)
		rows[i] = Row{
			RecordID:    id,
			EventTime:   t,
			Columns:     group(batch.GetColumns(), i),
			Predictions: group(batch.GetPredictions(), i),
			Influences:  group(batch.GetInfluences(), i),
		}
	}
	return rows
}

package sightline

import (
	"errors"
	"fmt"
	"time"

	sightlinev1 "sightline/clients/go/gen/sightline/v1"
)

// NullMask packs per-row null flags into the wire format: bit i of the mask, least significant bit first within
// each byte, is set when row i is null. It returns nil when no row is null, because an empty mask means "no
// nulls" and is the cheapest thing to send.
func NullMask(nulls []bool) []byte {
	var mask []byte
	for row, null := range nulls {
		if !null {
			continue
		}
		if mask == nil {
			mask = make([]byte, (len(nulls)+7)/8)
		}
		mask[row>>3] |= 1 << (row & 7)
	}
	return mask
}

// IsNull reads row's bit of a null mask; rows past the end of the mask (an empty mask, say) are not null.
func IsNull(mask []byte, row int) bool {
	if row < 0 || row>>3 >= len(mask) {
		return false
	}
	return mask[row>>3]&(1<<(row&7)) != 0
}

// Nullable splits pointers into values and null flags, for data that arrives as *T with nil for missing:
//
//	values, nulls := sightline.Nullable(incomes)
//	batch.Columns(sightline.Doubles("income", values, nulls))
func Nullable[T any](values []*T) ([]T, []bool) {
	out := make([]T, len(values))
	nulls := make([]bool, len(values))
	for i, v := range values {
		if v == nil {
			nulls[i] = true
		} else {
			out[i] = *v
		}
	}
	return out, nulls
}

// Batch builds a columnar RecordBatch from Go slices. Columns are what the server stores and what DataFrames
// hold, so a batch is assembled column by column rather than row by row; for one record per message (a real-time
// service), give every column a one-element slice:
//
//	batch, err := sightline.NewBatch("a1", "a2").
//		Columns(
//			sightline.Int64s("age", []int64{41, 29}, nil),
//			sightline.Doubles("income.monthly", []float64{5200, 0}, []bool{false, true}), // row 1 is null
//		).
//		Build()
//
// Schema fields (features, labels, extra data) go in Columns, the model's prediction fields in Predictions, and
// its per-feature influences in Influences. Mistakes (a column longer than the record IDs, a repeated name) are
// collected and reported once by Build, so the calls chain without error checks in between.
type Batch struct {
	recordIDs   []string
	eventTimes  []time.Time
	hasTimes    bool
	columns     []Column
	predictions []Column
	influences  []Column
}

// Column is one named, typed column on its way into a Batch, made by Doubles, Int64s, Strings, Bools, Times or
// RawColumn.
type Column struct {
	pb  *sightlinev1.Column
	err error
}

// Proto is the wire form of the column.
func (c Column) Proto() *sightlinev1.Column { return c.pb }

// NewBatch starts a batch of len(recordIDs) rows. Record IDs are how the server upserts, so re-sending a batch
// (after a reconnect, say) never duplicates a row.
func NewBatch(recordIDs ...string) *Batch {
	return &Batch{recordIDs: recordIDs}
}

// EventTimes sets each row's event time, which production rows need when they carry features, predictions or
// extra data. A zero time.Time is sent as null. Times travel as Unix milliseconds, so finer precision is dropped.
func (b *Batch) EventTimes(times ...time.Time) *Batch {
	b.eventTimes = times
	b.hasTimes = true
	return b
}

// Columns adds schema fields: features, labels and extra data, matched to the collection's fields by name.
func (b *Batch) Columns(cols ...Column) *Batch {
	b.columns = append(b.columns, cols...)
	return b
}

// Predictions adds the prediction fields of the model named in the target.
func (b *Batch) Predictions(cols ...Column) *Batch {
	b.predictions = append(b.predictions, cols...)
	return b
}

// Influences adds the model's influences: one DOUBLE column per feature, named after the feature, all or none.
func (b *Batch) Influences(cols ...Column) *Batch {
	b.influences = append(b.influences, cols...)
	return b
}

// Build checks the batch's shape and returns the message. The server checks it again (and the values row by row);
// checking here turns a whole-batch refusal into an error before anything is sent.
func (b *Batch) Build() (*sightlinev1.RecordBatch, error) {
	var errs []error
	rows := len(b.recordIDs)
	if rows == 0 {
		errs = append(errs, errors.New("the batch has no record IDs"))
	}
	batch := &sightlinev1.RecordBatch{RecordIds: b.recordIDs}
	if b.hasTimes {
		if len(b.eventTimes) != rows {
			errs = append(errs, fmt.Errorf("%d event times for %d record IDs", len(b.eventTimes), rows))
		}
		millis, nulls := timesToMillis(b.eventTimes)
		batch.EventTimes = &sightlinev1.TimestampColumn{UnixMillis: millis, NullMask: NullMask(nulls)}
	}
	for _, group := range []struct {
		name string
		cols []Column
		dst  *[]*sightlinev1.Column
	}{
		{"columns", b.columns, &batch.Columns},
		{"predictions", b.predictions, &batch.Predictions},
		{"influences", b.influences, &batch.Influences},
	} {
		seen := map[string]bool{}
		for _, col := range group.cols {
			if col.err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", group.name, col.err))
				continue
			}
			if col.pb == nil {
				errs = append(errs, fmt.Errorf("%s: an empty Column", group.name))
				continue
			}
			name := col.pb.GetName()
			if seen[name] {
				errs = append(errs, fmt.Errorf("%s: %q appears twice", group.name, name))
			}
			seen[name] = true
			if n := columnLen(col.pb); n != rows {
				errs = append(errs, fmt.Errorf("%s: %q has %d values for %d record IDs", group.name, name, n, rows))
			}
			*group.dst = append(*group.dst, col.pb)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("sightline: invalid batch: %w", errors.Join(errs...))
	}
	return batch, nil
}

func newColumn(name string, n int, nulls []bool, pb *sightlinev1.Column) Column {
	var errs []error
	if name == "" {
		errs = append(errs, errors.New("a column has no name"))
	}
	if len(nulls) != 0 && len(nulls) != n {
		errs = append(errs, fmt.Errorf("%q has %d values but %d null flags", name, n, len(nulls)))
	}
	pb.Name = name
	if pb.NullMask == nil {
		pb.NullMask = NullMask(nulls)
	}
	return Column{pb: pb, err: errors.Join(errs...)}
}

// Doubles makes a DOUBLE column (or a numeric prediction or influence). nulls may be nil when no value is
// missing; otherwise it has one flag per value, true for null (the value there is ignored).
func Doubles(name string, values []float64, nulls []bool) Column {
	return newColumn(name, len(values), nulls, &sightlinev1.Column{Values: &sightlinev1.Column_Doubles{Doubles: &sightlinev1.DoubleValues{Values: values}}})
}

// Int64s makes an INT64 column; nulls as for Doubles. Values beyond 2^53 travel exactly.
func Int64s(name string, values []int64, nulls []bool) Column {
	return newColumn(name, len(values), nulls, &sightlinev1.Column{Values: &sightlinev1.Column_Int64S{Int64S: &sightlinev1.Int64Values{Values: values}}})
}

// Strings makes a STRING or CATEGORICAL column; nulls as for Doubles.
func Strings(name string, values []string, nulls []bool) Column {
	return newColumn(name, len(values), nulls, &sightlinev1.Column{Values: &sightlinev1.Column_Strings{Strings: &sightlinev1.StringValues{Values: values}}})
}

// Bools makes a BOOL column; nulls as for Doubles.
func Bools(name string, values []bool, nulls []bool) Column {
	return newColumn(name, len(values), nulls, &sightlinev1.Column{Values: &sightlinev1.Column_Bools{Bools: &sightlinev1.BoolValues{Values: values}}})
}

// Times makes a TIMESTAMP column, sent as Unix milliseconds. A row is null where nulls says so and where the time
// is zero.
func Times(name string, values []time.Time, nulls []bool) Column {
	millis, zero := timesToMillis(values)
	if len(nulls) == len(values) {
		for i, null := range nulls {
			zero[i] = zero[i] || null
		}
	}
	col := newColumn(name, len(values), nulls, &sightlinev1.Column{Values: &sightlinev1.Column_Int64S{Int64S: &sightlinev1.Int64Values{Values: millis}}})
	col.pb.NullMask = NullMask(zero)
	return col
}

// RawColumn adds a column built by hand, for encodings the helpers do not cover (whole-number doubles for an
// INT64 field, say).
func RawColumn(c *sightlinev1.Column) Column {
	if c == nil {
		return Column{err: errors.New("a nil column")}
	}
	return Column{pb: c}
}

func timesToMillis(times []time.Time) ([]int64, []bool) {
	millis := make([]int64, len(times))
	nulls := make([]bool, len(times))
	for i, t := range times {
		if t.IsZero() {
			nulls[i] = true
			continue
		}
		millis[i] = t.UnixMilli()
	}
	return millis, nulls
}

func columnLen(col *sightlinev1.Column) int {
	switch v := col.GetValues().(type) {
	case *sightlinev1.Column_Doubles:
		return len(v.Doubles.GetValues())
	case *sightlinev1.Column_Int64S:
		return len(v.Int64S.GetValues())
	case *sightlinev1.Column_Strings:
		return len(v.Strings.GetValues())
	case *sightlinev1.Column_Bools:
		return len(v.Bools.GetValues())
	}
	return 0
}

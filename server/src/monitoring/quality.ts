// Data quality of one field in one bucket, against what the baseline split says is normal. Pure: the monitoring job
// feeds it the bucket's values and a profile it computed once from the baseline.

/** What the baseline says of a numeric field: its observed range. */
export interface NumericProfile {
  min: number;
  max: number;
}

/** What the baseline says of a categorical or string field: the values it holds. */
export interface CategoricalProfile {
  categories: ReadonlySet<string>;
}

export interface FieldQuality {
  /** Records in the bucket. */
  count: number;
  missing: number;
  missingRate: number | undefined;
  /** Numeric fields: present values outside the baseline's [min, max]. */
  outOfRange?: number;
  outOfRangeRate?: number | undefined;
  /** Categorical fields: present values the baseline never held. */
  unseen?: number;
  unseenRate?: number | undefined;
}

/** The baseline's range; undefined when it holds no value, and then nothing can be out of range. */
export function numericProfile(values: Iterable<number | null>): NumericProfile | undefined {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v === null) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min <= max ? { min, max } : undefined;
}

export function categoricalProfile(values: Iterable<string | null>): CategoricalProfile {
  const categories = new Set<string>();
  for (const v of values) if (v !== null) categories.add(v);
  return { categories };
}

function rate(part: number, whole: number): number | undefined {
  return whole === 0 ? undefined : part / whole;
}

/**
 * Rates are over the bucket's records for missing values, and over its present values for out-of-range ones, so a
 * field that is mostly missing does not hide that what is there is wrong.
 */
export function numericQuality(values: ArrayLike<number | null>, baseline: NumericProfile | undefined): FieldQuality {
  let missing = 0;
  let outOfRange = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v === null) missing++;
    else if (baseline !== undefined && (v < baseline.min || v > baseline.max)) outOfRange++;
  }
  const present = values.length - missing;
  return {
    count: values.length,
    missing,
    missingRate: rate(missing, values.length),
    outOfRange,
    outOfRangeRate: baseline === undefined ? undefined : rate(outOfRange, present),
  };
}

export function categoricalQuality(values: ArrayLike<string | null>, baseline: CategoricalProfile): FieldQuality {
  let missing = 0;
  let unseen = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v === null) missing++;
    else if (!baseline.categories.has(v)) unseen++;
  }
  const present = values.length - missing;
  return { count: values.length, missing, missingRate: rate(missing, values.length), unseen, unseenRate: rate(unseen, present) };
}

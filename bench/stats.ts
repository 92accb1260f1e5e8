// Summary statistics the benchmark suites share.

/** The `p`-quantile (0…1) of `values`, nearest rank; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

/** The median of `values`. */
export function median(values: readonly number[]): number {
  return percentile(values, 0.5);
}

/** `value` rounded to `digits` decimals, for printing and the results file. */
export function round(value: number, digits = 3): number {
  return Number(value.toFixed(digits));
}

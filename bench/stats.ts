// Small statistics helpers: medians of runs, percentiles of latency samples, ratios and ranges.

/** The p-th percentile (0..100) of some values, by nearest rank on a sorted copy. NaN when empty. */
export function percentile(values: ArrayLike<number>, p: number): number {
  const n = values.length
  if (n === 0) return Number.NaN
  const sorted = Float64Array.from(values).sort()
  const rank = Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))
  return sorted[rank]!
}

export function median(values: ArrayLike<number>): number {
  const n = values.length
  if (n === 0) return Number.NaN
  const sorted = Float64Array.from(values).sort()
  const mid = n >> 1
  return n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export function range(values: ArrayLike<number>): { min: number; max: number } {
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  for (let i = 0; i < values.length; i++) {
    min = Math.min(min, values[i]!)
    max = Math.max(max, values[i]!)
  }
  return { min, max }
}

/** A measured quantity over several runs: every run's value, its median and range. */
export interface Series {
  runs: number[]
  median: number
  min: number
  max: number
}

export function series(runs: number[]): Series {
  return { runs, median: median(runs), ...range(runs) }
}

/** Formats a number with a sensible number of digits: 12345 -> "12.3k", 4.567 -> "4.57". */
export function fmt(value: number, unit = ''): string {
  if (!Number.isFinite(value)) return 'n/a'
  const abs = Math.abs(value)
  let text: string
  if (abs >= 10_000) text = `${(value / 1000).toFixed(1)}k`
  else if (abs >= 1000) text = `${(value / 1000).toFixed(2)}k`
  else if (abs >= 100) text = value.toFixed(0)
  else if (abs >= 10) text = value.toFixed(1)
  else text = value.toFixed(2)
  return unit ? `${text} ${unit}` : text
}

/** `median (min-max)` of a series. */
export function fmtSeries(s: Series, unit = ''): string {
  if (s.runs.length <= 1) return fmt(s.median, unit)
  return `${fmt(s.median, unit)} (${fmt(s.min)}-${fmt(s.max)})`
}

export function fmtRatio(s: Series): string {
  if (!Number.isFinite(s.median)) return 'n/a'
  if (s.runs.length <= 1) return s.median.toFixed(2)
  return `${s.median.toFixed(2)} (${s.min.toFixed(2)}-${s.max.toFixed(2)})`
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

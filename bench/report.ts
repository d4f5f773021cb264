// What a section hands back to bench/run.ts: tables to print (console) and write (RESULTS.md), and
// the targets it checked.
import { fmt, fmtRatio, fmtSeries, series, type Series } from './stats.js'

export interface Table {
  title: string
  columns: string[]
  rows: string[][]
  notes?: string[]
}

export interface Check {
  what: string
  value: string
  target: string
  ok: boolean
}

export interface SectionResult {
  tables: Table[]
  checks: Check[]
  notes: string[]
}

/** One run of a load: throughput and latency. */
export interface Sample {
  /** Operations per second (requests, or calls for a batch). */
  rate: number
  /** Latency of one request, milliseconds. */
  p50: number
  p99: number
}

/** Per-run samples of one measurement, next to the floor's samples of the same rounds. */
export interface Compared {
  label: string
  samples: Sample[]
  floor: Sample[]
}

const ratioSeries = (values: number[], floor: number[]) => series(values.map((v, i) => v / floor[i]!))

/** Rows: label | rate | p50 | p99 | rate ratio | p50 ratio | p99 ratio (each median (min-max) over the runs). */
export function comparedRows(rows: Compared[], unit = 'req/s'): { columns: string[]; rows: string[][] } {
  return {
    columns: ['what', unit, 'p50 ms', 'p99 ms', `${unit} / floor`, 'p50 / floor', 'p99 / floor'],
    rows: rows.map((row) => {
      const pick = (key: keyof Sample, s: Sample[]) => s.map((x) => x[key])
      return [
        row.label,
        fmtSeries(series(pick('rate', row.samples))),
        fmtSeries(series(pick('p50', row.samples))),
        fmtSeries(series(pick('p99', row.samples))),
        fmtRatio(ratioSeries(pick('rate', row.samples), pick('rate', row.floor))),
        fmtRatio(ratioSeries(pick('p50', row.samples), pick('p50', row.floor))),
        fmtRatio(ratioSeries(pick('p99', row.samples), pick('p99', row.floor))),
      ]
    }),
  }
}

export function rateRatio(row: Compared): Series {
  return ratioSeries(
    row.samples.map((s) => s.rate),
    row.floor.map((s) => s.rate),
  )
}

export { fmt, fmtRatio, fmtSeries, series }

/** A table as aligned plain text. */
export function textTable(table: Table): string {
  const all = [table.columns, ...table.rows]
  const widths = table.columns.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)))
  const line = (row: string[]) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')
  return [`## ${table.title}`, line(table.columns), widths.map((w) => '-'.repeat(w)).join('  '), ...table.rows.map(line), ...(table.notes ?? []).map((n) => `  ${n}`)].join('\n')
}

export function markdownTable(table: Table): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|')
  return [
    `#### ${table.title}`,
    '',
    `| ${table.columns.map(escape).join(' | ')} |`,
    `|${table.columns.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...table.rows.map((row) => `| ${row.map(escape).join(' | ')} |`),
    ...(table.notes && table.notes.length > 0 ? ['', ...table.notes.map((n) => `${n}  `)] : []),
  ].join('\n')
}

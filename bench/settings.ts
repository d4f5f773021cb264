// Knobs for the whole bench, from the environment (defaults keep a full run under ~5 minutes).
const number = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`)
  return value
}

export const settings = {
  /** Runs of every measurement; figures are the median, ranges show the spread. */
  runs: number('BENCH_RUNS', 3),
  /** Seconds per HTTP load run. */
  seconds: number('BENCH_SECONDS', 2),
  /** Concurrent connections of the HTTP load. */
  connections: number('BENCH_CONNECTIONS', 10),
  /** Messages per ingestion run. */
  messages: number('BENCH_MESSAGES', 300),
}

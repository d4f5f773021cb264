// What makes two sends "the same request" for an Idempotency-Key: the procedure and its input,
// whatever the order of the JSON fields. The session, the API key and the key itself are left out
// (the key is stored per session; the same send made with another key of the session is the same).
import { createHash } from 'node:crypto'

const IGNORED = new Set(['session', 'api_key', 'idempotencyKey'])

/** JSON with object keys sorted, so `{a,b}` and `{b,a}` hash alike. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

export function requestHash(procedure: string, input: unknown): string {
  const fields = input !== null && typeof input === 'object' && !Array.isArray(input) ? Object.fromEntries(Object.entries(input).filter(([k]) => !IGNORED.has(k))) : input
  return createHash('sha256').update(procedure).update('\n').update(canonical(fields)).digest('hex')
}

// How a rejected input reads. Zod's own words ("Invalid input: expected string, received undefined")
// name no field and read like a stack trace; these say what is missing or what was expected, and
// every zod parse in the process uses them (installed once, by createRequestListener). A message a
// schema writes itself (`.min(7, 'at least 7 digits')`) is kept: this only fills the defaults.
import { z } from 'zod'

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  bigint: 'a whole number',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  date: 'a date',
  null: 'null',
  undefined: 'nothing',
}

/** What a value is, in words: `a number`, `an array`, `null`. */
function described(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return TYPE_NAMES[typeof value] ?? `a ${typeof value}`
}

const customError: z.core.$ZodErrorMap = (issue) => {
  if (issue.code !== 'invalid_type') return undefined
  const field = issue.path?.length ? issue.path.map(String).join('.') : undefined
  if (issue.input === undefined) return field ? `${field} is required` : 'a value is required'
  const expected = TYPE_NAMES[issue.expected] ?? issue.expected
  // A query parameter coerced to a number that is not one arrives as NaN: "not a number" says it all.
  if (typeof issue.input === 'number' && Number.isNaN(issue.input)) return `expected ${expected}`
  return `expected ${expected}, not ${described(issue.input)}`
}

let installed = false

/** Makes these the default messages of every zod schema (idempotent). */
export function installErrorWording(): void {
  if (installed) return
  installed = true
  z.config({ customError })
}

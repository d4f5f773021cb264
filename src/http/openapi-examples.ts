// Examples for every request and response of the OpenAPI document. A procedure may give a whole
// request or response in `meta.examples`; otherwise one is composed from the schema: a field's own
// `examples` (the shared schemas of src/routers/inputs.ts, src/session/shapes.ts and
// src/events/types.ts carry them), else its const, enum, format or type. Requests get the required
// fields only (plus the first alternative of an `anyOf` of required sets), so each is the smallest
// call the server accepts; responses get every field. tests/openapi-contract.test.ts validates each
// example against its schema and sends each request to the running service.
import type { AnyTRPCProcedure } from '@trpc/server'
import type { OpenAPIObject } from 'trpc-to-openapi'
import type { Meta } from '../trpc.js'
import { requestExamples } from './openapi-request-examples.js'

type Schema = {
  $ref?: string
  examples?: unknown[]
  example?: unknown
  const?: unknown
  enum?: unknown[]
  default?: unknown
  type?: string | string[]
  format?: string
  properties?: Record<string, Schema>
  required?: string[]
  items?: Schema
  anyOf?: Schema[]
  oneOf?: Schema[]
  allOf?: Schema[]
  minimum?: number
  maximum?: number
  minLength?: number
  additionalProperties?: Schema | boolean
}

const FORMATS: Record<string, string> = {
  'date-time': '2026-06-09T12:00:00.000Z',
  uri: 'https://example.com/webhook',
  email: 'user@example.com',
  uuid: '3f2b8c1e-6a4d-4e8b-9c2a-1d5e7f9a0b3c',
}

/** A value that fits `schema` (as far as its examples, consts and types tell). */
export function exampleOf(schema: Schema | undefined, document: OpenAPIObject, mode: 'request' | 'response', depth = 0): unknown {
  if (!schema || depth > 10) return undefined
  if (schema.$ref) return exampleOf(resolve(schema.$ref, document), document, mode, depth + 1)
  if (schema.examples?.length) return schema.examples[0]
  if (schema.example !== undefined) return schema.example
  if (schema.const !== undefined) return schema.const
  if (schema.enum?.length) return schema.enum.find((value) => value !== null) ?? schema.enum[0]
  if (schema.default !== undefined) return schema.default
  if (schema.allOf) return Object.assign({}, ...schema.allOf.map((part) => exampleOf(part, document, mode, depth + 1)))
  const choices = schema.oneOf ?? (schema.properties ? undefined : schema.anyOf)
  if (choices) {
    const branch = choices.find((choice) => choice.type !== 'null') ?? choices[0]
    return exampleOf(branch, document, mode, depth + 1)
  }
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type
  switch (type ?? (schema.properties ? 'object' : undefined)) {
    case 'object': {
      const wanted = new Set(mode === 'request' ? (schema.required ?? []) : Object.keys(schema.properties ?? {}))
      if (mode === 'request') for (const name of schema.anyOf?.[0]?.required ?? []) wanted.add(name)
      const example: Record<string, unknown> = {}
      for (const name of wanted) {
        const value = exampleOf(schema.properties?.[name], document, mode, depth + 1)
        if (value !== undefined) example[name] = value
      }
      return example
    }
    case 'array':
      return schema.items ? [exampleOf(schema.items, document, mode, depth + 1)] : []
    case 'string':
      return FORMATS[schema.format ?? ''] ?? 'text'
    case 'integer':
    case 'number':
      return Math.min(Math.max(schema.minimum ?? 1, 1), schema.maximum ?? Number.MAX_SAFE_INTEGER)
    case 'boolean':
      return true
    case 'null':
      return null
    default:
      return undefined
  }
}

function resolve(ref: string, document: OpenAPIObject): Schema | undefined {
  const name = ref.replace('#/components/schemas/', '')
  return document.components?.schemas?.[name] as Schema | undefined
}

type Parameter = { name: string; in: string; required?: boolean; schema?: Schema; example?: unknown }
type Media = { schema?: Schema; example?: unknown }
type Operation = { parameters?: Parameter[]; requestBody?: { content?: Record<string, Media> }; responses?: Record<string, { content?: Record<string, Media> }> }

/** Puts an example on every parameter, request body and JSON response of the procedures' operations. */
export function declareExamples(document: OpenAPIObject, procedures: Record<string, AnyTRPCProcedure>): void {
  for (const procedure of Object.values(procedures)) {
    const meta = (procedure as unknown as { _def: { meta?: Meta } })._def.meta
    if (!meta?.openapi) continue
    const operation = (document.paths?.[meta.openapi.path] as Record<string, Operation> | undefined)?.[meta.openapi.method.toLowerCase()]
    if (!operation) continue
    const input = (meta.examples?.input ?? requestExamples[`${meta.openapi.method} ${meta.openapi.path}`]) as Record<string, unknown> | undefined
    const inPath = new Set<string>()
    for (const parameter of operation.parameters ?? []) {
      inPath.add(parameter.name)
      const example = input?.[parameter.name] ?? exampleOf(parameter.schema, document, 'request')
      if (example !== undefined) parameter.example ??= example
    }
    const body = operation.requestBody?.content?.['application/json']
    if (body) {
      // The body is what the example gives that no parameter takes.
      const fields = input && Object.fromEntries(Object.entries(input).filter(([name]) => !inPath.has(name)))
      body.example ??= fields ?? exampleOf(body.schema, document, 'request')
    }
    const ok = operation.responses?.['200']?.content?.['application/json']
    if (ok) ok.example ??= meta.examples?.output ?? exampleOf(ok.schema, document, 'response')
  }
}

// The OpenAPI document, generated from the routers' zod schemas and meta (trpc-to-openapi), then
// corrected where the generator cannot know our choices: the shared error body and the errors each
// operation can answer (openapi-errors.ts), examples (openapi-examples.ts), the webhook payloads
// (openapi-webhooks.ts), tags, public routes, and responses that are not JSON (the QR PNG).
import type { AnyTRPCProcedure } from '@trpc/server'
import { generateOpenApiDocument, type OpenAPIObject } from 'trpc-to-openapi'
import { z } from 'zod'
import { errorBodySchema } from '../errors.js'
import type { AppRouter } from '../routers/index.js'
import type { Meta } from '../trpc.js'
import { declareErrors } from './openapi-errors.js'
import { declareExamples, exampleOf } from './openapi-examples.js'
import { declareWebhooks } from './openapi-webhooks.js'

type Operation = { responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }> }
export type DocumentPatch = (document: OpenAPIObject) => void

const errorSchemaRef = { $ref: '#/components/schemas/Error' }

/** Every 4xx/5xx answer has the one error body of src/errors.ts, whatever the generator wrote. */
function useSharedErrorBody(document: OpenAPIObject): void {
  document.components ??= {}
  document.components.schemas ??= {}
  const error = z.toJSONSchema(errorBodySchema, { target: 'draft-2020-12' }) as Record<string, unknown>
  // A `$schema` inside a component makes some validators treat it as a separate document and skip it.
  delete error.$schema
  document.components.schemas.Error = error as never
  for (const pathItem of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(pathItem as Record<string, Operation>)) {
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        if (Number(status) >= 400) response.content = { 'application/json': { schema: errorSchemaRef } }
      }
    }
  }
  // The generator's own error schemas ({message, code}) describe a body this service never sends.
  for (const name of Object.keys(document.components.schemas)) if (name.startsWith('error.')) delete document.components.schemas[name]
}

const TAGS: Record<string, string> = {
  Connection: 'Health, connection status, pairing (QR or code), reconnect and logout',
  Sessions: 'Several WhatsApp numbers in one deployment: create, list and delete sessions, and their own keys (admin key only)',
  Messaging: 'Send messages of every kind, react, edit, delete, mark read, presence',
  Groups: 'Create and manage groups, their participants, invites and join requests',
  Contacts: 'The address book and whether numbers are on WhatsApp',
  Chats: 'Stored chats and their messages',
  Webhooks: 'Where events are delivered, the deliveries, and the event payloads (see `webhooks`)',
  Events: 'The recent events log',
}

/** The tag list with descriptions (and any tag a router uses that is not described above). */
function declareTags(document: OpenAPIObject): void {
  const used = new Set<string>()
  for (const pathItem of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(pathItem as Record<string, { tags?: string[] }>)) for (const tag of operation.tags ?? []) used.add(tag)
  }
  document.tags = [...new Set([...Object.keys(TAGS), ...used])].map((name) => ({ name, description: TAGS[name] ?? name }))
}

/** Public routes say so (`security: []`); every operation gets a description (its summary, when it has no other). */
function declarePublicAndDescriptions(document: OpenAPIObject, procedures: Record<string, AnyTRPCProcedure>): void {
  for (const procedure of Object.values(procedures)) {
    const openapi = (procedure as unknown as { _def: { meta?: Meta } })._def.meta?.openapi
    if (!openapi) continue
    const operation = (document.paths?.[openapi.path] as Record<string, { security?: unknown[]; description?: string; summary?: string }> | undefined)?.[openapi.method.toLowerCase()]
    if (!operation) continue
    if (openapi.protect === false) operation.security = []
    operation.description ??= `${operation.summary ?? openapi.path}.`
  }
}

type PatchedOperation = {
  parameters?: { name: string; in: string; example?: unknown }[]
  responses?: Record<string, { content?: Record<string, { schema?: object; example?: unknown }> }>
}

/**
 * What the patches add gets examples too: the `{session}` of the per-session copies
 * (session-paths.ts), and the JSON responses of operations that are not procedures (composed).
 */
function completeExamples(document: OpenAPIObject): void {
  for (const pathItem of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(pathItem as Record<string, PatchedOperation>)) {
      for (const parameter of operation.parameters ?? []) if (parameter.in === 'path' && parameter.name === 'session') parameter.example ??= 'default'
      for (const response of Object.values(operation.responses ?? {})) {
        const json = response.content?.['application/json']
        if (json?.schema && json.example === undefined) json.example = exampleOf(json.schema, document, 'response')
      }
    }
  }
}

export function buildOpenApiDocument(router: AppRouter, options: { baseUrl: string; version: string }, patches: DocumentPatch[] = []): OpenAPIObject {
  const document = generateOpenApiDocument(router, {
    title: 'wsgo - WhatsApp HTTP API',
    description:
      'Send and receive WhatsApp messages over REST or tRPC. When the service runs with API_KEY set, send the key in the ' +
      '`X-API-Key` header or the `api_key` query parameter. Incoming messages and connection changes are delivered to your webhook.',
    version: options.version,
    baseUrl: options.baseUrl,
    securitySchemes: {
      ApiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'The API_KEY the service runs with, in the X-API-Key header' },
      ApiKeyQuery: {
        type: 'apiKey',
        in: 'query',
        name: 'api_key',
        description: 'The same key in the api_key query parameter, for clients that cannot set a header',
      },
    },
  })
  useSharedErrorBody(document)
  const procedures = router._def.procedures as unknown as Record<string, AnyTRPCProcedure>
  declareErrors(document, procedures)
  declarePublicAndDescriptions(document, procedures)
  declareTags(document)
  declareWebhooks(document)
  // Last: examples are composed from the schemas as corrected above.
  declareExamples(document, procedures)
  for (const patch of patches) patch(document)
  completeExamples(document)
  return document
}

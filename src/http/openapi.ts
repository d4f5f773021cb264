// The OpenAPI document, generated from the routers' zod schemas and meta (trpc-to-openapi), then
// corrected where the generator cannot know our choices: the shared error body, and responses that
// are not JSON (the QR PNG).
import { generateOpenApiDocument, type OpenAPIObject } from 'trpc-to-openapi'
import { z } from 'zod'
import { errorBodySchema } from '../errors.js'
import type { AppRouter } from '../routers/index.js'

type Operation = { responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }> }
export type DocumentPatch = (document: OpenAPIObject) => void

const errorSchemaRef = { $ref: '#/components/schemas/Error' }

/** Every 4xx/5xx answer has the one error body of src/errors.ts, whatever the generator wrote. */
function useSharedErrorBody(document: OpenAPIObject): void {
  document.components ??= {}
  document.components.schemas ??= {}
  document.components.schemas.Error = z.toJSONSchema(errorBodySchema, { target: 'draft-2020-12' }) as never
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
  for (const patch of patches) patch(document)
  return document
}

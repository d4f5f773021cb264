// The public type surface of the TypeScript client package (`client/`, published as @wsgo-ts/client).
// `npm run build:client` (scripts/build-client.mjs) resolves every export of this module into
// standalone declarations in client/router.d.ts: plain object types that need nothing of the
// server's (no zod, Prisma, Baileys or pino types), only @trpc/server's router and procedure types.
// So every type added here must resolve to data: no functions, no generics, no recursion. A type
// named as a schema's id (`.meta({ id })`, the OpenAPI component) gets that schema's field descriptions.
import type { inferRouterOutputs } from '@trpc/server'
import type { EventData, EventType } from './events/types.js'
import type { AppRouter } from './routers/index.js'

export type { AppRouter }
export type { ErrorCode, ErrorBody, Issue } from './errors.js'
export type { EventType, LoggedEvent } from './events/types.js'
export type { StreamedEvent } from './events/stream.js'

// What the client receives: outputs as they are on the wire (what tRPC's client infers too).
type Outputs = inferRouterOutputs<AppRouter>

/** GET /api/status, `session.status`: the connection to WhatsApp. */
export type Status = Outputs['session']['status']
/** What every message send answers. */
export type SendResult = Outputs['messages']['sendText']
/** A session (WhatsApp number) of the deployment, `sessions.get`. */
export type Session = Outputs['sessions']['get']
/** One entry of `contacts.list`. */
export type Contact = Outputs['contacts']['list'][number]
/** One entry of `groups.list`. */
export type Group = Outputs['groups']['list'][number]
/** A group's full description, `groups.get`. */
export type GroupInfo = Outputs['groups']['get']
/** One entry of `chats.list`. */
export type Chat = Outputs['chats']['list']['chats'][number]
/** A stored message, as `chats.messages` lists it. */
export type StoredMessage = Outputs['chats']['messages']['messages'][number]
/** The webhook's settings and delivery counters, `webhook.get`. */
export type WebhookState = Outputs['webhook']['get']
/** One webhook delivery, `webhook.deliveries`. */
export type WebhookDelivery = Outputs['webhook']['deliveries'][number]

/** The `data` of each event, by event type. */
export type EventPayloads = { [K in EventType]: EventData<K> }
/** The `data` of a `message` event: an incoming (or, with fromMe, own) message. */
export type MessageEvent = EventData<'message'>
/** The body the webhook POSTs for every event: `{event, data}`, `data` typed by `event`. */
export type WebhookPayload = { [K in EventType]: { event: K; data: EventData<K> } }[EventType]

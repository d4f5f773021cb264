// The root router. Its type is the whole API contract for TypeScript clients:
//   import type { AppRouter } from 'wsgo-ts/client'
import { router } from '../trpc.js'
import { chatsRouter } from './chats.js'
import { contactsRouter } from './contacts.js'
import { eventsRouter } from './events.js'
import { groupsRouter } from './groups.js'
import { healthRouter } from './health.js'
import { mediaRouter } from './media.js'
import { messagesRouter } from './messages.js'
import { sessionRouter } from './session.js'
import { sessionsRouter } from './sessions.js'
import { webhookEndpointsRouter } from './webhook-endpoints.js'
import { webhooksRouter } from './webhooks.js'

export const appRouter = router({
  health: healthRouter,
  sessions: sessionsRouter,
  session: sessionRouter,
  messages: messagesRouter,
  groups: groupsRouter,
  contacts: contactsRouter,
  chats: chatsRouter,
  webhook: webhooksRouter,
  webhooks: webhookEndpointsRouter,
  events: eventsRouter,
  media: mediaRouter,
})

export type AppRouter = typeof appRouter

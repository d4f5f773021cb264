import { tracked } from '@trpc/server'
import { z } from 'zod'
import { EventTail } from '../events/stream.js'
import { streamRegistryOf } from '../events/stream-registry.js'
import { eventTypeSchema, loggedEventSchema } from '../events/types.js'
import { router, sessionProcedure, withSession } from '../trpc.js'

/** The largest page GET /api/events returns (issue 18: every list is bounded). */
export const EVENTS_PAGE_MAX = 1000

/** How often a stream on a process that does not own its session reads the log for new events. */
const POLL_MS = 250

const eventId = z.coerce.number().int().min(0)

export const eventsRouter = router({
  list: sessionProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/api/events',
        summary: 'Recent events, newest first',
        description:
          `The rolling log (newest 500 by default): messages, connections, disconnections, QR codes, logouts, webhook failures. ` +
          `Pages of at most ${EVENTS_PAGE_MAX}; \`before\` and \`after\` are id cursors: \`before\` pages back in time (pass the last id of a page), ` +
          '`after` pages forward (pass the first id of a page: the events right after it, still newest first).',
        tags: ['Events'],
      },
      runsOn: 'any',
    })
    .input(
      withSession({
        limit: z.coerce.number().int().min(1).max(EVENTS_PAGE_MAX).default(500).describe(`How many events at most (up to ${EVENTS_PAGE_MAX})`),
        type: z.string().min(1).optional().describe('Only events of this type, e.g. message'),
        before: eventId.optional().describe('Only events older than this id'),
        after: eventId.optional().describe('Only events newer than this id'),
      }),
    )
    .output(z.array(loggedEventSchema))
    .query(({ ctx, input }) => ctx.session.events.list(input)),

  /**
   * The session's events live, as they are stored (also GET /api/events/stream, as Server-Sent
   * Events). Each event is tracked by its log id: httpSubscriptionLink sends the last one back when
   * it reconnects, and the stream resumes from the log right after it.
   */
  onEvent: sessionProcedure
    .meta({ runsOn: 'any' })
    .input(
      withSession({
        types: z.array(eventTypeSchema).min(1).optional().describe('Only events of these types (all when absent)'),
        lastEventId: z
          .string()
          .regex(/^\d{1,15}$/, 'expected an event id (digits)')
          .nullish()
          .describe('Resume right after this event id (what the stream sent last); absent: only events from now on'),
      }),
    )
    .subscription(async ({ ctx, input, signal }) => {
      // Taken before the stream starts, so a refusal is the call's error (a 429 on REST).
      const slot = streamRegistryOf(ctx.services).acquire(signal)
      const { config } = ctx.services
      const session = ctx.session
      const tail = new EventTail(session.events, {
        types: input.types,
        after: input.lastEventId == null ? undefined : Number(input.lastEventId),
        maxBuffered: config.EVENT_STREAM_BUFFER,
        isLocal: () => session.isOwned,
        pollMs: POLL_MS,
        signal: slot.signal,
      })
      return (async function* () {
        try {
          for await (const event of tail.events()) yield tracked(String(event.id), event)
        } finally {
          slot.close()
        }
      })()
    }),
})

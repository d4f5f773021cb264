// Connection & status: GET /api/status, GET /api/qr, POST /api/reconnect, POST /api/logout,
// POST /api/pair-code (each also at /api/sessions/{session}/...).
import QRCode from 'qrcode'
import { z } from 'zod'
import { ApiError } from '../errors.js'
import { sessionProcedure, router, withSession } from '../trpc.js'
import { stateSchema, statusSchema, type SessionStatus } from '../session/shapes.js'
import type { Services } from '../services.js'
import { phoneSchema } from './inputs.js'

export const qrSchema = z.object({
  qr: z.string().describe('The raw QR code text'),
  image_base64: z.string().describe('The QR code as a PNG, base64-encoded'),
  mime_type: z.literal('image/png'),
})

/** The QR on show now; 409 when already paired, 404 when none is on show yet. */
export function currentQrOrThrow(session: { currentQr(): string | undefined; status(): { state: string } }): string {
  const qr = session.currentQr()
  if (qr) return qr
  if (session.status().state === 'open') throw new ApiError('ALREADY_PAIRED', 'The device is already paired; POST /api/logout first to pair another phone')
  throw new ApiError('NO_QR', 'No QR code to show yet: the session is connecting; try again in a moment')
}

/**
 * A session's status from whichever process owns it. A call forwarded here already went one hop:
 * it is answered from what this process knows.
 */
export function statusWherever(services: Services, name: string, forwarded: boolean): Promise<SessionStatus> {
  const forward = (owner: { url: string }) => services.forward.call(owner.url, 'session.status', 'query', { session: name }, name) as Promise<SessionStatus>
  return services.sessions.statusOf(name, forwarded ? undefined : forward)
}

export const qrPng = (qr: string) => QRCode.toBuffer(qr, { type: 'png', width: 512, margin: 2, errorCorrectionLevel: 'M' })

const actionResult = z.object({ status: z.string(), state: stateSchema })

export const sessionRouter = router({
  status: sessionProcedure
    .meta({ openapi: { method: 'GET', path: '/api/status', summary: 'Connection status and device info', tags: ['Connection'] }, runsOn: 'any' })
    .input(withSession())
    .output(statusSchema)
    .query(({ ctx }) => {
      const { services, session, forwarded } = ctx
      return statusWherever(services, session.name, forwarded)
    }),

  qr: sessionProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/api/qr',
        summary: 'The QR code to pair WhatsApp',
        description:
          'Without `format` the raw QR text (text/plain); `format=image` a PNG; `format=base64` JSON with the PNG as base64. ' +
          '404 while there is no QR yet, 409 when already paired.',
        tags: ['Connection'],
      },
      errors: ['NO_QR', 'ALREADY_PAIRED'],
    })
    .input(withSession({ format: z.enum(['text', 'image', 'base64']).optional().describe('omit for raw text') }))
    .output(qrSchema)
    .query(async ({ ctx }) => {
      const qr = currentQrOrThrow(await ctx.session.connection())
      return { qr, image_base64: (await qrPng(qr)).toString('base64'), mime_type: 'image/png' as const }
    }),

  reconnect: sessionProcedure
    .meta({ openapi: { method: 'POST', path: '/api/reconnect', summary: 'Disconnect and connect again (a new QR if not paired)', tags: ['Connection'] } })
    .input(withSession())
    .output(actionResult)
    .mutation(async ({ ctx }) => {
      const connection = await ctx.session.connection()
      await connection.reconnect()
      return { status: 'reconnecting', state: connection.status().state }
    }),

  logout: sessionProcedure
    .meta({ openapi: { method: 'POST', path: '/api/logout', summary: 'Log out from WhatsApp and unpair the device', tags: ['Connection'] } })
    .input(withSession())
    .output(actionResult)
    .mutation(async ({ ctx }) => {
      const connection = await ctx.session.connection()
      await connection.logout()
      return { status: 'logged_out', state: connection.status().state }
    }),

  pairCode: sessionProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/api/pair-code',
        summary: 'Pair by phone number instead of a QR',
        description: 'Returns the 8-character code to type in WhatsApp > Linked devices > Link with phone number.',
        tags: ['Connection'],
      },
      errors: ['ALREADY_PAIRED'],
    })
    .input(withSession({ phone: phoneSchema }))
    .output(z.object({ code: z.string().describe('8 characters, e.g. ABCD1234') }))
    .mutation(async ({ ctx, input }) => ({ code: await (await ctx.session.connection()).requestPairingCode(input.phone) })),
})

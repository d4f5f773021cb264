// Connection & status: GET /api/status, GET /api/qr, POST /api/reconnect, POST /api/logout,
// POST /api/pair-code.
import QRCode from 'qrcode'
import { z } from 'zod'
import { ApiError } from '../errors.js'
import { protectedProcedure, router } from '../trpc.js'
import { phoneSchema } from './inputs.js'

const stateSchema = z.enum(['connecting', 'qr', 'open', 'closed', 'logged_out', 'standby'])

export const statusSchema = z
  .object({
    connected: z.boolean().describe('The WebSocket to WhatsApp is up (also while showing a QR)'),
    loggedIn: z.boolean().describe('Paired and logged in: messages can be sent'),
    device: z.string().describe('This linked device\'s JID, e.g. 573000000:1@s.whatsapp.net ("" before pairing)'),
    pushName: z.string(),
    platform: z.string().describe('The phone\'s platform as WhatsApp reports it, e.g. smba, android'),
    state: stateSchema.describe('connecting, qr (waiting for a scan), open, closed, logged_out, standby (another process sharing the database owns the connection)'),
    lastDisconnect: z
      .object({ code: z.number().nullable(), reason: z.string(), at: z.string() })
      .nullable()
      .describe('Why the connection last closed, when it is not open'),
  })
  .meta({ id: 'Status' })

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

export const qrPng = (qr: string) => QRCode.toBuffer(qr, { type: 'png', width: 512, margin: 2, errorCorrectionLevel: 'M' })

const actionResult = z.object({ status: z.string(), state: stateSchema })

export const sessionRouter = router({
  status: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/api/status', summary: 'Connection status and device info', tags: ['Connection'] } })
    .input(z.void())
    .output(statusSchema)
    .query(({ ctx }) => ctx.services.session.status()),

  qr: protectedProcedure
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
    })
    .input(z.object({ format: z.enum(['text', 'image', 'base64']).optional().describe('omit for raw text') }))
    .output(qrSchema)
    .query(async ({ ctx }) => {
      const qr = currentQrOrThrow(ctx.services.session)
      return { qr, image_base64: (await qrPng(qr)).toString('base64'), mime_type: 'image/png' as const }
    }),

  reconnect: protectedProcedure
    .meta({ openapi: { method: 'POST', path: '/api/reconnect', summary: 'Disconnect and connect again (a new QR if not paired)', tags: ['Connection'] } })
    .input(z.void())
    .output(actionResult)
    .mutation(async ({ ctx }) => {
      await ctx.services.session.reconnect()
      return { status: 'reconnecting', state: ctx.services.session.status().state }
    }),

  logout: protectedProcedure
    .meta({ openapi: { method: 'POST', path: '/api/logout', summary: 'Log out from WhatsApp and unpair the device', tags: ['Connection'] } })
    .input(z.void())
    .output(actionResult)
    .mutation(async ({ ctx }) => {
      await ctx.services.session.logout()
      return { status: 'logged_out', state: ctx.services.session.status().state }
    }),

  pairCode: protectedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/api/pair-code',
        summary: 'Pair by phone number instead of a QR',
        description: 'Returns the 8-character code to type in WhatsApp > Linked devices > Link with phone number.',
        tags: ['Connection'],
      },
    })
    .input(z.object({ phone: phoneSchema }))
    .output(z.object({ code: z.string().describe('8 characters, e.g. ABCD1234') }))
    .mutation(async ({ ctx, input }) => ({ code: await ctx.services.session.requestPairingCode(input.phone) })),
})

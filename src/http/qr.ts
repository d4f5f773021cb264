// GET /api/qr answers in three formats; two are not JSON (raw text, PNG), which trpc-to-openapi
// cannot send. This route serves those through the same procedure (same auth, same errors) and
// leaves `format=base64` (JSON) and bad formats to the REST handler.
import type { IncomingMessage } from 'node:http'
import type { RequestHandler } from 'express'
import type { OpenAPIObject } from 'trpc-to-openapi'
import { appRouter } from '../routers/index.js'
import { createCallerFactory, type Context } from '../trpc.js'

const createCaller = createCallerFactory(appRouter)

export function qrRoute(createContext: (req: IncomingMessage) => Context): RequestHandler {
  return async (req, res, next) => {
    const format = req.query.format
    if (format !== undefined && format !== 'text' && format !== 'image') return next()
    try {
      const { qr, image_base64 } = await createCaller(createContext(req)).session.qr({ format })
      res.setHeader('Cache-Control', 'no-store')
      if (format === 'image') res.type('image/png').send(Buffer.from(image_base64, 'base64'))
      else res.type('text/plain').send(qr)
    } catch (error) {
      next(error)
    }
  }
}

/** The generated document only knows the JSON answer; add the text and PNG ones. */
export function declareQrFormats(document: OpenAPIObject): void {
  const ok = document.paths?.['/api/qr']?.get?.responses?.['200'] as { content?: Record<string, unknown> } | undefined
  if (!ok) return
  ok.content = {
    'text/plain': { schema: { type: 'string', description: 'The raw QR code text (no format)' } },
    'image/png': { schema: { type: 'string', contentMediaType: 'image/png', description: 'format=image' } },
    ...ok.content,
  }
}

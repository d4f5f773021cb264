// GET /api/media/{id} (and /api/sessions/{session}/media/{id}): the bytes of an incoming media file,
// which trpc-to-openapi cannot send (it answers JSON). The key check, the session and the 404/409
// come from the `media.download` procedure's sibling `media.info`; the bytes are then read here.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { OpenAPIObject } from 'trpc-to-openapi'
import { appRouter } from '../routers/index.js'
import { createCallerFactory, type Context } from '../trpc.js'
import { DEFAULT_SESSION } from '../session/names.js'

const createCaller = createCallerFactory(appRouter)
const PATH = /^\/api\/media\/([^/?]+)(\?.*)?$/

/** Whether a request (its path already scoped to a session) asks for a media file's bytes. */
export function isMediaDownload(req: IncomingMessage): boolean {
  return (req.method === 'GET' || req.method === 'HEAD') && PATH.test(req.url ?? '')
}

export function mediaDownloadRoute(createContext: (req: IncomingMessage) => Context, failed: (error: unknown, req: IncomingMessage, res: ServerResponse) => void) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const [, rawId, query] = PATH.exec(req.url ?? '')!
      let id: string
      try {
        id = decodeURIComponent(rawId!)
      } catch {
        id = rawId!
      }
      const context = createContext(req)
      const named = new URLSearchParams(query?.slice(1) ?? '').get('session') ?? undefined
      const caller = createCaller(context)
      const info = await caller.media.info({ id, ...(named !== undefined && { session: named }) })
      const session = await context.services.sessions.get(context.pathSession ?? named ?? DEFAULT_SESSION)
      const stored = await session.media.read(info.id)
      if (!stored?.data) {
        // Raised through the procedure so the answer is the usual error body.
        await caller.media.download({ id, ...(named !== undefined && { session: named }) })
        return
      }
      const fileName = stored.record.fileName ?? `${info.id}${extensionOf(stored.record.mimetype)}`
      res.statusCode = 200
      res.setHeader('Content-Type', stored.record.mimetype)
      res.setHeader('Content-Length', String(stored.data.length))
      res.setHeader('Content-Disposition', `attachment; filename="${fileName.replace(/["\\\r\n]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(fileName)}`)
      res.setHeader('X-Content-Type-Options', 'nosniff')
      res.setHeader('Cache-Control', 'private, max-age=3600')
      res.end(req.method === 'HEAD' ? undefined : stored.data)
    } catch (error) {
      failed(error, req, res)
    }
  }
}

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': '.jpg',
  'image/png': '.png',
  'image/webp': '.webp',
  'image/gif': '.gif',
  'video/mp4': '.mp4',
  'audio/ogg': '.ogg',
  'audio/mpeg': '.mp3',
  'audio/mp4': '.m4a',
  'application/pdf': '.pdf',
}

function extensionOf(mimetype: string): string {
  return EXTENSIONS[mimetype.split(';')[0]!.trim()] ?? ''
}

/** The generated document knows the procedure's JSON answer only: GET /api/media/{id} answers the file. */
export function declareMediaBytes(document: OpenAPIObject): void {
  const ok = document.paths?.['/api/media/{id}']?.get?.responses?.['200'] as { description?: string; content?: Record<string, unknown>; headers?: Record<string, unknown> } | undefined
  if (!ok) return
  ok.description = 'The file, as the sender sent it'
  ok.content = { 'application/octet-stream': { schema: { type: 'string', format: 'binary', description: 'The bytes; Content-Type is the media\'s own (image/jpeg, audio/ogg, ...)' } } }
  ok.headers = {
    'Content-Disposition': { schema: { type: 'string' }, description: 'attachment; filename="<the file name>"' },
    'Content-Length': { schema: { type: 'integer' } },
  }
}

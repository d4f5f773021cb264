// A session's incoming media in the store (the Media table): the decrypted bytes of each image,
// video, audio, document and sticker it received, keyed by message id, so that any process sharing
// the database can serve them. A download that failed is kept as `failed` with what is needed to
// try again (the message's media fields), and media over MEDIA_MAX_BYTES as `too_large`.
import { setImmediate as nextTurn } from 'node:timers/promises'
import type { Db } from '../store/database.js'

export type MediaStatus = 'stored' | 'failed' | 'too_large'

export interface MediaRecord {
  id: string
  chat: string
  mimetype: string
  fileName: string | undefined
  size: number
  sha256: string
  status: MediaStatus
  error: string | undefined
  attempts: number
  /** The message's media fields as JSON (url, directPath, mediaKey as base64, the media type). */
  source: string
}

const DAY_MS = 24 * 60 * 60_000
/** Rows per statement when pruning or listing failed downloads: small, so the event loop gets turns. */
const BATCH = 200
export class MediaStore {
  constructor(
    private readonly db: Db,
    readonly session: string,
  ) {}

  /** Writes (or replaces) a message's media: the bytes when `data` is given. */
  async save(record: MediaRecord, data: Buffer | undefined): Promise<void> {
    const { id, ...fields } = record
    const row = { ...fields, fileName: fields.fileName ?? null, error: fields.error ?? null, data: data ? new Uint8Array(data) : null }
    await this.db.media.upsert({
      where: { session_id: { session: this.session, id } },
      create: { session: this.session, id, ...row },
      update: row,
    })
  }

  /** What is known of a message's media, without its bytes. */
  async info(id: string): Promise<MediaRecord | undefined> {
    const row = await this.db.media.findUnique({ where: { session_id: { session: this.session, id } }, omit: { data: true } })
    return row ? toRecord(row) : undefined
  }

  /** The media with its bytes (undefined bytes unless stored). */
  async read(id: string): Promise<{ record: MediaRecord; data: Buffer | undefined } | undefined> {
    const row = await this.db.media.findUnique({ where: { session_id: { session: this.session, id } } })
    if (!row) return undefined
    return { record: toRecord(row), data: row.data ? Buffer.from(row.data) : undefined }
  }

  /** Failed downloads tried fewer than `maxAttempts` times, oldest first (at most `limit`). */
  async failed(maxAttempts: number, limit = BATCH): Promise<MediaRecord[]> {
    const rows = await this.db.media.findMany({
      where: { session: this.session, status: 'failed', attempts: { lt: maxAttempts } },
      omit: { data: true },
      orderBy: { createdAt: 'asc' },
      take: limit,
    })
    return rows.map(toRecord)
  }

  /** Deletes media older than the retention, a batch at a time. */
  async prune(retentionDays: number, now = Date.now()): Promise<number> {
    const cutoff = new Date(now - retentionDays * DAY_MS)
    let deleted = 0
    for (;;) {
      const rows = await this.db.media.findMany({ where: { session: this.session, createdAt: { lt: cutoff } }, select: { id: true }, take: BATCH })
      if (rows.length === 0) return deleted
      deleted += (await this.db.media.deleteMany({ where: { session: this.session, id: { in: rows.map((row) => row.id) } } })).count
      await nextTurn()
    }
  }
}

function toRecord(row: {
  id: string
  chat: string
  mimetype: string
  fileName: string | null
  size: number
  sha256: string
  status: string
  error: string | null
  attempts: number
  source: string
}): MediaRecord {
  return {
    id: row.id,
    chat: row.chat,
    mimetype: row.mimetype,
    fileName: row.fileName ?? undefined,
    size: row.size,
    sha256: row.sha256,
    status: row.status as MediaStatus,
    error: row.error ?? undefined,
    attempts: row.attempts,
    source: row.source,
  }
}

// The media of incoming messages, from WhatsApp to the store: each file is downloaded as soon as
// its message is decrypted (start()), several at once, while the messages are still recorded in
// arrival order: a message's event waits only for its own download (result()). A failed download
// is kept as `failed` and tried again later (retryFailed(), on a timer) or on request (retry()).
import type { MediaPart } from '../session/incoming/content.js'
import { toField, type MediaField } from './field.js'
import type { Logger } from '../logger.js'
import { downloadMedia, MediaTooLargeError, type DownloadOptions } from './download.js'
import type { MediaRecord, MediaStore } from './store.js'

/** Failed downloads are tried again this many times in all, by the retry timer. */
export const MAX_ATTEMPTS = 5

interface SourceJson {
  type: MediaPart['type']
  url?: string | undefined
  directPath?: string | undefined
  mediaKey: string
}

export class IncomingMedia {
  private readonly started = new Map<string, Promise<MediaField>>()

  constructor(
    private readonly store: MediaStore,
    private readonly options: DownloadOptions,
    private readonly log: Logger,
  ) {}

  /** Starts downloading a message's media now (idempotent); the result is awaited with result(). */
  start(id: string, chat: string, part: MediaPart): Promise<MediaField> {
    let running = this.started.get(id)
    if (!running) {
      running = this.fetchAndKeep(id, chat, part, 0)
      this.started.set(id, running)
      // Dropped once settled and read: the map holds only downloads under way.
      void running.finally(() => setTimeout(() => this.started.delete(id), 60_000).unref?.())
    }
    return running
  }

  result(id: string, chat: string, part: MediaPart): Promise<MediaField> {
    return this.start(id, chat, part)
  }

  /** Downloads a failed media again now. Undefined when there is no such media. */
  async retry(id: string): Promise<MediaRecord | undefined> {
    const record = await this.store.info(id)
    if (!record || record.status === 'stored') return record
    const source = JSON.parse(record.source) as SourceJson
    const part: MediaPart = {
      type: source.type,
      mimetype: record.mimetype,
      fileName: record.fileName,
      declaredSize: record.size,
      declaredSha256: record.sha256,
      url: source.url,
      directPath: source.directPath,
      mediaKey: Buffer.from(source.mediaKey, 'base64'),
    }
    await this.fetchAndKeep(id, record.chat, part, record.attempts)
    return this.store.info(id)
  }

  /** Tries the failed downloads again, one at a time (called on a timer). */
  async retryFailed(): Promise<void> {
    for (const record of await this.store.failed(MAX_ATTEMPTS, 20)) {
      await this.retry(record.id).catch((error) => this.log.warn({ err: error, id: record.id }, 'retrying a media download failed'))
    }
  }

  private async fetchAndKeep(id: string, chat: string, part: MediaPart, attempts: number): Promise<MediaField> {
    const source: SourceJson = { type: part.type, url: part.url, directPath: part.directPath, mediaKey: Buffer.from(part.mediaKey).toString('base64') }
    const base: MediaRecord = {
      id,
      chat,
      mimetype: part.mimetype,
      fileName: part.fileName,
      size: part.declaredSize,
      sha256: part.declaredSha256,
      status: 'failed',
      error: undefined,
      attempts: attempts + 1,
      source: JSON.stringify(source),
    }
    let record: MediaRecord
    let data: Buffer | undefined
    if (part.declaredSize > this.options.maxBytes) {
      record = { ...base, status: 'too_large', error: `larger than MEDIA_MAX_BYTES (${this.options.maxBytes} bytes): not kept` }
    } else {
      try {
        const downloaded = await downloadMedia(part, this.options)
        data = downloaded.data
        record = { ...base, status: 'stored', size: downloaded.data.length, sha256: downloaded.sha256 }
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error)
        if (error instanceof MediaTooLargeError) record = { ...base, status: 'too_large', error: `${reason}: not kept` }
        else {
          this.log.warn({ id, err: error }, 'downloading incoming media failed; kept as failed, tried again later')
          record = { ...base, error: `download failed: ${reason}` }
        }
      }
    }
    await this.store.save(record, data)
    return toField(record)
  }
}

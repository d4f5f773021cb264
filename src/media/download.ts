// Downloads and decrypts one media file from WhatsApp's media servers (Baileys' own downloader),
// refusing to read past a size cap and giving up after a timeout.
import { createHash } from 'node:crypto'
import { downloadContentFromMessage, type MediaType } from '@whiskeysockets/baileys'

export class MediaTooLargeError extends Error {}

export interface DownloadSource {
  type: MediaType
  url?: string | undefined
  directPath?: string | undefined
  mediaKey: Uint8Array
}

export interface DownloadOptions {
  maxBytes: number
  timeoutMs: number
  /** Extra fetch options (tests: a dispatcher trusting the stand-in's media host). */
  fetchOptions?: RequestInit | undefined
}

export interface Downloaded {
  data: Buffer
  sha256: string
}

export async function downloadMedia(source: DownloadSource, { maxBytes, timeoutMs, fetchOptions }: DownloadOptions): Promise<Downloaded> {
  const abort = new AbortController()
  const timer = setTimeout(() => abort.abort(new Error(`the download took longer than ${timeoutMs} ms`)), timeoutMs)
  try {
    const stream = await downloadContentFromMessage(
      { url: source.url ?? null, directPath: source.directPath ?? null, mediaKey: source.mediaKey },
      source.type,
      { options: { ...fetchOptions, signal: abort.signal } },
    )
    const chunks: Buffer[] = []
    const hash = createHash('sha256')
    let size = 0
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > maxBytes) {
        stream.destroy()
        throw new MediaTooLargeError(`larger than MEDIA_MAX_BYTES (${maxBytes} bytes)`)
      }
      hash.update(chunk)
      chunks.push(chunk)
    }
    return { data: Buffer.concat(chunks), sha256: hash.digest('hex') }
  } finally {
    clearTimeout(timer)
  }
}

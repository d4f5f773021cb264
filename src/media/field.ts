// A stored media record as the `media` field of a `message` event and of the media routes' answers
// (no Baileys here: the routers import it).
import type { EventData } from '../events/types.js'
import type { MediaRecord } from './store.js'

export type MediaField = NonNullable<EventData<'message'>['media']>

export const mediaUrl = (id: string) => `/api/media/${encodeURIComponent(id)}`

export function toField(record: MediaRecord): MediaField {
  return {
    url: mediaUrl(record.id),
    mimetype: record.mimetype,
    size: record.size,
    sha256: record.sha256,
    ...(record.fileName && { fileName: record.fileName }),
    available: record.status === 'stored',
    ...(record.error && { error: record.error }),
  }
}

// Whole request examples for the operations whose smallest valid call the schema alone does not
// tell: a send needs `phone` or `chat` (one of two optional fields), a media send its file, a poll
// two different options, a path parameter a real-looking JID. Keyed by "METHOD path"; a procedure's
// own `meta.examples.input` wins over this. The contract test sends every one of them.
import { TINY_PNG } from '../routers/inputs.js'

const PHONE = '573001234567'
const GROUP = '120363000000000001@g.us'
const MESSAGE_ID = '3EB0C431C26A1916E07A'
// "hello\n" as base64: a plain-text document.
const TEXT_FILE = 'aGVsbG8K'

export const requestExamples: Record<string, Record<string, unknown>> = {
  'POST /api/sessions': { name: 'sales' },
  'GET /api/sessions/{session}': { session: 'default' },
  'DELETE /api/sessions/{session}': { session: 'sales' },
  'POST /api/sessions/{session}/keys': { session: 'default' },
  'GET /api/sessions/{session}/keys': { session: 'default' },
  'DELETE /api/sessions/{session}/keys/{id}': { session: 'default', id: 'k_3f2b8c1e' },
  'GET /api/qr': { format: 'base64' },
  'POST /api/pair-code': { phone: PHONE },
  'POST /api/send/text': { phone: PHONE, message: 'Hello!' },
  'POST /api/send/image': { phone: PHONE, image_base64: TINY_PNG, caption: 'A photo' },
  'POST /api/send/document': { phone: PHONE, document_base64: TEXT_FILE, filename: 'notes.txt' },
  'POST /api/send/group': { group_jid: GROUP, message: 'Hello, group!' },
  'POST /api/send/video': { phone: PHONE, media_url: 'https://example.com/clip.mp4' },
  'POST /api/send/audio': { phone: PHONE, media_url: 'https://example.com/voice.ogg' },
  'POST /api/send/sticker': { phone: PHONE, sticker_base64: TINY_PNG },
  'POST /api/send/location': { phone: PHONE, latitude: 4.711, longitude: -74.0721, name: 'Plaza de Bolívar' },
  'POST /api/send/contact': { phone: PHONE, contacts: [{ name: 'Ana', phones: ['573009876543'] }] },
  'POST /api/send/poll': { phone: PHONE, question: 'Lunch?', options: ['Pizza', 'Salad'] },
  'POST /api/send/reaction': { phone: PHONE, message_id: MESSAGE_ID, emoji: '👍' },
  'POST /api/messages/edit': { phone: PHONE, message_id: MESSAGE_ID, message: 'Hello again!' },
  'POST /api/messages/delete': { phone: PHONE, message_id: MESSAGE_ID },
  'POST /api/messages/read': { phone: PHONE, message_ids: [MESSAGE_ID] },
  'POST /api/presence': { phone: PHONE, state: 'typing' },
  'POST /api/groups': { subject: 'Team', participants: [PHONE] },
  'GET /api/groups/{group_jid}': { group_jid: GROUP },
  'PATCH /api/groups/{group_jid}': { group_jid: GROUP, subject: 'Team (new name)' },
  'POST /api/groups/{group_jid}/participants/add': { group_jid: GROUP, participants: [PHONE] },
  'POST /api/groups/{group_jid}/participants/remove': { group_jid: GROUP, participants: [PHONE] },
  'POST /api/groups/{group_jid}/participants/promote': { group_jid: GROUP, participants: [PHONE] },
  'POST /api/groups/{group_jid}/participants/demote': { group_jid: GROUP, participants: [PHONE] },
  'GET /api/groups/{group_jid}/invite': { group_jid: GROUP },
  'POST /api/groups/{group_jid}/invite/revoke': { group_jid: GROUP },
  'POST /api/groups/join': { code: 'https://chat.whatsapp.com/AbCdEfGhIjK1234567890z' },
  'POST /api/groups/{group_jid}/leave': { group_jid: GROUP },
  'GET /api/groups/{group_jid}/requests': { group_jid: GROUP },
  'POST /api/groups/{group_jid}/requests/approve': { group_jid: GROUP, participants: [PHONE] },
  'POST /api/groups/{group_jid}/requests/reject': { group_jid: GROUP, participants: [PHONE] },
  'GET /api/contacts': { search: 'Ana' },
  'POST /api/check-phone': { phones: [PHONE, '+57 300 987 6543'] },
  'GET /api/chats/{jid}/messages': { jid: `${PHONE}@s.whatsapp.net` },
  'GET /api/messages/{id}': { id: MESSAGE_ID },
  'POST /api/webhook': { url: 'https://example.com/webhook/whatsapp' },
  'POST /api/webhook/deliveries/{id}/redeliver': { id: 'd7b1c9e2-4c1a-4f7e-9a53-0c2b9e1f6a10' },
}

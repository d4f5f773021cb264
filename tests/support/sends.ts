// What the send tests share: a service paired with the stand-in and its contacts and group, both
// clients, and helpers to read error answers and the messages the stand-in's phones decrypted.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createTRPCClient, httpBatchLink, TRPCClientError } from '@trpc/client'
import type { AppRouter } from '../../src/client.js'
import { chatStateRecorder } from '../standin/chat-states.js'
import { ALICE, BOB, startWithStandIn, type WhatsAppHarness } from './whatsapp.js'

export const GROUP = { jid: '120363000000000001@g.us', subject: 'Work Group', desc: 'Project discussion', creation: 1705312800 }

export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

export const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

export type SendAnswer = { status: string; messageID: string; timestamp: string; chat: string; phoneJid?: string; lid?: string }

/** POSTs and expects a 200, failing with the body otherwise. */
export async function postOk<T = SendAnswer>(url: string, body: unknown): Promise<T> {
  const res = await post(url, body)
  const text = await res.text()
  assert.equal(res.status, 200, text)
  return JSON.parse(text) as T
}

export async function errorOf(res: Response): Promise<{ status: number; code: string; paths: string[]; error: string; messages: string[] }> {
  const body = (await res.json()) as { code: string; error: string; issues?: { path: string; message: string }[] }
  return { status: res.status, code: body.code, error: body.error, paths: (body.issues ?? []).map((i) => i.path), messages: (body.issues ?? []).map((i) => i.message) }
}

/** The 400 of a bad request: asserts its status and code, and returns the fields it names. */
export async function badFields(url: string, body: unknown): Promise<string[]> {
  const error = await errorOf(await post(url, body))
  assert.deepEqual([error.status, error.code], [400, 'VALIDATION_ERROR'], `${JSON.stringify(body).slice(0, 200)}: ${error.error}`)
  return error.paths
}

export function trpcFor(url: string) {
  return createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${url}/trpc` })] })
}

export async function trpcError(call: Promise<unknown>): Promise<{ status: number; code: string; paths: string[] }> {
  try {
    await call
  } catch (error) {
    assert.ok(error instanceof TRPCClientError, String(error))
    const data = error.data as { httpStatus: number; errorCode: string; issues?: { path: string }[] }
    return { status: data.httpStatus, code: data.errorCode, paths: (data.issues ?? []).map((i) => i.path) }
  }
  assert.fail('expected the call to fail')
}

export interface SendHarness {
  h: WhatsAppHarness
  trpc: ReturnType<typeof trpcFor>
  /** the chat states the device sent, read from the stand-in's stanza log */
  chatStates: ReturnType<typeof chatStateRecorder>
  close(): Promise<void>
}

/** The service paired with the stand-in; Alice and Bob are contacts, and members of GROUP with the account. */
export async function pairedForSends(): Promise<SendHarness> {
  const chatStates = chatStateRecorder()
  const h = await startWithStandIn({}, { standin: { log: chatStates.log } })
  h.standin.contact(ALICE)
  h.standin.contact(BOB)
  h.standin.setRegistered([ALICE.phone, BOB.phone])
  h.standin.setGroups([{ ...GROUP, participants: [ALICE, BOB] }])
  await h.pair({ pushName: 'My Business', platform: 'smba' })
  return { h, trpc: trpcFor(h.url), chatStates, close: () => h.close() }
}

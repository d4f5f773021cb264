// Groups coming and going (issue 17): creating one, its invite link (get, revoke), joining by code,
// leaving, and the join requests of a group that approves joins; through REST and tRPC, against the
// running service paired with the stand-in. Reading and changing one group: groups.test.ts.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createTRPCClient, httpBatchLink, TRPCClientError } from '@trpc/client'
import { getBinaryNodeChild, getBinaryNodeChildren } from '@whiskeysockets/baileys'
import type { AppRouter } from '../src/client.js'
import { ALICE, BOB, OWN, startWithStandIn, type WhatsAppHarness } from './support/whatsapp.js'

const RUN = { jid: '120363000000000011@g.us', subject: 'Support team' } // this account is its creator
const MEMBER = { jid: '120363000000000012@g.us', subject: 'Book club' } // a plain member: no admin rights
const ELSEWHERE = { jid: '120363000000000013@g.us', subject: 'Neighbours' } // not a member yet
const GATED = { jid: '120363000000000014@g.us', subject: 'Members only' } // joins need approval
const CAROL = { phone: '15550004444', lid: '88880004444', pushName: 'Carol' } // only her contacts may add her
const FRANK = { phone: '15550007777', lid: '88880007777', pushName: 'Frank' }
const GINA = { phone: '15550008888', lid: '88880008888', pushName: 'Gina' }

const post = (url: string, body?: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) })

async function errorOf(res: Response): Promise<{ status: number; code: string; paths: string[]; error: string }> {
  const body = (await res.json()) as { code: string; error: string; issues?: { path: string }[] }
  return { status: res.status, code: body.code, error: body.error, paths: (body.issues ?? []).map((i) => i.path) }
}

async function trpcError(call: Promise<unknown>): Promise<{ status: number; code: string }> {
  try {
    await call
  } catch (error) {
    assert.ok(error instanceof TRPCClientError, String(error))
    const data = error.data as { httpStatus: number; errorCode: string }
    return { status: data.httpStatus, code: data.errorCode }
  }
  assert.fail('expected the call to fail')
}

const pn = (phone: string) => `${phone}@s.whatsapp.net`
const lid = (id: string) => `${id}@lid`

describe('groups coming and going', () => {
  let h: WhatsAppHarness
  let trpc: ReturnType<typeof createTRPCClient<AppRouter>>
  const listed = async () => ((await (await fetch(`${h.url}/api/groups`)).json()) as Array<{ jid: string; name: string }>).map((g) => g.jid).sort()

  before(async () => {
    h = await startWithStandIn()
    const [alice, bob, frank, gina] = [ALICE, BOB, FRANK, GINA].map((c) => h.standin.contact(c))
    h.standin.contact(CAROL)
    h.standin.groups.refuseAddsFrom(CAROL.phone)
    h.standin.setGroups([
      { ...RUN, selfAdmin: 'superadmin', participants: [alice!] },
      { ...MEMBER, participants: [{ ...bob!, admin: 'superadmin' }] },
      { ...ELSEWHERE, includeSelf: false, participants: [{ ...alice!, admin: 'superadmin' }, bob!] },
      { ...GATED, selfAdmin: 'admin', joinApproval: true, participants: [{ ...bob!, admin: 'superadmin' }] },
    ])
    h.standin.groups.requestToJoin(GATED.jid, frank!)
    h.standin.groups.requestToJoin(GATED.jid, gina!)
    await h.pair()
    trpc = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${h.url}/trpc` })] })
  })
  after(() => h.close())

  test('POST /api/groups creates a group; who could not be added is said per participant', async () => {
    const before = h.standin.groups.requests('create').length
    const res = await post(`${h.url}/api/groups`, { subject: 'Launch', participants: [ALICE.phone, '+1 555 000 4444'] })
    assert.equal(res.status, 200, await res.clone().text())
    const { group, results } = (await res.json()) as {
      group: { jid: string; subject: string; owner: string; participants: Array<{ jid: string; lid: string; admin: string | null }> }
      results: Array<{ participant: string; ok: boolean; code: number; reason: string | null; invite: { code: string } | null }>
    }
    assert.match(group.jid, /^\d+@g\.us$/)
    assert.equal(group.subject, 'Launch')
    assert.equal(group.owner, pn(OWN.phone))
    assert.deepEqual(
      group.participants.map((p) => [p.jid, p.lid, p.admin]),
      [
        [pn(OWN.phone), lid(OWN.lid), 'superadmin'],
        [pn(ALICE.phone), lid(ALICE.lid), null],
      ],
    )
    assert.deepEqual(
      results.map((r) => [r.participant, r.ok, r.code, r.reason]),
      [
        [pn(ALICE.phone), true, 200, null],
        [pn(CAROL.phone), false, 403, 'privacy'],
      ],
    )
    assert.equal(typeof results[1]!.invite?.code, 'string', 'the private invite WhatsApp made for Carol')
    // the request as Baileys would make it: <create subject key><participant jid/>...</create> to @g.us
    const [request] = h.standin.groups.requests('create').slice(before)
    assert.ok(request, 'the create reached the server')
    const create = getBinaryNodeChild(request.stanza, 'create')
    assert.deepEqual([request.type, request.to, create?.attrs.subject], ['set', '@g.us', 'Launch'])
    assert.equal(typeof create?.attrs.key, 'string')
    assert.deepEqual(getBinaryNodeChildren(create, 'participant').map((p) => p.attrs.jid), [pn(ALICE.phone), pn(CAROL.phone)])
    assert.ok((await listed()).includes(group.jid), 'GET /api/groups lists the new group at once')

    const viaTrpc = await trpc.groups.create.mutate({ subject: 'Second', participants: [`${BOB.lid}@lid`] })
    assert.deepEqual(viaTrpc.results.map((r) => [r.participant, r.jid, r.code]), [[lid(BOB.lid), pn(BOB.phone), 200]])
    assert.equal(viaTrpc.group.size, 2)
  })

  test('the invite link: get it, revoke it (the old code stops working), through REST and tRPC', async () => {
    const res = await fetch(`${h.url}/api/groups/${RUN.jid}/invite`)
    assert.equal(res.status, 200)
    const first = (await res.json()) as { group_jid: string; code: string; link: string }
    assert.deepEqual(first, { group_jid: RUN.jid, code: h.standin.groups.inviteCode(RUN.jid), link: `https://chat.whatsapp.com/${first.code}` })
    const asked = h.standin.groups.requests('invite').at(-1)!
    assert.deepEqual([asked.type, asked.to], ['get', RUN.jid])

    const revoked = (await (await post(`${h.url}/api/groups/${RUN.jid}/invite/revoke`)).json()) as { code: string; link: string }
    assert.notEqual(revoked.code, first.code)
    assert.equal(revoked.code, h.standin.groups.inviteCode(RUN.jid))
    assert.deepEqual([h.standin.groups.requests('invite').at(-1)!.type, h.standin.groups.requests('invite').at(-1)!.to], ['set', RUN.jid])
    assert.equal((await trpc.groups.inviteLink.query({ group_jid: RUN.jid })).code, revoked.code)
    const again = await trpc.groups.revokeInvite.mutate({ group_jid: RUN.jid })
    assert.notEqual(again.code, revoked.code)

    // a plain member may not see the link: WhatsApp refuses (401), a 502 that says why
    const refused = await errorOf(await fetch(`${h.url}/api/groups/${MEMBER.jid}/invite`))
    assert.deepEqual([refused.status, refused.code], [502, 'WHATSAPP_ERROR'])
    assert.match(refused.error, /not in .*or not one of its admins/)
    // the old code no longer opens the group
    const stale = await errorOf(await post(`${h.url}/api/groups/join`, { code: first.code }))
    assert.deepEqual([stale.status, stale.code], [404, 'NOT_FOUND'])
    assert.match(stale.error, /revoked/)
  })

  test('POST /api/groups/join by code or link; joining twice is a 409, an unknown code a 404', async () => {
    assert.ok(!(await listed()).includes(ELSEWHERE.jid), 'not a member yet')
    const code = h.standin.groups.inviteCode(ELSEWHERE.jid)
    const res = await post(`${h.url}/api/groups/join`, { code: `https://chat.whatsapp.com/${code}` })
    assert.equal(res.status, 200, await res.clone().text())
    assert.deepEqual(await res.json(), { status: 'joined', group_jid: ELSEWHERE.jid })
    const request = h.standin.groups.requests('invite').at(-1)!
    assert.deepEqual([request.type, request.to, getBinaryNodeChild(request.stanza, 'invite')?.attrs.code], ['set', '@g.us', code])
    assert.ok((await listed()).includes(ELSEWHERE.jid), 'GET /api/groups lists it at once')
    const group = (await (await fetch(`${h.url}/api/groups/${ELSEWHERE.jid}`)).json()) as { participants: Array<{ jid: string; admin: string | null }> }
    assert.deepEqual(group.participants.find((p) => p.jid === pn(OWN.phone)), { jid: pn(OWN.phone), phoneJid: pn(OWN.phone), lid: lid(OWN.lid), phone: OWN.phone, admin: null, isAdmin: false, isSuperAdmin: false })

    assert.deepEqual(await trpcError(trpc.groups.join.mutate({ code })), { status: 409, code: 'CONFLICT' })
    const unknown = await errorOf(await post(`${h.url}/api/groups/join`, { code: 'AbCdEfGhIjKlMnOpQrStUv' }))
    assert.deepEqual([unknown.status, unknown.code], [404, 'NOT_FOUND'])
  })

  test('joining a group that approves joins is pending until an admin lets this account in', async () => {
    const gatedElsewhere = '120363000000000015@g.us'
    h.standin.directory.addGroup({ ...h.standin.groups.group(GATED.jid), jid: gatedElsewhere, members: [{ contact: h.standin.contact(BOB), admin: 'superadmin' }], inviteCode: 'GatedCode0000000000000', requests: [] })
    const joined = await trpc.groups.join.mutate({ code: 'GatedCode0000000000000' })
    assert.deepEqual(joined, { status: 'pending_approval', group_jid: null })
  })

  test('join requests: list them, approve and reject with a result per participant', async () => {
    const res = await fetch(`${h.url}/api/groups/${GATED.jid}/requests`)
    assert.equal(res.status, 200)
    const requests = (await res.json()) as Array<{ jid: string; phoneJid: string; lid: string; method: string; requestedAt: string }>
    assert.deepEqual(
      requests.map((r) => [r.jid, r.phoneJid, r.lid, r.method]),
      [
        [pn(FRANK.phone), pn(FRANK.phone), lid(FRANK.lid), 'invite_link'],
        [pn(GINA.phone), pn(GINA.phone), lid(GINA.lid), 'invite_link'],
      ],
    )
    assert.match(requests[0]!.requestedAt, /^\d{4}-\d\d-\d\dT/)
    const listRequest = h.standin.groups.requests('membership_approval_requests').at(-1)!
    assert.deepEqual([listRequest.type, listRequest.to], ['get', GATED.jid])
    // a page at a time: limit, then after = the last jid
    const first = await trpc.groups.joinRequests.query({ group_jid: GATED.jid, limit: 1 })
    assert.deepEqual(first.map((r) => r.jid), [pn(FRANK.phone)])
    const rest = (await (await fetch(`${h.url}/api/groups/${GATED.jid}/requests?limit=1&after=${encodeURIComponent(first[0]!.jid)}`)).json()) as Array<{ jid: string }>
    assert.deepEqual(rest.map((r) => r.jid), [pn(GINA.phone)])
    const bad = await errorOf(await fetch(`${h.url}/api/groups/${GATED.jid}/requests?limit=0`))
    assert.deepEqual([bad.status, bad.paths], [400, ['limit']])

    const approved = (await (await post(`${h.url}/api/groups/${GATED.jid}/requests/approve`, { participants: [FRANK.phone, ALICE.phone] })).json()) as {
      results: Array<{ participant: string; code: number; reason: string | null; ok: boolean }>
    }
    assert.deepEqual(
      approved.results.map((r) => [r.participant, r.ok, r.code, r.reason]),
      [
        [pn(FRANK.phone), true, 200, null],
        [pn(ALICE.phone), false, 404, 'no_request'],
      ],
    )
    const action = getBinaryNodeChild(h.standin.groups.requests('membership_requests_action').at(-1)!.stanza, 'membership_requests_action')
    assert.deepEqual(getBinaryNodeChildren(getBinaryNodeChild(action, 'approve'), 'participant').map((p) => p.attrs.jid), [pn(FRANK.phone), pn(ALICE.phone)])

    const rejected = await trpc.groups.rejectRequests.mutate({ group_jid: GATED.jid, participants: [GINA.phone] })
    assert.deepEqual(rejected.results.map((r) => [r.participant, r.code, r.ok]), [[pn(GINA.phone), 200, true]])
    assert.deepEqual(await trpc.groups.joinRequests.query({ group_jid: GATED.jid }), [])
    const group = (await (await fetch(`${h.url}/api/groups/${GATED.jid}`)).json()) as { participants: Array<{ phone: string }> }
    assert.deepEqual(group.participants.map((p) => p.phone), [OWN.phone, BOB.phone, FRANK.phone], 'Frank is in, Gina is not')
  })

  test('POST /api/groups/{group_jid}/leave: gone from the list; the group is then out of reach', async () => {
    const res = await post(`${h.url}/api/groups/${MEMBER.jid}/leave`)
    assert.equal(res.status, 200, await res.clone().text())
    assert.deepEqual(await res.json(), { group_jid: MEMBER.jid, left: true })
    const request = h.standin.groups.requests('leave').at(-1)!
    assert.deepEqual([request.type, request.to, getBinaryNodeChild(getBinaryNodeChild(request.stanza, 'leave'), 'group')?.attrs.id], ['set', '@g.us', MEMBER.jid])
    assert.ok(!(await listed()).includes(MEMBER.jid), 'GET /api/groups no longer lists it')
    const read = await errorOf(await fetch(`${h.url}/api/groups/${MEMBER.jid}`))
    assert.deepEqual([read.status, read.code], [502, 'WHATSAPP_ERROR'])
    assert.match(read.error, /not in 120363000000000012@g\.us/)
    // leaving again, through tRPC: this account is not in it
    assert.deepEqual(await trpcError(trpc.groups.leave.mutate({ group_jid: MEMBER.jid })), { status: 404, code: 'NOT_FOUND' })
    assert.deepEqual(h.standin.errors(), [])
  })
})

test('group operations while WhatsApp is not connected are a 503 that says so', async () => {
  const h = await startWithStandIn()
  try {
    await h.waitForStatus((s) => s.state === 'qr')
    for (const res of [
      await fetch(`${h.url}/api/groups/${RUN.jid}`),
      await post(`${h.url}/api/groups`, { subject: 'x', participants: [ALICE.phone] }),
      await post(`${h.url}/api/groups/${RUN.jid}/participants/add`, { participants: [ALICE.phone] }),
      await post(`${h.url}/api/groups/join`, { code: 'AbCdEfGhIjKlMnOpQrStUv' }),
    ]) {
      const error = await errorOf(res)
      assert.deepEqual([error.status, error.code], [503, 'NOT_CONNECTED'], error.error)
    }
  } finally {
    await h.close()
  }
})

// Managing a group through the API (issue 17): reading one with its participants, changing its info
// and settings, and participants with WhatsApp's answer per participant; through REST and tRPC,
// against the running service paired with the stand-in, which answers each w:g2 request as WhatsApp
// does and tells the device about changes made on phones (w:gp2). Invites, joining, leaving,
// creating and join requests: groups-invites.test.ts.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { getBinaryNodeChild, getBinaryNodeChildren } from '@whiskeysockets/baileys'
import type { StandInContact } from './standin/index.js'
import { errorOf, GROUP, trpcError, trpcFor } from './support/sends.js'
import { ALICE, BOB, OWN, startWithStandIn, waitUntil, type WhatsAppHarness } from './support/whatsapp.js'

const CAROL = { phone: '15550004444', lid: '88880004444', pushName: 'Carol' } // only her contacts may add her
const DAVE = { phone: '15550005555' } // not on WhatsApp
const ERIN = { phone: '15550006666', lid: '88880006666', pushName: 'Erin' }
const ZED = { phone: '15550009999', lid: '88880009999', pushName: 'Zed' }
/** A group where WhatsApp lists members by LID only (their numbers hidden). */
const QUIET = { jid: '120363000000000002@g.us', subject: 'Quiet' }

const send = (method: string, url: string, body?: unknown) =>
  fetch(url, { method, headers: { 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) })
const post = (url: string, body?: unknown) => send('POST', url, body)

type Participant = { jid: string; phoneJid: string | null; lid: string | null; phone: string | null; admin: string | null; isAdmin: boolean; isSuperAdmin: boolean }
type GroupInfo = { jid: string; subject: string; description: string | null; announce: boolean; locked: boolean; joinApproval: boolean; memberAddMode: string; size: number; owner: string | null; participants: Participant[] }
type Result = { participant: string; jid: string; phoneJid: string | null; lid: string | null; ok: boolean; code: number; reason: string | null; message: string; invite: { code: string } | null }

const pn = (phone: string) => `${phone}@s.whatsapp.net`
const lid = (id: string) => `${id}@lid`

describe('a group this account runs', () => {
  let h: WhatsAppHarness
  let trpc: ReturnType<typeof trpcFor>
  let alice: StandInContact
  const groupUrl = () => `${h.url}/api/groups/${GROUP.jid}`
  const getGroup = async () => {
    const res = await fetch(groupUrl())
    assert.equal(res.status, 200)
    return (await res.json()) as GroupInfo
  }
  /** The w:g2 requests for `action` the stand-in received since `from`. */
  const requestsOf = (action: string, from = 0) => h.standin.groups.requests(action).slice(from)

  before(async () => {
    h = await startWithStandIn()
    alice = h.standin.contact(ALICE)
    h.standin.contact(BOB)
    h.standin.contact(CAROL)
    h.standin.contact(ERIN)
    h.standin.groups.refuseAddsFrom(CAROL.phone)
    h.standin.setGroups([
      { ...GROUP, selfAdmin: 'superadmin', participants: [{ ...ALICE, admin: 'admin' }, BOB] },
      { ...QUIET, participants: [{ ...ALICE, hidePhone: true }, { ...ZED, hidePhone: true }] },
    ])
    await h.pair()
    trpc = trpcFor(h.url)
  })
  after(() => h.close())

  test('GET /api/groups/{group_jid} and groups.get: participants with phone JID, LID and admin flags', async () => {
    const before = requestsOf('query').length
    const group = await getGroup()
    assert.equal(group.jid, GROUP.jid)
    assert.equal(group.subject, 'Work Group')
    assert.equal(group.description, 'Project discussion')
    assert.equal(group.owner, pn(OWN.phone))
    assert.equal(group.size, 3)
    assert.deepEqual(
      group.participants.map((p) => [p.jid, p.phoneJid, p.lid, p.phone, p.admin, p.isAdmin, p.isSuperAdmin]),
      [
        [pn(OWN.phone), pn(OWN.phone), lid(OWN.lid), OWN.phone, 'superadmin', true, true],
        [pn(ALICE.phone), pn(ALICE.phone), lid(ALICE.lid), ALICE.phone, 'admin', true, false],
        [pn(BOB.phone), pn(BOB.phone), lid(BOB.lid), BOB.phone, null, false, false],
      ],
    )
    assert.deepEqual([group.announce, group.locked, group.joinApproval, group.memberAddMode], [false, false, false, 'admins'])
    // the metadata query reached the server, as Baileys asks it: <iq type=get xmlns=w:g2 to=jid><query request=interactive>
    const asked = requestsOf('query', before)
    assert.ok(asked.length <= 1, 'asked at most once (the pairing may have cached it)')
    for (const request of asked) {
      assert.deepEqual([request.type, request.to, getBinaryNodeChild(request.stanza, 'query')?.attrs.request], ['get', GROUP.jid, 'interactive'])
    }
    // the same group through tRPC, URL-encoded and by its number alone
    assert.deepEqual(await trpc.groups.get.query({ group_jid: GROUP.jid }), group)
    assert.deepEqual(await (await fetch(`${h.url}/api/groups/${encodeURIComponent(GROUP.jid)}`)).json(), group)
    assert.deepEqual(await (await fetch(`${h.url}/api/groups/${GROUP.jid.split('@')[0]}`)).json(), group)
    // and per session
    assert.deepEqual(await (await fetch(`${h.url}/api/sessions/default/groups/${GROUP.jid}`)).json(), group)
  })

  test('members WhatsApp lists by LID only: the phone JID from what the session learnt, else null', async () => {
    // Yara is on WhatsApp and in the group, but the phone never told the session her number
    const yara = h.standin.contact({ phone: '15550001010', lid: '88880001010', pushName: 'Yara' })
    h.standin.groups.group(QUIET.jid).members.push({ contact: yara, hidePhone: true })
    await h.standin.groups.fromPhone(alice, QUIET.jid, { subject: 'Quiet ones' }) // any cached copy is dropped
    const quiet = async () => (await (await fetch(`${h.url}/api/groups/${QUIET.jid}`)).json()) as GroupInfo
    const before = await quiet()
    assert.deepEqual(before.participants.find((p) => p.lid === lid(yara.lid)), {
      jid: lid(yara.lid),
      phoneJid: null,
      lid: lid(yara.lid),
      phone: null,
      admin: null,
      isAdmin: false,
      isSuperAdmin: false,
    })
    // Zed's number came with the phone's first sync (its LID mappings): WhatsApp's answer lacks it, the session knows it
    assert.deepEqual(
      before.participants.filter((p) => p.lid === lid(ZED.lid)).map((p) => [p.jid, p.phoneJid, p.phone]),
      [[pn(ZED.phone), pn(ZED.phone), ZED.phone]],
    )
    // Yara writes to the account: her message carries her number beside her LID, and the session learns it
    await h.standin.sendText(yara, 'hello')
    const learnt = await waitUntil('Yara\'s number to be known', async () => {
      const found = (await quiet()).participants.find((p) => p.lid === lid(yara.lid))
      return found?.phoneJid ? found : undefined
    })
    assert.deepEqual([learnt.jid, learnt.phoneJid, learnt.phone], [yara.pnJid, yara.pnJid, yara.phone])
  })

  test('bad input is a 400 naming the field, on both interfaces', async () => {
    const cases: Array<[Response, string]> = [
      [await fetch(`${h.url}/api/groups/not-a-group`), 'group_jid'],
      [await fetch(`${h.url}/api/groups/${ALICE.phone}@s.whatsapp.net`), 'group_jid'],
      [await post(`${groupUrl()}/participants/add`, { participants: ['call me maybe'] }), 'participants.0'],
      [await post(`${groupUrl()}/participants/add`, { participants: [] }), 'participants'],
      [await post(`${groupUrl()}/participants/remove`, {}), 'participants'],
      [await send('PATCH', groupUrl(), { subject: '' }), 'subject'],
      [await send('PATCH', groupUrl(), { announce: 'yes' }), 'announce'],
      [await send('PATCH', groupUrl(), { locked: 'false' }), 'locked'],
      [await send('PATCH', groupUrl(), { join_approval: 'true' }), 'join_approval'],
      [await send('PATCH', groupUrl(), { member_add_mode: 'everyone' }), 'member_add_mode'],
      [await send('PATCH', groupUrl(), {}), '(body)'],
      [await post(`${h.url}/api/groups`, { participants: [ALICE.phone] }), 'subject'],
      [await post(`${h.url}/api/groups/join`, { code: 'no spaces allowed' }), 'code'],
    ]
    for (const [res, path] of cases) {
      const error = await errorOf(res)
      assert.deepEqual([error.status, error.code, error.paths], [400, 'VALIDATION_ERROR', [path]], `${res.url}: ${error.error}`)
    }
    assert.deepEqual(await trpcError(trpc.groups.get.query({ group_jid: 'nope' })), { status: 400, code: 'VALIDATION_ERROR', paths: ['group_jid'] })
    assert.deepEqual(await trpcError(trpc.groups.addParticipants.mutate({ group_jid: GROUP.jid, participants: ['x'] })), {
      status: 400,
      code: 'VALIDATION_ERROR',
      paths: ['participants.0'],
    })
  })

  test('an unknown group: 404 from WhatsApp\'s answer, never a 500', async () => {
    const unknown = '120363999999999999@g.us'
    const read = await errorOf(await fetch(`${h.url}/api/groups/${unknown}`))
    assert.deepEqual([read.status, read.code], [404, 'NOT_FOUND'])
    assert.match(read.error, /120363999999999999@g\.us/)
    const add = await errorOf(await post(`${h.url}/api/groups/${unknown}/participants/add`, { participants: [ERIN.phone] }))
    assert.deepEqual([add.status, add.code], [404, 'NOT_FOUND'])
    const rename = await errorOf(await send('PATCH', `${h.url}/api/groups/${unknown}`, { subject: 'x' }))
    assert.deepEqual([rename.status, rename.code], [404, 'NOT_FOUND'])
    assert.equal((await trpcError(trpc.groups.inviteLink.query({ group_jid: unknown }))).status, 404)
  })

  test('adding participants: a result per participant, refusals with their reason (REST)', async () => {
    const before = requestsOf('add').length
    const res = await post(`${groupUrl()}/participants/add`, {
      participants: [`+1 555 000 4444`, DAVE.phone, `${BOB.phone}@s.whatsapp.net`, `${ERIN.lid}@lid`],
    })
    assert.equal(res.status, 200)
    const { group_jid, results } = (await res.json()) as { group_jid: string; results: Result[] }
    assert.equal(group_jid, GROUP.jid)
    assert.deepEqual(
      results.map((r) => [r.participant, r.ok, r.code, r.reason]),
      [
        [pn(CAROL.phone), false, 403, 'privacy'],
        [pn(DAVE.phone), false, 404, 'not_on_whatsapp'],
        [pn(BOB.phone), false, 409, 'already_participant'],
        [lid(ERIN.lid), true, 200, null],
      ],
    )
    assert.ok(results[0]!.invite?.code, 'a privacy refusal carries the private invite WhatsApp made')
    assert.match(results[0]!.message, /privacy/)
    assert.deepEqual([results[3]!.jid, results[3]!.phoneJid, results[3]!.lid], [pn(ERIN.phone), pn(ERIN.phone), lid(ERIN.lid)], 'both identities of the one added')
    // what reached the server: one <add> to the group with the four participants
    const [request] = requestsOf('add', before)
    assert.ok(request, 'the add reached the server')
    assert.deepEqual([request.type, request.to], ['set', GROUP.jid])
    assert.deepEqual(
      getBinaryNodeChildren(getBinaryNodeChild(request.stanza, 'add'), 'participant').map((p) => p.attrs.jid),
      [pn(CAROL.phone), pn(DAVE.phone), pn(BOB.phone), lid(ERIN.lid)],
    )
    // the group as read right after has Erin (our own change dropped the cached metadata)
    const group = await getGroup()
    assert.equal(group.participants.find((p) => p.jid === pn(ERIN.phone))?.admin, null, 'Erin is in, as a plain member')
    assert.equal(group.size, 4)
    // the same refusals through tRPC
    const viaTrpc = await trpc.groups.addParticipants.mutate({ group_jid: GROUP.jid, participants: [CAROL.phone, ERIN.phone] })
    assert.deepEqual(
      viaTrpc.results.map((r) => [r.participant, r.ok, r.code, r.reason, r.invite !== null]),
      [
        [pn(CAROL.phone), false, 403, 'privacy', true],
        [pn(ERIN.phone), false, 409, 'already_participant', false],
      ],
    )
  })

  test('promote, demote and remove: per-participant results through tRPC and REST', async () => {
    const promoted = await trpc.groups.promoteParticipants.mutate({ group_jid: GROUP.jid, participants: [ALICE.phone, ERIN.phone, DAVE.phone] })
    assert.deepEqual(
      promoted.results.map((r) => [r.participant, r.code, r.reason]),
      [
        [pn(ALICE.phone), 409, 'already_admin'],
        [pn(ERIN.phone), 200, null],
        [pn(DAVE.phone), 404, 'not_a_participant'],
      ],
    )
    assert.deepEqual(getBinaryNodeChildren(getBinaryNodeChild(requestsOf('promote').at(-1)!.stanza, 'promote'), 'participant').map((p) => p.attrs.jid), [
      pn(ALICE.phone),
      pn(ERIN.phone),
      pn(DAVE.phone),
    ])
    let group = await getGroup()
    assert.equal(group.participants.find((p) => p.jid === pn(ERIN.phone))?.admin, 'admin')

    const demoted = (await (await post(`${groupUrl()}/participants/demote`, { participants: [ERIN.phone, BOB.phone, OWN.phone] })).json()) as { results: Result[] }
    assert.deepEqual(
      demoted.results.map((r) => [r.code, r.reason]),
      [
        [200, null],
        [409, 'not_admin'],
        [406, 'not_allowed'],
      ],
    )
    const demotedAgain = await trpc.groups.demoteParticipants.mutate({ group_jid: GROUP.jid, participants: [ERIN.phone] })
    assert.deepEqual(demotedAgain.results.map((r) => [r.code, r.reason]), [[409, 'not_admin']])
    const lastDemote = h.standin.groups.requests('demote').at(-1)!
    assert.deepEqual([lastDemote.type, lastDemote.to], ['set', GROUP.jid])
    assert.deepEqual(getBinaryNodeChildren(getBinaryNodeChild(lastDemote.stanza, 'demote'), 'participant').map((p) => p.attrs.jid), [pn(ERIN.phone)])
    const removed = (await (await post(`${groupUrl()}/participants/remove`, { participants: [ERIN.phone, CAROL.phone] })).json()) as { results: Result[] }
    assert.deepEqual(
      removed.results.map((r) => [r.code, r.reason, r.ok]),
      [
        [200, null, true],
        [404, 'not_a_participant', false],
      ],
    )
    const viaTrpc = await trpc.groups.removeParticipants.mutate({ group_jid: GROUP.jid, participants: [ERIN.phone] })
    assert.deepEqual([viaTrpc.results[0]!.code, viaTrpc.results[0]!.reason], [404, 'not_a_participant'])
    group = await getGroup()
    assert.deepEqual(
      group.participants.map((p) => [p.phone, p.admin]),
      [
        [OWN.phone, 'superadmin'],
        [ALICE.phone, 'admin'],
        [BOB.phone, null],
      ],
    )
  })

  test('PATCH /api/groups/{group_jid}: subject, description and settings, each as WhatsApp\'s request', async () => {
    const from = h.standin.groups.requests().length
    const res = await send('PATCH', groupUrl(), {
      subject: 'Renamed',
      description: 'New plans',
      announce: true,
      locked: true,
      join_approval: true,
      member_add_mode: 'all_members',
    })
    assert.equal(res.status, 200, await res.clone().text())
    const group = (await res.json()) as GroupInfo
    assert.deepEqual(
      [group.subject, group.description, group.announce, group.locked, group.joinApproval, group.memberAddMode],
      ['Renamed', 'New plans', true, true, true, 'all_members'],
    )
    const sent = h.standin.groups.requests().slice(from).filter((r) => r.type === 'set')
    assert.deepEqual(
      sent.map((r) => r.action),
      ['subject', 'description', 'announcement', 'locked', 'membership_approval_mode', 'member_add_mode'],
    )
    assert.equal(Buffer.from(getBinaryNodeChild(sent[0]!.stanza, 'subject')!.content as Uint8Array).toString(), 'Renamed')
    assert.equal(getBinaryNodeChild(getBinaryNodeChild(sent[4]!.stanza, 'membership_approval_mode'), 'group_join')?.attrs.state, 'on')
    // the server holds it too
    assert.equal(h.standin.groups.group(GROUP.jid).subject, 'Renamed')

    // through tRPC: back, and the description removed
    const back = await trpc.groups.update.mutate({ group_jid: GROUP.jid, subject: 'Work Group', description: null, announce: false, locked: false, join_approval: false, member_add_mode: 'admins' })
    assert.deepEqual(
      [back.subject, back.description, back.announce, back.locked, back.joinApproval, back.memberAddMode],
      ['Work Group', null, false, false, false, 'admins'],
    )
    assert.equal(getBinaryNodeChild(h.standin.groups.requests('description').at(-1)!.stanza, 'description')?.attrs.delete, 'true')
    // and the list shows the subject
    const list = (await (await fetch(`${h.url}/api/groups`)).json()) as Array<{ jid: string; name: string }>
    assert.equal(list.find((g) => g.jid === GROUP.jid)?.name, 'Work Group')
  })

  test('changes made on a phone show in GET /api/groups/{group_jid} at once (w:gp2 notifications)', async () => {
    await getGroup() // cached now
    const queries = h.standin.groupQueries(GROUP.jid).metadata
    assert.equal((await getGroup()).subject, 'Work Group')
    assert.equal(h.standin.groupQueries(GROUP.jid).metadata, queries, 'served from the cache')

    await h.standin.groups.fromPhone(alice, GROUP.jid, { subject: 'Named by Alice' })
    assert.equal((await getGroup()).subject, 'Named by Alice')
    assert.equal((await trpc.groups.get.query({ group_jid: GROUP.jid })).subject, 'Named by Alice')
    const list = (await (await fetch(`${h.url}/api/groups`)).json()) as Array<{ jid: string; name: string }>
    assert.equal(list.find((g) => g.jid === GROUP.jid)?.name, 'Named by Alice')

    await h.standin.groups.fromPhone(alice, GROUP.jid, { participants: 'add', who: [h.standin.contact(ERIN)] })
    assert.equal((await getGroup()).participants.find((p) => p.jid === pn(ERIN.phone))?.admin, null, 'Erin was added by Alice')
    await h.standin.groups.fromPhone(alice, GROUP.jid, { participants: 'promote', who: [h.standin.contact(BOB)] })
    assert.equal((await getGroup()).participants.find((p) => p.jid === pn(BOB.phone))?.admin, 'admin')
    await h.standin.groups.fromPhone('self', GROUP.jid, { setting: 'announcement' })
    assert.equal((await getGroup()).announce, true)
    await h.standin.groups.fromPhone(alice, GROUP.jid, { description: 'Set on a phone' })
    assert.equal((await getGroup()).description, 'Set on a phone')
    await h.standin.groups.fromPhone(alice, GROUP.jid, { participants: 'remove', who: [h.standin.contact(ERIN)] })
    assert.deepEqual((await getGroup()).participants.map((p) => p.phone), [OWN.phone, ALICE.phone, BOB.phone], 'Alice removed Erin')
    assert.deepEqual(h.standin.errors(), [])
  })
})

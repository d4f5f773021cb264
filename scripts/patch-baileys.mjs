// Five checked patches of the installed @whiskeysockets/baileys 7.0.0-rc14. Run at install
// (postinstall, before the Prisma step) and by every build (scripts/build.mjs, so also before
// `npm start`).
//
// 1. Signature checks are real (issue 18, item 12). `Curve.verify` (lib/Utils/crypto.js) calls
//    libsignal's `verifySignature`, which *returns* false for a bad signature (it only throws on
//    malformed input), and then returns true regardless. Every caller trusts that boolean: the Noise
//    handshake's certificate chain (Utils/noise-handler.js) and the ADV account signature at pairing
//    (Utils/validate-connection.js), so both accepted anything. The patch returns libsignal's answer.
//
// 2. A message is receipted only once the application has stored it (issue 18, item 5). In
//    `handleMessage` (lib/Socket/messages-recv.js) the delivery receipt goes out right after the
//    message is decrypted, before `messages.upsert` is even emitted (and that event may then sit in
//    Baileys' event buffer). WhatsApp never sends a receipted message again, so a process killed in
//    between loses it. The patch hands each decrypted message to
//    `config.storeIncomingMessage(msg, receipt)` in arrival order, and the receipt goes out when the
//    application calls `receipt()`, once the message is stored; if it never does, WhatsApp delivers
//    the message again on the next connection. Baileys' message mutex (and its offline queue) waits
//    only for the promise the option returns: the application lets the next message be decrypted
//    while this one is stored, so it can store several at once, and says when too many are waiting.
//    Without the option the receipt goes out as before (after cleanMessage, with the same values).
//    Every other answer to a message stanza (the acks and nacks of undecryptable, ignored and
//    newsletter messages, retry receipts) carries nothing the application stores, and is unchanged.
//
// 3. A burst of incoming messages does not hold the event loop (issue 18, item 2). `processNode`
//    (lib/Socket/messages-recv.js) starts a handler for every live stanza as it arrives, all of them
//    at once, and nothing in them yields: 2,000 messages kept HTTP and timers waiting for seconds.
//    Offline stanzas already go through `makeOfflineNodeProcessor`, one at a time in arrival order
//    with a turn of the event loop every 10. The patch sends live message stanzas through that same
//    queue (so a live message no longer overtakes an offline one still queued) and asks after every
//    stanza whether to yield: the handler is milliseconds of decryption.
//    Decryption was one at a time already (Baileys' message mutex), so nothing runs slower. The
//    service passes `config.yieldToEventLoop` (src/event-loop-slice.ts): a turn only once the
//    current one has spent its slice, so a burst is not one loop iteration per message. Stanzas
//    still queued when the socket closes are not handled: they got no receipt, and WhatsApp delivers
//    them again on the next connection. Calls, receipts and notifications that are live keep their path.
//
// 4. A buffered burst is not quadratic (issue 18, storm budget). While Baileys buffers events (it
//    does for every live message: `upsertMessage` is a buffered function, flushed 100 ms after the
//    last one, so a steady stream stays buffered), `emit('messages.upsert')` read the buffered
//    upserts' type with `Object.values(data.messageUpserts)[0]`: a copy of every buffered upsert per
//    message. In a storm of 5,000 undecryptable messages that copy was 18 % of the process's time,
//    and it ran synchronously. The patch keeps the buffered upserts' type beside them (under a
//    symbol) as they are buffered; the copy is made only when it is used (a type change flushes the
//    buffered upserts). Its first version read the first upsert with for...in, which still
//    enumerated every buffered key: 3 % of a burst of 2,000 messages.
//
// 5. Outgoing encryptions wait for the event loop's slice too (issue 18, storm budget). Every
//    message that fails to decrypt schedules a request to the phone to resend it (a peer message,
//    Signal-encrypted to the account's own devices) on a timer; a batch of failures fires hundreds of
//    those timers in one turn, and each went on to encrypt and send at once: turns of 200-300 ms, the
//    longest the service had in a storm of undecryptable messages. In `createParticipantNodes`
//    (lib/Socket/messages-send.js) each encryption, inside Baileys' per-recipient mutex, asks
//    `config.yieldToEventLoop` first, so that a turn takes only a slice's worth of them and the rest
//    go in the turns after. (Asked at the start of `relayMessage` instead, all of them were let
//    through before any had done its work.) Without the option nothing waits, as before.
//
// Why patches of the installed files rather than wrapping from the service: the fix then holds for
// every importer of Baileys in the process (the service under tsx, the esbuild bundle, which keeps
// packages external and so loads these same files, and the test stand-in), with no load order to get
// right, and the receipt sits in the middle of a closure nothing outside can reach. Install scripts
// are already required (Prisma's clients are generated there), so the patches are as present as the
// rest of the install.
//
// Checked, not blind: each file must hold exactly the rc14 text (then it is patched) or the patched
// text (then nothing is written). Anything else fails loudly: Baileys changed, and the patch must be
// reviewed (dropped if upstream fixed it) rather than silently skipped.
import { readFileSync, renameSync, statSync, writeFileSync, chmodSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const baileysPackage = createRequire(path.join(root, 'package.json')).resolve('@whiskeysockets/baileys/package.json')
const baileysLib = path.join(path.dirname(baileysPackage), 'lib')

/** The installed lib/Utils/crypto.js of @whiskeysockets/baileys. */
export const BAILEYS_CRYPTO_FILE = path.join(baileysLib, 'Utils', 'crypto.js')
/** The installed lib/Utils/event-buffer.js of @whiskeysockets/baileys. */
export const BAILEYS_EVENT_BUFFER_FILE = path.join(baileysLib, 'Utils', 'event-buffer.js')
/** The installed lib/Socket/messages-send.js of @whiskeysockets/baileys. */
export const BAILEYS_MESSAGES_SEND_FILE = path.join(baileysLib, 'Socket', 'messages-send.js')
/** The installed lib/Socket/messages-recv.js of @whiskeysockets/baileys. */
export const BAILEYS_MESSAGES_RECV_FILE = path.join(baileysLib, 'Socket', 'messages-recv.js')

const VERIFY = {
  name: 'Curve.verify',
  file: BAILEYS_CRYPTO_FILE,
  review: 'check whether Curve.verify now returns the result of verifySignature, then update or drop this patch',
  original: `    verify: (pubKey, message, signature) => {
        try {
            curve.verifySignature(generateSignalPubKey(pubKey), message, signature);
            return true;
        }
        catch (error) {
            return false;
        }
    }
`,
  patched: `    verify: (pubKey, message, signature) => {
        // wsgo-ts scripts/patch-baileys.mjs: libsignal returns false for a bad signature, it does not throw
        try {
            return curve.verifySignature(generateSignalPubKey(pubKey), message, signature) === true;
        }
        catch (error) {
            return false;
        }
    }
`,
}

const RECEIPT = {
  name: 'the delivery receipt in handleMessage',
  file: BAILEYS_MESSAGES_RECV_FILE,
  review: 'check whether Baileys now waits for the application before it receipts a message, then update or drop this patch',
  original: `                        acked = true;
                        await sendReceipt(msg.key.remoteJid, participant, [msg.key.id], type);
                        // send ack for history message
                        const isAnyHistoryMsg = getHistoryMsg(msg.message);
                        if (isAnyHistoryMsg) {
                            const jid = jidNormalizedUser(msg.key.remoteJid);
                            await sendReceipt(jid, undefined, [msg.key.id], 'hist_sync'); // TODO: investigate
                        }
                    }
                    else {
                        acked = true;
                        await sendMessageAck(node);
                        logger.debug({ key: msg.key }, 'processed newsletter message without receipts');
                    }
                }
                cleanMessage(msg, authState.creds.me.id, authState.creds.me.lid);
                await upsertMessage(msg, node.attrs.offline ? 'append' : 'notify');
`,
  patched: `                        acked = true;
                        // wsgo-ts scripts/patch-baileys.mjs: after this receipt WhatsApp never sends the
                        // message again, so with config.storeIncomingMessage it goes out once that has stored it
                        const receiptJid = msg.key.remoteJid;
                        const receiptId = msg.key.id;
                        const isAnyHistoryMsg = getHistoryMsg(msg.message);
                        var deliveryReceipt = async () => {
                            await sendReceipt(receiptJid, participant, [receiptId], type);
                            // send ack for history message
                            if (isAnyHistoryMsg) {
                                const jid = jidNormalizedUser(receiptJid);
                                await sendReceipt(jid, undefined, [receiptId], 'hist_sync'); // TODO: investigate
                            }
                        };
                    }
                    else {
                        acked = true;
                        await sendMessageAck(node);
                        logger.debug({ key: msg.key }, 'processed newsletter message without receipts');
                    }
                }
                cleanMessage(msg, authState.creds.me.id, authState.creds.me.lid);
                if (config.storeIncomingMessage) {
                    // wsgo-ts: handed over in arrival order; the mutex is held only until the application
                    // has room for more, and the receipt goes out when it calls back with the message stored
                    const receipt = () => (deliveryReceipt ? deliveryReceipt() : Promise.resolve())
                        .catch(error => logger.debug({ error, msgId: msg.key.id }, 'receipt not sent: WhatsApp delivers the message again'));
                    await config.storeIncomingMessage(msg, receipt);
                }
                else if (deliveryReceipt) {
                    await deliveryReceipt();
                }
                await upsertMessage(msg, node.attrs.offline ? 'append' : 'notify');
`,
}

const LIVE_QUEUE = {
  name: 'live stanzas in the yielding queue of processNode',
  file: BAILEYS_MESSAGES_RECV_FILE,
  review: 'check whether Baileys now queues live message stanzas and yields to the event loop between them, then update or drop this patch',
  original: `    const offlineNodeProcessor = makeOfflineNodeProcessor(new Map([
        ['message', handleMessage],
        ['call', handleCall],
        ['receipt', handleReceipt],
        ['notification', handleNotification]
    ]), {
        isWsOpen: () => ws.isOpen,
        onUnexpectedError,
        yieldToEventLoop: () => new Promise(resolve => setImmediate(resolve))
    });
`,
  patched: `    const offlineNodeProcessor = makeOfflineNodeProcessor(new Map([
        ['message', handleMessage],
        ['call', handleCall],
        ['receipt', handleReceipt],
        ['notification', handleNotification]
    ]), {
        isWsOpen: () => ws.isOpen,
        onUnexpectedError,
        // wsgo-ts scripts/patch-baileys.mjs: asked after every stanza, not every 10; the application may
        // say whether the event loop is due a turn (config.yieldToEventLoop), else it gets one every time
        yieldToEventLoop: config.yieldToEventLoop || (() => new Promise(resolve => setImmediate(resolve)))
    }, 1);
`,
  // What an earlier version of this patch wrote: patched over, so an install patched by it upgrades.
  earlier: [
    `    const offlineNodeProcessor = makeOfflineNodeProcessor(new Map([
        ['message', handleMessage],
        ['call', handleCall],
        ['receipt', handleReceipt],
        ['notification', handleNotification]
    ]), {
        isWsOpen: () => ws.isOpen,
        onUnexpectedError,
        yieldToEventLoop: () => new Promise(resolve => setImmediate(resolve))
    }, 1); // wsgo-ts scripts/patch-baileys.mjs: a turn of the event loop after every stanza, not every 10
`,
  ],
  // The second half of the same patch, in processNode (applied together, see LIVE_QUEUE_ROUTE).
}

const LIVE_QUEUE_ROUTE = {
  name: 'live message stanzas routed to that queue',
  file: BAILEYS_MESSAGES_RECV_FILE,
  review: LIVE_QUEUE.review,
  original: `        const isOffline = !!node.attrs.offline;
        if (isOffline) {
            offlineNodeProcessor.enqueue(type, node);
        }
`,
  patched: `        // wsgo-ts scripts/patch-baileys.mjs: live messages too, one at a time in arrival order, with a
        // turn of the event loop between them; handled all at once, a burst held the process for seconds
        const isOffline = !!node.attrs.offline || type === 'message';
        if (isOffline) {
            offlineNodeProcessor.enqueue(type, node);
        }
`,
}

// The buffered upserts' type, kept beside them under a symbol (no Object.values or for...in sees it).
const UPSERT_TYPE_KEY = "Symbol.for('wsgo-ts.bufferedUpsertType')"
// What follows the first lines of the check, as shipped and as the first version of this patch left it.
const BUFFERED_UPSERT_REST = `                        logger.debug({ bufferedType, newType: type }, 'messages.upsert type mismatch, emitting buffered messages');
                        // Emit the buffered messages with their correct type
                        ev.emit('event', {
                            'messages.upsert': {
                                messages: existingUpserts.map(m => m.message),
                                type: bufferedType
                            }
                        });
                        // Clear the message upserts from the buffer
                        data.messageUpserts = {};
                    }
                }
            }
            if (isBuffering && BUFFERABLE_EVENT_SET.has(event)) {
                append(data, historyCache, event, evData, logger);
                return true;
            }
`

const BUFFERED_UPSERT_TYPE = {
  name: 'the buffered upserts type check in the event buffer',
  file: BAILEYS_EVENT_BUFFER_FILE,
  review: 'check whether emit() of messages.upsert still reads the buffered upserts\' type from the upserts themselves on every emit, then update or drop this patch',
  original: `                const existingUpserts = Object.values(data.messageUpserts);
                if (existingUpserts.length > 0) {
                    const bufferedType = existingUpserts[0].type;
                    if (bufferedType !== type) {
${BUFFERED_UPSERT_REST}`,
  // The first version read the first buffered upsert with for...in, which enumerates every key of
  // an object used as a map as well: still a pass over the buffer per message.
  earlier: [
    `                // wsgo-ts scripts/patch-baileys.mjs: the first buffered upsert's type, read without copying
                // every buffered upsert on every emit (which made a buffered burst quadratic)
                let firstUpsert;
                for (const key in data.messageUpserts) {
                    firstUpsert = data.messageUpserts[key];
                    break;
                }
                if (firstUpsert) {
                    const bufferedType = firstUpsert.type;
                    if (bufferedType !== type) {
                        const existingUpserts = Object.values(data.messageUpserts);
${BUFFERED_UPSERT_REST}`,
  ],
  patched: `                // wsgo-ts scripts/patch-baileys.mjs: the buffered upserts' type is kept beside them (under a
                // symbol, which no Object.values or for...in sees) as they are buffered, rather than read from
                // the upserts on every emit, which passed over the whole buffer per message
                const bufferedType = data.messageUpserts[${UPSERT_TYPE_KEY}];
                if (bufferedType !== undefined && bufferedType !== type) {
                    const existingUpserts = Object.values(data.messageUpserts);
                    if (existingUpserts.length > 0) {
                        logger.debug({ bufferedType, newType: type }, 'messages.upsert type mismatch, emitting buffered messages');
                        // Emit the buffered messages with their correct type
                        ev.emit('event', {
                            'messages.upsert': {
                                messages: existingUpserts.map(m => m.message),
                                type: bufferedType
                            }
                        });
                    }
                    // Clear the message upserts from the buffer
                    data.messageUpserts = {};
                }
            }
            if (isBuffering && BUFFERABLE_EVENT_SET.has(event)) {
                append(data, historyCache, event, evData, logger);
                if (event === 'messages.upsert') {
                    data.messageUpserts[${UPSERT_TYPE_KEY}] = evData.type;
                }
                return true;
            }
`,
}

const OUTGOING_SLICE = {
  name: 'outgoing encryptions waiting for the event loop slice',
  file: BAILEYS_MESSAGES_SEND_FILE,
  review: 'check whether createParticipantNodes still encrypts at once whoever calls it (the placeholder resend timers), then update or drop this patch',
  original: `                const node = await encryptionMutex.mutex(mutexKey, async () => {
                    const { type, ciphertext } = await signalRepository.encryptMessage({ jid, data: bytes });
`,
  patched: `                const node = await encryptionMutex.mutex(mutexKey, async () => {
                    // wsgo-ts scripts/patch-baileys.mjs: a slice of the event loop first (config.yieldToEventLoop),
                    // so that hundreds of resend requests whose timers fire together do not encrypt in one turn
                    if (config.yieldToEventLoop) {
                        await config.yieldToEventLoop();
                    }
                    const { type, ciphertext } = await signalRepository.encryptMessage({ jid, data: bytes });
`,
}

/**
 * Every patch, in the order they are applied.
 * @type {Array<{ name: string, file: string, review: string, original: string, patched: string, earlier?: string[] }>}
 */
export const BAILEYS_PATCHES = [VERIFY, RECEIPT, LIVE_QUEUE, LIVE_QUEUE_ROUTE, BUFFERED_UPSERT_TYPE, OUTGOING_SLICE]
const PATCHES = BAILEYS_PATCHES

const count = (text, part) => text.split(part).length - 1

function baileysVersion() {
  try {
    return JSON.parse(readFileSync(baileysPackage, 'utf8')).version
  } catch {
    return 'unknown'
  }
}

/** Where the file holds what an earlier version of the patch wrote (to be patched over), or undefined. */
const earlierText = (patch, text) => (patch.earlier ?? []).find((earlier) => count(text, earlier) === 1)

/**
 * 'original' (Baileys as shipped, to be patched), 'earlier' (as an earlier version of this patch left
 * it, to be patched over) or 'patched'; throws if the file is none of them.
 */
function inspect(patch, file) {
  const text = readFileSync(file, 'utf8')
  const original = count(text, patch.original)
  const earlier = earlierText(patch, text) ? 1 : 0
  const patched = count(text, patch.patched)
  if (patched === 1 && original + earlier === 0) return 'patched'
  if (original === 1 && patched + earlier === 0) return 'original'
  if (earlier === 1 && patched + original === 0) return 'earlier'
  throw new Error(
    `scripts/patch-baileys.mjs: ${patch.name} in ${file} (@whiskeysockets/baileys ${baileysVersion()}) is not the code this patch ` +
      `knows. Baileys changed: ${patch.review}.`,
  )
}

/** Patches the file if it is Baileys as shipped; 'patched' or 'already patched'. Throws as inspect() does. */
function apply(patch, file) {
  if (inspect(patch, file) === 'patched') return 'already patched'
  const text = readFileSync(file, 'utf8')
  // Written aside and renamed in place: a process loading Baileys meanwhile sees one version or the other.
  const temporary = `${file}.${process.pid}.tmp`
  writeFileSync(temporary, text.replace(earlierText(patch, text) ?? patch.original, patch.patched))
  chmodSync(temporary, statSync(file).mode & 0o777)
  renameSync(temporary, file)
  if (inspect(patch, file) !== 'patched') throw new Error(`scripts/patch-baileys.mjs: ${file} did not take the patch of ${patch.name}`)
  return 'patched'
}

/** 'original' or 'patched'; throws if Curve.verify is neither. */
export const inspectBaileysCrypto = (file = BAILEYS_CRYPTO_FILE) => inspect(VERIFY, file)
/** Patches Curve.verify if the file is Baileys as shipped; throws if it is neither shipped nor patched. */
export const patchBaileysCrypto = (file = BAILEYS_CRYPTO_FILE) => apply(VERIFY, file)
/** 'original' or 'patched'; throws if handleMessage's receipt is neither. */
export const inspectBaileysReceipts = (file = BAILEYS_MESSAGES_RECV_FILE) => inspect(RECEIPT, file)
/** Makes handleMessage's receipt wait for config.storeIncomingMessage; throws if the code is neither shipped nor patched. */
export const patchBaileysReceipts = (file = BAILEYS_MESSAGES_RECV_FILE) => apply(RECEIPT, file)

/** 'original', 'earlier' or 'patched'; throws if processNode's queueing of live messages is none of them (both halves must agree). */
export function inspectBaileysLiveQueue(file = BAILEYS_MESSAGES_RECV_FILE) {
  const states = [inspect(LIVE_QUEUE, file), inspect(LIVE_QUEUE_ROUTE, file)]
  // Patched by an earlier version of the patch: the queue's half changed since, the route's did not.
  if (states[0] === 'earlier' && states[1] === 'patched') return 'earlier'
  if (states[0] !== states[1]) throw new Error(`scripts/patch-baileys.mjs: ${file} is half patched (${LIVE_QUEUE.name}: ${states[0]}, ${LIVE_QUEUE_ROUTE.name}: ${states[1]})`)
  return states[0]
}
/** Routes live message stanzas through Baileys' yielding queue; throws if the code is neither shipped nor patched. */
export function patchBaileysLiveQueue(file = BAILEYS_MESSAGES_RECV_FILE) {
  const results = [apply(LIVE_QUEUE, file), apply(LIVE_QUEUE_ROUTE, file)]
  return results.includes('patched') ? 'patched' : 'already patched'
}

/** Applies every patch to the installed Baileys: `{ [name]: 'patched' | 'already patched' }`. Throws on code it does not know. */
export function patchBaileys() {
  return Object.fromEntries(PATCHES.map((patch) => [patch.name, apply(patch, patch.file)]))
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const patch of PATCHES) console.log(`baileys: ${patch.name} ${apply(patch, patch.file)} (${path.relative(root, patch.file)})`)
}

// Votes on this account's polls. WhatsApp encrypts each vote for the poll's creator (AES-GCM, keyed
// from the poll's messageSecret); Baileys rc14 leaves them encrypted (its decryption step is
// commented out), so the service decrypts them with the poll it kept when sending it
// (sent-messages.ts) and names the options chosen (a vote carries their SHA-256 only).
import { createHash } from 'node:crypto'
import { decryptPollVote, normalizeMessageContent, type WAMessage, type WAMessageContent } from '@whiskeysockets/baileys'
import { isGroupJid } from '../jids.js'

export interface PollVoteContext {
  /** A message this account sent, by id (the poll with its secret). */
  sent(id: string): Promise<WAMessageContent | undefined>
  /** This account's own JIDs (phone number and LID): the poll's creator, as the voter's phone names it. */
  ownJids(): string[]
}

export interface DecryptedVote {
  pollMessageID: string
  options: string[]
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/** The vote a message carries, decrypted; undefined when it is no vote, or not on a poll this account sent and kept. */
export async function decryptVote(message: WAMessage, context: PollVoteContext): Promise<DecryptedVote | undefined> {
  const update = normalizeMessageContent(message.message)?.pollUpdateMessage
  const pollId = update?.pollCreationMessageKey?.id
  if (!update?.vote?.encPayload || !update.vote.encIv || !pollId) return undefined
  const poll = await context.sent(pollId)
  const secret = poll?.messageContextInfo?.messageSecret
  const creation = normalizeMessageContent(poll)
  const question = creation?.pollCreationMessage ?? creation?.pollCreationMessageV2 ?? creation?.pollCreationMessageV3
  if (!secret || !question) return undefined
  // Which form of each JID the voter's phone used is not said: the one that authenticates is it.
  const { key } = message
  const voters = unique([key.participant, key.participantAlt, key.remoteJid, key.remoteJidAlt].filter((j): j is string => Boolean(j) && !isGroupJid(j!)))
  for (const creator of unique(context.ownJids())) {
    for (const voter of voters) {
      try {
        const vote = decryptPollVote(update.vote, { pollCreatorJid: creator, pollMsgId: pollId, pollEncKey: secret, voterJid: voter })
        const byHash = new Map((question.options ?? []).map((o) => [sha256(o.optionName ?? ''), o.optionName ?? '']))
        const options = (vote.selectedOptions ?? []).map((hash) => byHash.get(Buffer.from(hash).toString('hex'))).filter((o): o is string => o !== undefined)
        return { pollMessageID: pollId, options }
      } catch {
        // Not these JIDs (the GCM tag does not match): try the next pair.
      }
    }
  }
  return undefined
}

const unique = (values: string[]) => [...new Set(values.map((v) => v.replace(/:\d+@/, '@')))]

// Session names: the `{session}` of /api/sessions/{session}/... and the tRPC `session` input.
import { z } from 'zod'

/** The session the wsgo contract's paths act on; it exists from the first start and cannot be deleted. */
export const DEFAULT_SESSION = 'default'

export const SESSION_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/

export const sessionNameSchema = z
  .string()
  .regex(SESSION_NAME, 'expected a session name: 1 to 64 characters, lowercase letters, digits, _ and -, starting with a letter or digit')
  .describe('Session name, e.g. default or sales')

export const isSessionName = (name: string) => SESSION_NAME.test(name)

// What a failed database call says about the store itself, as opposed to the call: a full disk, a
// read-only file, a server that cannot be reached, an I/O error. These are states of the whole
// store (every write fails until they end), not bugs of one request; a unique-key violation or a
// missing row is none of them. Driver errors arrive in two wrappings: the driver adapter's error
// (`cause: {kind, originalCode, ...}`), and Prisma's client error carrying it in
// `meta.driverAdapterError.cause`. Both are read here, so nothing else knows their shapes.

export const storeFaultKinds = ['unreachable', 'read-only', 'full', 'io', 'removed'] as const
export type StoreFaultKind = (typeof storeFaultKinds)[number]

export interface StoreFault {
  kind: StoreFaultKind
  /** A sentence for an operator: what the store cannot do, and the driver's own words. */
  message: string
}

type AdapterCause = { kind?: unknown; originalCode?: unknown; originalMessage?: unknown; code?: unknown; message?: unknown }

const describe: Record<StoreFaultKind, string> = {
  unreachable: 'the database server cannot be reached',
  'read-only': 'the database is read-only',
  full: 'the disk or database is full',
  io: 'the database file cannot be read or written (I/O error)',
  removed: 'the database file was removed while the service was running',
}

export function faultMessage(kind: StoreFaultKind, detail?: string): string {
  return detail ? `${describe[kind]} (${detail})` : describe[kind]
}

// Adapter error kinds of @prisma/driver-adapter-utils that mean the server is gone or refusing.
const unreachableKinds = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections', 'TlsConnectionError', 'DatabaseDoesNotExist'])

function fromSqliteCode(code: string): StoreFaultKind | undefined {
  if (code.startsWith('SQLITE_READONLY')) return 'read-only'
  if (code === 'SQLITE_FULL') return 'full'
  if (code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN') || code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) return 'io'
  return undefined
}

// SQLSTATE classes and codes of PostgreSQL that are states of the server, not of the statement.
function fromPostgresCode(code: string): StoreFaultKind | undefined {
  if (code === '25006') return 'read-only' // read_only_sql_transaction (a hot standby, default_transaction_read_only)
  if (code === '53100') return 'full' // disk_full
  if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300') return 'unreachable'
  if (code.startsWith('58')) return 'io'
  return undefined
}

function fromCause(cause: AdapterCause): StoreFault | undefined {
  const detail = typeof cause.originalMessage === 'string' ? cause.originalMessage : typeof cause.message === 'string' ? cause.message : undefined
  if (typeof cause.kind === 'string' && unreachableKinds.has(cause.kind)) return { kind: 'unreachable', message: faultMessage('unreachable', detail ?? cause.kind) }
  const code = typeof cause.originalCode === 'string' ? cause.originalCode : typeof cause.code === 'string' ? cause.code : undefined
  if (!code) return undefined
  const kind = code.startsWith('SQLITE_') ? fromSqliteCode(code) : fromPostgresCode(code)
  // SQLite cannot open the file at all: as often a directory it may not write (no room for the WAL
  // files) as a failing disk, so say what to check rather than "I/O error".
  if (code.startsWith('SQLITE_CANTOPEN')) {
    return { kind: 'io', message: `the database file cannot be opened (${detail ?? code}): the file and its directory must be readable and writable by the service` }
  }
  return kind && { kind, message: faultMessage(kind, detail ?? code) }
}

// Errors from Node and the drivers before any adapter wrapping (a socket refused, a file system error).
const systemCodes: Record<string, StoreFaultKind> = {
  ECONNREFUSED: 'unreachable',
  ECONNRESET: 'unreachable',
  ETIMEDOUT: 'unreachable',
  EHOSTUNREACH: 'unreachable',
  ENOTFOUND: 'unreachable',
  EPIPE: 'unreachable',
  ENOSPC: 'full',
  EROFS: 'read-only',
  EIO: 'io',
}

/** The store fault behind `error` (or anything in its `cause` chain), if it is one. */
export function storeFaultOf(error: unknown): StoreFault | undefined {
  for (let current = error, depth = 0; current && typeof current === 'object' && depth < 6; depth++) {
    const value = current as { meta?: { driverAdapterError?: { cause?: AdapterCause } }; cause?: unknown; code?: unknown; message?: unknown; name?: unknown }
    const adapterCause = value.meta?.driverAdapterError?.cause ?? (value.name === 'DriverAdapterError' ? (value.cause as AdapterCause | undefined) : undefined)
    if (adapterCause && typeof adapterCause === 'object') {
      const fault = fromCause(adapterCause)
      if (fault) return fault
    }
    if (typeof value.code === 'string') {
      const kind = systemCodes[value.code] ?? (value.code.startsWith('SQLITE_') ? fromSqliteCode(value.code) : undefined)
      if (kind) return { kind, message: faultMessage(kind, typeof value.message === 'string' ? value.message : value.code) }
    }
    // Prisma's own code for "can't reach the server" (P1001), when raised before any adapter call.
    if (value.code === 'P1001' || value.code === 'P1017') return { kind: 'unreachable', message: faultMessage('unreachable', String(value.code)) }
    current = value.cause
  }
  return undefined
}

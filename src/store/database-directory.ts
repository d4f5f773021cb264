// Creates the directory of a SQLite file, one level at a time. Node's `mkdir(..., {recursive: true})`
// never returns when a parent exists but refuses new entries with ENOENT (e.g. under /proc): it
// retries forever, synchronously, so start-up hung and ignored SIGTERM (issue 18 #6). Here each
// missing level is created once, and a level that cannot be is an error naming it.
import { mkdirSync, statSync } from 'node:fs'
import path from 'node:path'

/** The SQLite file's directory does not exist and cannot be created, or is not a directory. */
export class DatabasePathError extends Error {
  override name = 'DatabasePathError'
  constructor(
    /** The database file, as resolved. */
    readonly file: string,
    message: string,
  ) {
    super(message)
  }
}

/** Makes sure the directory of `file` exists, creating the missing levels; DatabasePathError if it cannot. */
export function ensureDatabaseDirectory(file: string): void {
  const resolved = path.resolve(file)
  ensureDirectory(path.dirname(resolved), resolved)
}

function ensureDirectory(dir: string, file: string): void {
  let exists: boolean
  try {
    exists = statSync(dir).isDirectory()
    if (!exists) throw new DatabasePathError(file, `${dir} is not a directory`)
    return
  } catch (error) {
    if (error instanceof DatabasePathError) throw error
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new DatabasePathError(file, `${dir} cannot be looked at (${codeOf(error)})`)
  }
  const parent = path.dirname(dir)
  if (parent !== dir) ensureDirectory(parent, file)
  try {
    mkdirSync(dir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return // made meanwhile (another process)
    // ENOENT with an existing parent: a file system that takes no new entries there (/proc, /sys).
    const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? `${parent} does not allow creating it, ENOENT` : codeOf(error)
    throw new DatabasePathError(file, `the directory ${dir} cannot be created (${why})`)
  }
}

function codeOf(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException
  if (code === 'EACCES' || code === 'EPERM') return `permission denied, ${code}`
  if (code === 'EROFS') return 'read-only file system, EROFS'
  return code ?? (error instanceof Error ? message : String(error))
}

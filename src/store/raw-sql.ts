// Plain SQL on the connection Prisma's client uses, without going through the client. For the few
// statements that run for every incoming message (the event log and its outbox rows, the webhook
// claims and settles, the Signal keys, new messages): the client's own raw queries ($queryRaw)
// spend about 0.4 ms of JavaScript each around the database's work (building the request, the
// query interpreter, serialising the parameters and the rows back), which was a quarter of what a
// burst of 2,000 messages cost the service (issue 18, storm budget); straight to the driver adapter,
// the burst's throughput went up by about a fifth.
//
// Nothing else changes: the statements go to the same adapter connection (src/store/
// observed-connection.ts: its failures are reported to the store's health, on SQLite it waits for
// the event loop's slice, and a transaction holds the adapter's lock like the client's do), with the
// parameters converted as the client converts those of $queryRaw, and the rows typed as it types them
// (a 64-bit integer as a bigint, a date-time as a Date). Statements are written with sqlFragment
// (`?` placeholders on SQLite, `$1` on PostgreSQL, chosen here); errors are the adapter's own
// (store-faults.ts reads both kinds).
import { ColumnTypeEnum, type ArgType, type SqlDriverAdapter, type SqlQuery, type SqlResultSet, type Transaction } from '@prisma/driver-adapter-utils'
import type { Sql } from '@prisma/client/runtime/client'

/** Statements outside or inside a transaction. */
export interface RawStatements {
  /** The rows of a SELECT, or of a statement with RETURNING, as objects keyed by column name. */
  query<T = Record<string, unknown>>(sql: Sql): Promise<T[]>
  /** How many rows the statement changed. */
  execute(sql: Sql): Promise<number>
}

export class RawSql implements RawStatements {
  /**
   * @param connection the adapter connection the client opened (it opens it on its first query, so
   * `connect` is called when there is none yet).
   */
  constructor(
    private readonly connection: () => SqlDriverAdapter | undefined,
    private readonly connect: () => Promise<void>,
  ) {}

  async query<T = Record<string, unknown>>(sql: Sql): Promise<T[]> {
    const connection = await this.open()
    return rowsOf(await connection.queryRaw(queryOf(sql, connection.provider))) as T[]
  }

  async execute(sql: Sql): Promise<number> {
    const connection = await this.open()
    return connection.executeRaw(queryOf(sql, connection.provider))
  }

  /** Statements that must land together: one alone as it is (atomic on its own), several in one transaction. */
  async executeAll(statements: readonly Sql[]): Promise<void> {
    if (statements.length === 1) await this.execute(statements[0]!)
    else if (statements.length > 1) await this.transaction(async (tx) => { for (const statement of statements) await tx.execute(statement) })
  }

  /**
   * Runs `work` in one transaction: committed when it resolves, rolled back when it throws (and the
   * error rethrown). As with the client's transactions, the adapter leaves BEGIN to itself and
   * COMMIT and ROLLBACK to its caller.
   */
  async transaction<T>(work: (tx: RawStatements) => Promise<T>): Promise<T> {
    const connection = await this.open()
    const provider = connection.provider
    const tx: Transaction = await connection.startTransaction()
    const statements: RawStatements = {
      query: async <R>(sql: Sql) => rowsOf(await tx.queryRaw(queryOf(sql, provider))) as R[],
      execute: (sql: Sql) => tx.executeRaw(queryOf(sql, provider)),
    }
    let result: T
    try {
      result = await work(statements)
    } catch (error) {
      try {
        await tx.executeRaw(plain('ROLLBACK'))
      } catch {
        // The error that ended the work is the one that matters; the transaction is released below either way.
      } finally {
        await tx.rollback()
      }
      throw error
    }
    try {
      await tx.executeRaw(plain('COMMIT'))
    } catch (error) {
      await tx.rollback()
      throw error
    }
    await tx.commit()
    return result
  }

  private async open(): Promise<SqlDriverAdapter> {
    const current = this.connection()
    if (current) return current
    await this.connect()
    const opened = this.connection()
    if (!opened) throw new Error('the database connection did not open')
    return opened
  }
}

const plain = (sql: string): SqlQuery => ({ sql, args: [], argTypes: [] })

/** The statement for the adapter: placeholders of its provider, parameters as the client sends those of $queryRaw. */
function queryOf(sql: Sql, provider: SqlDriverAdapter['provider']): SqlQuery {
  const args: unknown[] = []
  const argTypes: ArgType[] = []
  for (const value of sql.values) {
    if (value instanceof Date) {
      args.push(value.toJSON())
      argTypes.push({ scalarType: 'datetime', arity: 'scalar' })
    } else if (typeof value === 'bigint') {
      args.push(value.toString())
      argTypes.push({ scalarType: 'bigint', arity: 'scalar' })
    } else if (typeof value === 'number') {
      args.push(value)
      argTypes.push({ scalarType: 'decimal', arity: 'scalar' })
    } else if (typeof value === 'string') {
      args.push(value)
      argTypes.push({ scalarType: 'string', arity: 'scalar' })
    } else if (value === null || value === undefined || typeof value === 'boolean') {
      args.push(value ?? null)
      argTypes.push({ scalarType: 'unknown', arity: 'scalar' })
    } else {
      // Nothing on these paths passes bytes, decimals or lists: refused rather than sent as something else.
      throw new TypeError(`raw-sql: unsupported parameter ${Object.prototype.toString.call(value)}`)
    }
  }
  return { sql: provider === 'postgres' ? sql.text : sql.sql, args, argTypes }
}

/** Rows as objects, each value typed by its column as the client types the rows of $queryRaw. */
function rowsOf(result: SqlResultSet): Array<Record<string, unknown>> {
  const { columnNames, columnTypes, rows } = result
  return rows.map((row) => {
    const record: Record<string, unknown> = {}
    for (let i = 0; i < columnNames.length; i++) record[columnNames[i]!] = valueOf(row[i], columnTypes[i])
    return record
  })
}

function valueOf(value: unknown, type: number | undefined): unknown {
  if (value === null || value === undefined) return null
  switch (type) {
    case ColumnTypeEnum.Int64:
      return BigInt(value as string | number | bigint)
    case ColumnTypeEnum.Date:
    case ColumnTypeEnum.DateTime:
      return new Date(value as string | number)
    case ColumnTypeEnum.Int32:
    case ColumnTypeEnum.Float:
    case ColumnTypeEnum.Double:
    case ColumnTypeEnum.UnknownNumber:
      return typeof value === 'string' ? Number(value) : value
    default:
      return value
  }
}

// npm run build:client: writes the declarations of the TypeScript client package (client/), which a
// project installs from a path or a tarball without the server or its dependencies.
//
// `tsc --declaration` of the router would name the server's own types (its context holds the
// services: Prisma, Baileys, pino...), so a client project would need all of them installed and
// skipLibCheck on. Instead the TypeScript compiler resolves, on the real router, each procedure's
// input and output as the server declares them, and they are printed here as plain object types:
// client/router.d.ts declares `AppRouter` as a TRPCBuiltRouter of TRPCQueryProcedure /
// TRPCMutationProcedure / TRPCSubscriptionProcedure, the only types it takes from @trpc/server
// (a peer of @trpc/client anyway), and every other export of src/client.ts (Status, event payloads...).
// The router is also loaded (under tsx) for what only its runtime definition holds: each procedure's
// REST route and summary and its fields' descriptions, written as JSDoc for editors to show.
//
//   node scripts/build-client.mjs            writes client/router.d.ts, procedures.mjs and package.json
//   node scripts/build-client.mjs --check    exits 1, naming the file, when either is out of date
//   --entry <file> --out <dir>               another public-types module (tests use a fixture router)
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import ts from 'typescript'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const PACKAGE_NAME = '@wsgo-ts/client'

/** A type that cannot be written as standalone data; `where` names the export and property path. */
class UnprintableType extends Error {}

function compilerOptions() {
  const parsed = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'))
    },
  })
  return { ...parsed.options, noEmit: true }
}

/** A JSDoc comment at `pad`, or '' for no text. */
function jsdoc(text, pad) {
  const lines = text.trim().replace(/\*\//g, '*\\/').split('\n')
  if (!lines.join('')) return ''
  return lines.length === 1 ? `${pad}/** ${lines[0]} */\n` : `${pad}/**\n${lines.map((l) => `${pad} *${l ? ` ${l}` : ''}`).join('\n')}\n${pad} */\n`
}

/**
 * Prints types as standalone TypeScript: object types are written out member by member (zod's
 * inferred types, Serialize<...>, aliases of the server's modules all become plain `{...}`), and
 * only the TypeScript library's own types (Date, Record, AsyncIterable...) are named. `docs` maps a
 * property's path as the printer names it (`messages.sendText input.phone`) to its description,
 * which the types alone do not carry.
 */
function createPrinter(program, docs = new Map()) {
  const checker = program.getTypeChecker()
  const isLibSymbol = (symbol) =>
    symbol?.declarations?.length > 0 && symbol.declarations.every((d) => program.isSourceFileDefaultLibrary(d.getSourceFile()))
  const propertyName = (name) => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name))
  const docOf = (symbol, pad, where) => jsdoc(ts.displayPartsToString(symbol.getDocumentationComment(checker)) || (docs.get(where) ?? ''), pad)

  function print(type, where, indent = '', stack = []) {
    const f = type.flags
    const F = ts.TypeFlags
    if (f & F.Any) return 'any'
    if (f & F.Unknown) return 'unknown'
    if (f & F.String) return 'string'
    if (f & F.Number) return 'number'
    if (f & F.BigInt) return 'bigint'
    if (f & F.ESSymbol) return 'symbol'
    if (f & F.Void) return 'void'
    if (f & F.Undefined) return 'undefined'
    if (f & F.Null) return 'null'
    if (f & F.Never) return 'never'
    if (f & F.NonPrimitive) return 'object'
    if (f & F.StringLiteral) return JSON.stringify(type.value)
    if (f & F.NumberLiteral) return String(type.value)
    if (f & F.BigIntLiteral) return `${type.value.negative ? '-' : ''}${type.value.base10Value}n`
    if (f & F.BooleanLiteral) return checker.typeToString(type)
    // `${string}@g.us` and the like hold no object types.
    if (f & (F.TemplateLiteral | F.StringMapping)) return checker.typeToString(type)
    if (f & F.TypeParameter) throw new UnprintableType(`${where}: a generic type (${checker.typeToString(type)}) cannot be published; export an instantiation`)
    if (stack.includes(type)) throw new UnprintableType(`${where}: a recursive type (${checker.typeToString(type)}) cannot be written out`)
    const inner = [...stack, type]
    if (f & F.Union) {
      const members = type.types
      const hasTrue = members.some((m) => m.flags & F.BooleanLiteral && checker.typeToString(m) === 'true')
      const hasFalse = members.some((m) => m.flags & F.BooleanLiteral && checker.typeToString(m) === 'false')
      const parts = []
      for (const member of members) {
        if (member.flags & F.BooleanLiteral && hasTrue && hasFalse) {
          if (!parts.includes('boolean')) parts.push('boolean')
          continue
        }
        const text = print(member, where, indent, inner)
        parts.push(member.flags & F.Intersection || isFunctionType(member) ? `(${text})` : text)
      }
      // As TypeScript writes them: `string | null | undefined`, not in its internal order.
      const last = (text) => (text === 'undefined' ? 2 : text === 'null' ? 1 : 0)
      return parts.sort((a, b) => last(a) - last(b)).join(' | ')
    }
    if (f & F.Intersection) {
      return type.types.map((m) => (m.flags & F.Union || isFunctionType(m) ? `(${print(m, where, indent, inner)})` : print(m, where, indent, inner))).join(' & ')
    }
    if (f & F.Object) return printObject(type, where, indent, inner)
    throw new UnprintableType(`${where}: cannot print ${checker.typeToString(type)} (type flags ${f})`)
  }

  function isFunctionType(type) {
    return type.flags & ts.TypeFlags.Object && type.getCallSignatures().length > 0 && type.getProperties().length === 0
  }

  function printObject(type, where, indent, stack) {
    if (checker.isArrayType(type)) {
      const [element] = checker.getTypeArguments(type)
      const text = print(element, `${where}[]`, indent, stack)
      const wrapped = element.flags & (ts.TypeFlags.Union | ts.TypeFlags.Intersection) || isFunctionType(element) ? `(${text})` : text
      return `${type.target.symbol?.name === 'ReadonlyArray' ? 'readonly ' : ''}${wrapped}[]`
    }
    if (checker.isTupleType(type)) {
      const target = type.target
      const elements = checker.getTypeArguments(type).map((element, i) => {
        const flags = target.elementFlags[i]
        const text = print(element, `${where}[${i}]`, indent, stack)
        if (flags & ts.ElementFlags.Rest) return `...${text}[]`
        return flags & ts.ElementFlags.Optional ? `${text}?` : text
      })
      return `${target.readonly ? 'readonly ' : ''}[${elements.join(', ')}]`
    }
    // The library's own types keep their names: Date, Record<string, unknown>, AsyncIterable<...>.
    if (type.aliasSymbol && isLibSymbol(type.aliasSymbol)) {
      const args = type.aliasTypeArguments ?? []
      return args.length ? `${type.aliasSymbol.name}<${args.map((a) => print(a, where, indent, stack)).join(', ')}>` : type.aliasSymbol.name
    }
    if (isLibSymbol(type.symbol) && type.symbol.name !== '__type' && type.symbol.name !== '__object') {
      const args = type.objectFlags & ts.ObjectFlags.Reference ? checker.getTypeArguments(type) : []
      return args.length ? `${type.symbol.name}<${args.map((a) => print(a, where, indent, stack)).join(', ')}>` : type.symbol.name
    }
    if (type.getCallSignatures().length || type.getConstructSignatures().length) {
      throw new UnprintableType(`${where}: a function type (${checker.typeToString(type)}) is not data`)
    }
    const pad = `${indent}  `
    const lines = []
    for (const info of checker.getIndexInfosOfType(type)) {
      const readonly = info.isReadonly ? 'readonly ' : ''
      lines.push(`${pad}${readonly}[key: ${print(info.keyType, where, pad, stack)}]: ${print(info.type, `${where}[key]`, pad, stack)};`)
    }
    for (const property of checker.getPropertiesOfType(type)) {
      const optional = property.flags & ts.SymbolFlags.Optional ? '?' : ''
      const propertyType = checker.getTypeOfSymbol(property)
      lines.push(`${docOf(property, pad, `${where}.${property.name}`)}${pad}${propertyName(property.name)}${optional}: ${print(propertyType, `${where}.${property.name}`, pad, stack)};`)
    }
    return lines.length ? `{\n${lines.join('\n')}\n${indent}}` : '{}'
  }

  return { checker, print }
}

const PROCEDURE_TYPES = { query: 'TRPCQueryProcedure', mutation: 'TRPCMutationProcedure', subscription: 'TRPCSubscriptionProcedure' }

/** The declarations for a public-types module whose `AppRouter` export is a tRPC router. */
/**
 * What the router's runtime definition knows and its types do not: each procedure's REST route and
 * summary (its OpenAPI meta) and the descriptions of its zod fields, keyed as the printer names them.
 */
export async function routerDocs(routerModule) {
  const { register } = await import('tsx/esm/api')
  const unregister = register()
  try {
    const { appRouter } = await import(pathToFileURL(routerModule).href)
    const procedures = new Map()
    const fields = new Map()
    for (const [name, procedure] of Object.entries(appRouter._def.procedures)) {
      const openapi = procedure._def.meta?.openapi
      if (openapi) {
        const summary = [openapi.summary && `${openapi.summary.replace(/\.$/, '')}.`, openapi.description].filter(Boolean).join('\n\n')
        procedures.set(name, `${summary}\n\nREST: \`${openapi.method} ${openapi.path}\``.trim())
      }
      for (const input of procedure._def.inputs ?? []) collectFieldDocs(input, `${name} input`, fields)
      if (procedure._def.output) collectFieldDocs(procedure._def.output, `${name} output`, fields)
    }
    // A named export of src/client.ts takes the descriptions of the schema registered under its name
    // (`.meta({ id: 'Status' })`, also the OpenAPI document's component). zod 4 keeps the ids in the
    // global registry's _idmap and has no public way to list them: without it, no docs, no failure.
    const { z } = await import('zod')
    for (const [id, schema] of z.globalRegistry._idmap ?? []) collectFieldDocs(schema, id, fields)
    return { procedures, fields }
  } finally {
    await unregister()
  }
}

/** The zod schema inside optional/nullable/default/readonly/pipe wrappers, with the first description met on the way. */
function unwrapZod(schema) {
  let description
  let current = schema
  for (let depth = 0; current && depth < 20; depth++) {
    description ??= current.description
    const def = current._zod?.def
    const next = def?.innerType ?? (def?.type === 'pipe' ? def.in : undefined)
    if (!next) break
    current = next
  }
  return { schema: current, description }
}

function collectFieldDocs(schema, where, fields) {
  const { schema: inner } = unwrapZod(schema)
  const def = inner?._zod?.def
  if (!def) return
  if (def.type === 'object') {
    for (const [key, field] of Object.entries(def.shape)) {
      const { description } = unwrapZod(field)
      if (description && !fields.has(`${where}.${key}`)) fields.set(`${where}.${key}`, description)
      collectFieldDocs(field, `${where}.${key}`, fields)
    }
  } else if (def.type === 'array') {
    collectFieldDocs(def.element, `${where}[]`, fields)
  } else if (def.type === 'union') {
    for (const option of def.options) collectFieldDocs(option, where, fields)
  }
}

export function renderDeclarations(entry, docs = { procedures: new Map(), fields: new Map() }) {
  const program = ts.createProgram([entry], compilerOptions())
  const source = program.getSourceFile(entry)
  const errors = ts.getPreEmitDiagnostics(program, source)
  if (errors.length) throw new Error(ts.formatDiagnostics(errors, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' }))
  const { checker, print } = createPrinter(program, docs.fields)
  const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(source))
  const typeOfExport = (symbol) => checker.getDeclaredTypeOfSymbol(symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol)
  const member = (type, name, where) => {
    const symbol = type.getProperty(name)
    if (!symbol) throw new UnprintableType(`${where}: no ${name}`)
    return checker.getTypeOfSymbol(symbol)
  }

  const routerExport = exports.find((s) => s.name === 'AppRouter')
  if (!routerExport) throw new Error(`${entry} exports no AppRouter`)
  const router = typeOfExport(routerExport)
  const rootTypes = member(member(member(router, '_def', 'AppRouter'), '_config', 'AppRouter'), '$types', 'AppRouter')
  const transformer = checker.typeToString(member(rootTypes, 'transformer', 'AppRouter'))
  // With a transformer the client would need it too; this package ships none.
  if (transformer !== 'false') throw new Error(`AppRouter has a transformer (${transformer}): the client package cannot carry it`)

  const used = new Set()
  // The procedures whose input has a `session` field, for createWsgoClient's `session` option.
  const takesSession = []
  const hasSessionField = (type) => (type.isUnion() ? type.types : [type]).some((t) => t.flags & ts.TypeFlags.Object && t.getProperty('session'))
  function printRecord(record, where, indent) {
    const pad = `${indent}  `
    const lines = []
    for (const entrySymbol of checker.getPropertiesOfType(record)) {
      const child = checker.getTypeOfSymbol(entrySymbol)
      const at = `${where}.${entrySymbol.name}`
      // Sub-routers sit in a router's record as plain records; procedures carry a _def.
      if (!child.getProperty('_def')) {
        lines.push(`${pad}${entrySymbol.name}: ${printRecord(child, at, pad)};`)
        continue
      }
      const def = member(child, '_def', at)
      const kind = checker.typeToString(member(def, 'type', at)).replace(/"/g, '')
      const procedureType = PROCEDURE_TYPES[kind]
      if (!procedureType) throw new UnprintableType(`${at}: unknown procedure type ${kind}`)
      used.add(procedureType)
      const types = member(def, '$types', at)
      const inner = `${pad}  `
      const name = at.slice('AppRouter.'.length)
      const input = print(member(types, 'input', at), `${name} input`, inner)
      if (hasSessionField(member(types, 'input', at))) takesSession.push(name)
      const output = print(member(types, 'output', at), `${name} output`, inner)
      lines.push(`${jsdoc(docs.procedures.get(name) ?? '', pad)}${pad}${entrySymbol.name}: ${procedureType}<{\n${inner}input: ${input};\n${inner}output: ${output};\n${inner}meta: object;\n${pad}}>;`)
    }
    return `{\n${lines.join('\n')}\n${indent}}`
  }
  const record = printRecord(member(member(router, '_def', 'AppRouter'), 'record', 'AppRouter'), 'AppRouter', '')
  const errorShape = print(member(rootTypes, 'errorShape', 'AppRouter'), 'AppRouter error shape')

  const named = []
  for (const symbol of exports) {
    if (symbol.name === 'AppRouter') continue
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol
    if (!(target.flags & (ts.SymbolFlags.TypeAlias | ts.SymbolFlags.Interface))) throw new Error(`${entry}: ${symbol.name} is not a type; the client package carries types only`)
    const doc = ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim() || ts.displayPartsToString(target.getDocumentationComment(checker)).trim()
    named.push(`${doc ? `/** ${doc} */\n` : ''}export type ${symbol.name} = ${print(typeOfExport(symbol), symbol.name)};`)
  }

  const imports = ['TRPCBuiltRouter', ...[...used].sort()]
  const declarations = `// Generated by scripts/build-client.mjs from ${path.relative(root, entry)} (npm run build:client): do not edit.
// Every type is written out here, so this package needs no part of the server: only @trpc/server's types.
import type { ${imports.join(', ')} } from '@trpc/server';

/** The error shape of the service's tRPC errors: \`data.errorCode\` and \`data.issues\` are those of the REST body. */
export type ErrorShape = ${errorShape};

/** The service's tRPC router, for \`createTRPCClient<AppRouter>\`. */
export type AppRouter = TRPCBuiltRouter<{
  ctx: object;
  meta: object;
  errorShape: ErrorShape;
  transformer: false;
}, ${record}>;

${named.join('\n\n')}
`
  return { declarations, takesSession }
}

/** client/procedures.mjs: what index.mjs needs to know of the router at run time. */
export function renderProcedures(takesSession) {
  return `// Generated by scripts/build-client.mjs (npm run build:client): do not edit.
// The procedures that take a \`session\` in their input: createWsgoClient's \`session\` option fills it in.
export const takesSession = new Set(${JSON.stringify(takesSession, null, 2).replace(/"/g, "'")})
`
}

/** client/package.json: the server's version, tRPC's major as a peer, no dependencies. */
export function renderPackageJson() {
  const server = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'))
  const trpc = JSON.parse(readFileSync(path.join(root, 'node_modules/@trpc/client/package.json'), 'utf8')).version
  const peer = `^${trpc.split('.')[0]}.${trpc.split('.')[1]}.0`
  const pkg = {
    name: PACKAGE_NAME,
    version: server.version,
    description: `Typed client for the wsgo-ts WhatsApp HTTP API (${server.name} ${server.version}): its tRPC router types and createWsgoClient`,
    license: server.license,
    type: 'module',
    sideEffects: false,
    exports: {
      '.': { types: './index.d.ts', default: './index.mjs' },
      './package.json': './package.json',
    },
    types: './index.d.ts',
    files: ['index.mjs', 'index.d.ts', 'router.d.ts', 'procedures.mjs', 'README.md'],
    peerDependencies: { '@trpc/client': peer, '@trpc/server': peer },
  }
  return `${JSON.stringify(pkg, null, 2)}\n`
}

async function main() {
  const { values } = parseArgs({ options: { check: { type: 'boolean' }, entry: { type: 'string' }, out: { type: 'string' } } })
  const entry = path.resolve(values.entry ?? path.join(root, 'src/client.ts'))
  const out = path.resolve(values.out ?? path.join(root, 'client'))
  // The service's own router is also loaded, for its routes and field descriptions.
  const docs = values.entry ? undefined : await routerDocs(path.join(root, 'src/routers/index.ts'))
  const { declarations, takesSession } = renderDeclarations(entry, docs)
  const files = { 'router.d.ts': declarations, 'procedures.mjs': renderProcedures(takesSession) }
  if (!values.entry) files['package.json'] = renderPackageJson()
  let stale = 0
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(out, name)
    let current
    try {
      current = readFileSync(file, 'utf8')
    } catch {
      current = undefined
    }
    if (current === text) continue
    if (values.check) {
      console.error(`${path.relative(root, file)} is out of date: run npm run build:client`)
      stale++
    } else {
      mkdirSync(out, { recursive: true })
      writeFileSync(file, text)
      console.log(`wrote ${path.relative(process.cwd(), file)}`)
    }
  }
  if (stale) process.exitCode = 1
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await main()
  } catch (error) {
    console.error(error instanceof UnprintableType ? `build:client: ${error.message}` : error)
    process.exitCode = 1
  }
}

// `npm run bench [-- <section> ...]`: runs the benchmark sections (all by default), prints their
// tables and writes them into bench/RESULTS.md between the section's markers, leaving the written
// analysis around them alone. Sections: http, ingest, webhooks, memory, startup, sessions, storm, store, stream.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { runHttp } from './http.js'
import { runIngest } from './ingest.js'
import { runMemory } from './memory.js'
import { markdownTable, textTable, type Check, type SectionResult } from './report.js'
import { runSessions } from './sessions.js'
import { settings } from './settings.js'
import { runStartup } from './startup.js'
import { runStorm } from './storm.js'
import { runWebhooks } from './webhooks.js'

const sections: Record<string, { title: string; run: (log: (line: string) => void) => Promise<SectionResult> }> = {
  http: { title: 'HTTP: REST and tRPC against bare floors', run: runHttp },
  ingest: { title: 'Event ingestion: incoming messages through the whole path', run: runIngest },
  webhooks: { title: 'Webhook delivery: rate and incoming-message-to-receiver latency', run: runWebhooks },
  memory: { title: 'Memory: RSS of the service process', run: runMemory },
  startup: { title: 'Start-up: process start to /health answering', run: runStartup },
  sessions: { title: 'Sessions: many paired sessions in one process, failover between processes', run: runSessions },
  storm: { title: 'Storm budget: the API and the webhook during a burst of incoming messages and a storm of undecryptable ones', run: runStorm },
  store: { title: 'Message store: chat and message lists among 1,000,000 stored messages', run: async (log) => (await import('./store.js')).runStore(log) },
  stream: { title: 'Live events: incoming message to a connected SSE client, next to the webhook', run: async (log) => (await import('./events-stream.js')).runEventStream(log) },
}

const asked = process.argv.slice(2).filter((a) => a !== '--')
const unknown = asked.filter((name) => !(name in sections))
if (unknown.length > 0) {
  console.error(`unknown section(s): ${unknown.join(', ')}; choose from ${Object.keys(sections).join(', ')}`)
  process.exit(2)
}
const chosen = asked.length > 0 ? asked : Object.keys(sections)

const resultsFile = path.join(path.dirname(fileURLToPath(import.meta.url)), 'RESULTS.md')
const machine = () =>
  `${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}, ${os.platform()} ${os.release()}, load average at the end ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ')}`

function writeSection(name: string, markdown: string): void {
  const begin = `<!-- bench:${name} -->`
  const end = `<!-- /bench:${name} -->`
  const block = `${begin}\n${markdown}\n${end}`
  let text = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '# Benchmark results\n'
  const from = text.indexOf(begin)
  const to = text.indexOf(end)
  if (from >= 0 && to > from) text = text.slice(0, from) + block + text.slice(to + end.length)
  else text = `${text.trimEnd()}\n\n${block}\n`
  writeFileSync(resultsFile, text)
}

const started = Date.now()
const allChecks: Check[] = []
let failed = false
console.log(`# wsgo-ts bench, ${new Date().toISOString()}; ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' / ')}`)
console.log(`# the load generator shares the machine with what it measures: read the ratios, not the absolute figures`)
console.log(`# runs=${settings.runs} seconds=${settings.seconds} connections=${settings.connections} messages=${settings.messages}\n`)
for (const name of chosen) {
  const section = sections[name]!
  const t0 = Date.now()
  console.log(`# ${name}: ${section.title}`)
  try {
    const result = await section.run((line) => console.log(`  . ${line}`))
    const seconds = ((Date.now() - t0) / 1000).toFixed(0)
    for (const table of result.tables) console.log(`\n${textTable(table)}`)
    for (const note of result.notes) console.log(`  ${note}`)
    for (const check of result.checks) console.log(`  target ${check.ok ? 'met   ' : 'MISSED'}: ${check.what}: ${check.value} (target ${check.target})`)
    console.log(`  (${seconds} s)\n`)
    allChecks.push(...result.checks)
    const markdown = [
      `### ${section.title}`,
      '',
      `Measured ${new Date().toISOString()} on ${machine()}; \`npm run bench -- ${name}\` took ${seconds} s.`,
      '',
      ...result.tables.flatMap((table) => [markdownTable(table), '']),
      ...result.notes.map((note) => `${note}  `),
      ...(result.checks.length > 0
        ? ['', '| target | measured | wanted | |', '|---|---:|---:|---|', ...result.checks.map((c) => `| ${c.what} | ${c.value} | ${c.target} | ${c.ok ? 'met' : '**missed**'} |`)]
        : []),
    ].join('\n')
    writeSection(name, markdown.trimEnd())
  } catch (error) {
    failed = true
    console.error(`  section ${name} failed:`, error)
  }
}
console.log(`# done in ${((Date.now() - started) / 1000).toFixed(0)} s; targets: ${allChecks.filter((c) => c.ok).length} met, ${allChecks.filter((c) => !c.ok).length} missed`)
for (const check of allChecks.filter((c) => !c.ok)) console.log(`#   missed: ${check.what}: ${check.value} (target ${check.target})`)
// Baileys and the stand-in may leave unref'd timers and sockets behind; everything this bench
// started has been stopped above, so end here rather than wait for stragglers.
process.exit(failed ? 1 : 0)

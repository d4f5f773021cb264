// Start-up: from spawning the service as `npm start` runs it (the dist/ bundle on plain node, with
// package.json's flags) to /health answering 200, several runs, beside the same from the sources
// under tsx (`npm run dev`) and the bare floor server started both ways.
import { rmSync } from 'node:fs'
import path from 'node:path'
import { tempDir } from '../tests/support/service.js'
import { bareCommand, serviceCommand, startChild, startCommand } from './processes.js'
import { fmtRatio, fmtSeries, series, type SectionResult } from './report.js'
import { settings } from './settings.js'

async function timeStart(args: string[], env: Record<string, string> = {}): Promise<number> {
  const child = await startChild(args, env)
  await child.stop()
  return child.readyMs
}

export async function runStartup(log: (line: string) => void): Promise<SectionResult> {
  const runs = Math.max(5, settings.runs)
  const dir = tempDir('wsgo-bench-')
  try {
    log('building dist/ (npm run build)')
    const start = await startCommand()
    const database = { DATABASE_URL: `file:${path.join(dir, 'wsgo.db')}` }
    const built = { ...start.env, ...database }
    log('first start on an empty SQLite file (migrations applied)')
    const first = await timeStart(start.args, built)
    const samples = { node: [] as number[], tsx: [] as number[], service: [] as number[], dev: [] as number[] }
    await timeStart(bareCommand(false)) // warm the file cache
    for (let run = 1; run <= runs; run++) {
      log(`run ${run}/${runs}`)
      samples.node.push(await timeStart(bareCommand(false)))
      samples.tsx.push(await timeStart(bareCommand(true)))
      samples.service.push(await timeStart(start.args, built))
      samples.dev.push(await timeStart(serviceCommand(), database))
    }
    const ms = (values: number[]) => fmtSeries(series(values), 'ms')
    const ratio = (values: number[], floor: number[]) => fmtRatio(series(values.map((v, i) => v / floor[i]!)))
    const service = series(samples.service)
    return {
      tables: [
        {
          title: 'Process start to the first 200 on /health (child process, SQLite, WhatsApp unreachable)',
          columns: ['what', 'time', 'vs bare node', 'vs bare node + tsx'],
          rows: [
            ['bare Node http server: `node bench/bare-server.mjs` (floor)', ms(samples.node), '1.00', ''],
            ['the same under tsx: `node --import tsx bench/bare-server.mjs` (floor)', ms(samples.tsx), ratio(samples.tsx, samples.node), '1.00'],
            ['service as `npm start` runs it (dist/server.mjs), existing database', ms(samples.service), ratio(samples.service, samples.node), ''],
            ['service from the sources: `npm run dev` (`node --import tsx src/server.ts`), existing database', ms(samples.dev), ratio(samples.dev, samples.node), ratio(samples.dev, samples.tsx)],
            ['service as `npm start` runs it, first start on an empty database (migrations), 1 run', `${first.toFixed(0)} ms`, '', ''],
          ],
          notes: [
            `${runs} runs each, interleaved; median (min-max). Polled every 5 ms with a fresh connection.`,
            `\`npm start\` is \`${start.text}\`, after \`npm run build\` (its prestart); the bench runs that command without npm and its shell.`,
            'HTTP listens before the WhatsApp side (Baileys) is loaded: /health answers while it still loads.',
          ],
        },
      ],
      checks: [{ what: 'start-up to /health (`npm start`, existing database)', value: `${service.median.toFixed(0)} ms`, target: '< 2000 ms', ok: service.median < 2000 }],
      notes: [],
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

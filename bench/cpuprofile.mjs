// Reads a V8 CPU profile (node --cpu-prof, or the inspector's Profiler.stop) without DevTools:
//   node bench/cpuprofile.mjs <file.cpuprofile>                self time by package and by function
//   node bench/cpuprofile.mjs <file.cpuprofile> <regex> [n]    inclusive time of matching functions,
//                                                              by their n nearest callers
//   node bench/cpuprofile.mjs <file.cpuprofile> --stalls [ms]  the longest stretches without an idle
//                                                              sample (event loop held), each with
//                                                              what ran in it (self time, and the
//                                                              outermost frames below the loop)
//   node bench/cpuprofile.mjs <file.cpuprofile> --gaps <json>  what ran in each event-loop gap a bench
//                                                              measured (bench/storm-loop.mjs)
// PROFILE_WINDOW=<json file of [start, end]> limits any of these to the samples in that window (µs of
// the monotonic clock: bench/storm.ts writes window-<storm>.json, the storm's own time).
import { readFileSync } from 'node:fs'

const [file, pattern, depthArg] = process.argv.slice(2)
if (!file) {
  console.error('usage: node bench/cpuprofile.mjs <file.cpuprofile> [function-regex [caller-depth]]')
  process.exit(2)
}
const profile = JSON.parse(readFileSync(file, 'utf8'))
const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map()
for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id)
// Each sample's time (µs of the monotonic clock).
let clock = profile.startTime
let times = profile.timeDeltas.map((d) => (clock += d))
if (process.env.PROFILE_WINDOW) {
  // Only the window's samples are kept: every mode below reads samples, timeDeltas and times.
  const [from, to] = JSON.parse(readFileSync(process.env.PROFILE_WINDOW, 'utf8'))
  const keep = times.map((at) => at >= from && at < to)
  profile.samples = profile.samples.filter((_, i) => keep[i])
  profile.timeDeltas = profile.timeDeltas.filter((_, i) => keep[i])
  times = times.filter((_, i) => keep[i])
}
const self = new Map()
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
const short = (url) => url.replace(/^file:\/\/\/.*?node_modules\//, '').replace(/^file:\/\/\/.*?\/(src|tests|bench)\//, '$1/')
const name = (n) => `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber}`
const ms = (us) => `${(us / 1000).toFixed(0).padStart(7)} ms`
let total = 0
// The outermost frame under the root that is not Node's own plumbing: what the loop was running.
const entryOf = (id) => {
  const chain = []
  for (let p = id; p !== undefined; p = parent.get(p)) chain.push(p)
  chain.reverse()
  const own = chain.find((c) => { const u = nodes.get(c).callFrame.url; return u && !u.startsWith('node:') })
  return own === undefined ? name(nodes.get(id)) : name(nodes.get(own))
}
for (const us of self.values()) total += us

if (pattern === '--gaps') {
  // The event-loop gaps a bench measured ([start, end] µs of the monotonic clock, as this profile's
  // times are; bench/storm-loop.mjs), longest first, each with what ran in it.
  const gaps = JSON.parse(readFileSync(depthArg, 'utf8')).sort((a, b) => b[1] - b[0] - (a[1] - a[0]))
  const within = (start, end) => profile.samples.map((id, i) => [id, i]).filter(([, i]) => times[i] >= start && times[i] < end)
  console.log(`${gaps.length} gaps; profile ${(profile.startTime / 1e6).toFixed(1)}-${(profile.endTime / 1e6).toFixed(1)} s`)
  for (const [start, end] of gaps.slice(0, 8)) {
    const by = new Map()
    const entries = new Map()
    for (const [id, i] of within(start, end)) {
      const d = profile.timeDeltas[i + 1] ?? 0
      by.set(name(nodes.get(id)), (by.get(name(nodes.get(id))) ?? 0) + d)
      const e = entryOf(id)
      entries.set(e, (entries.get(e) ?? 0) + d)
    }
    const top = (map) => [...map].sort((x, y) => y[1] - x[1]).slice(0, 10).map(([k, us]) => `  ${ms(us)}  ${k}`).join('\n')
    console.log(`\n-- gap of ${ms(end - start).trim()} at ${((start - profile.startTime) / 1e6).toFixed(2)} s\n self:\n${top(by)}\n entered at:\n${top(entries)}`)
  }
} else if (pattern === '--stalls') {
  // A sample of (idle) means the loop waited for I/O or timers; anything else between two of them is
  // one stretch the loop could not answer a request. (program)/(garbage collector) count as busy.
  const threshold = Number(depthArg ?? 100) * 1000
  const isIdle = (id) => nodes.get(id).callFrame.functionName === '(idle)'
  const stretches = []
  let start = -1
  profile.samples.forEach((id, i) => {
    if (isIdle(id)) {
      if (start >= 0 && times[i] - times[start] >= threshold) stretches.push([start, i])
      start = -1
    } else if (start < 0) start = i
  })
  const busy = stretches.reduce((sum, [a, b]) => sum + times[b] - times[a], 0)
  console.log(`${stretches.length} stretches of ${threshold / 1000} ms or more without an idle sample, ${ms(busy).trim()} in all`)
  for (const [a, b] of stretches.sort((x, y) => times[y[1]] - times[y[0]] - (times[x[1]] - times[x[0]])).slice(0, 6)) {
    const by = new Map()
    const entries = new Map()
    for (let i = a; i < b; i++) {
      const d = profile.timeDeltas[i + 1] ?? 0
      by.set(name(nodes.get(profile.samples[i])), (by.get(name(nodes.get(profile.samples[i]))) ?? 0) + d)
      const e = entryOf(profile.samples[i])
      entries.set(e, (entries.get(e) ?? 0) + d)
    }
    const top = (map) => [...map].sort((x, y) => y[1] - x[1]).slice(0, 8).map(([k, us]) => `  ${ms(us)}  ${k}`).join('\n')
    console.log(`\n-- ${ms(times[b] - times[a]).trim()} from ${((times[a] - profile.startTime) / 1e6).toFixed(2)} s\n self:\n${top(by)}\n entered at:\n${top(entries)}`)
  }
} else if (!pattern) {
  const byPackage = new Map()
  const byFunction = new Map()
  for (const [id, us] of self) {
    const n = nodes.get(id)
    const url = n.callFrame.url
    const inModules = url.includes('node_modules/') ? url.split('node_modules/').pop() : undefined
    const pkg = inModules
      ? inModules.split('/').slice(0, inModules.startsWith('@') ? 2 : 1).join('/')
      : url.startsWith('node:')
        ? `node:${url.slice(5).split('/')[0]}`
        : url === ''
          ? `(${n.callFrame.functionName || 'native'})`
          : short(url).split('/').slice(0, 2).join('/')
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us)
    byFunction.set(name(n), (byFunction.get(name(n)) ?? 0) + us)
  }
  const top = (map, count) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([key, us]) => `${ms(us)} ${((100 * us) / total).toFixed(1).padStart(5)} %  ${key}`)
      .join('\n')
  console.log(`sampled ${ms(total).trim()}\n-- self time by package\n${top(byPackage, 25)}\n-- self time by function\n${top(byFunction, 40)}`)
} else {
  const depth = Number(depthArg ?? 6)
  const re = new RegExp(pattern)
  const inclusive = new Map()
  const incl = (id) => {
    if (inclusive.has(id)) return inclusive.get(id)
    let us = self.get(id) ?? 0
    for (const child of nodes.get(id).children ?? []) us += incl(child)
    inclusive.set(id, us)
    return us
  }
  const stacks = new Map()
  let sum = 0
  for (const n of profile.nodes) {
    if (!re.test(name(n))) continue
    let up = parent.get(n.id)
    let nested = false
    for (let p = up; p !== undefined; p = parent.get(p)) if (re.test(name(nodes.get(p)))) nested = true
    if (nested) continue // counted with the matching caller
    const chain = []
    for (let i = 0; i < depth && up !== undefined; i++, up = parent.get(up)) chain.push(name(nodes.get(up)))
    const key = chain.join('\n      <- ')
    stacks.set(key, (stacks.get(key) ?? 0) + incl(n.id))
    sum += incl(n.id)
  }
  console.log(`${ms(sum).trim()} inclusive (${((100 * sum) / total).toFixed(1)} % of ${ms(total).trim()} sampled) in /${pattern}/`)
  for (const [chain, us] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`${ms(us)}\n      <- ${chain}`)
}

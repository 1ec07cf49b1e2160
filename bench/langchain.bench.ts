// Governed vs bare LangChain `tool.invoke`, in the same run (memory backend).
// Targets: governed / bare ≤ 1.10 (issue #4), ≤ 1.25 on a no-op tool (issue #18). The ratio
// depends on what the tool itself costs: shown for a no-op tool and for one doing 100 µs of work.
// Two figures per row: the p50 ratio is the caller's wait (the gate; the settle and the seals of
// the two audit entries are written after the call returns), the mean ratio is all the work,
// since this loop never yields and every deferred seal lands inside some measured call.
import { createHaldir } from '@haldir/core'
import { withHaldir } from '@haldir/langchain'
import { tool } from '@langchain/core/tools'
import { z } from 'zod'
import { measure, median, report } from './measure.ts'

const calls = Number(process.env.BENCH_CALLS ?? 20_000)
const haldir = createHaldir()
const session = await haldir.createSession({ agentId: 'bench', scopes: ['search'], spendLimit: null, ttl: 24 * 3600 })
const search = tool(async ({ query }) => `hits for ${query}`, { name: 'search', description: 'Search', schema: z.object({ query: z.string() }) })
const governed = withHaldir(search, { haldir, sessionId: session.id, cost: 0.001 })
// A tool that does some work of its own (100 µs of CPU, like parsing a page) — most real tools do more.
const busy = (microseconds: number) => {
  const until = performance.now() + microseconds / 1000
  while (performance.now() < until) {}
}
const parse = tool(
  async ({ query }) => {
    busy(100)
    return `parsed ${query}`
  },
  { name: 'parse', description: 'Parse', schema: z.object({ query: z.string() }) },
)
const governedParse = withHaldir(parse, { haldir, sessionId: session.id, scope: 'search', cost: 0.001 })
const toolCall = (id: number) => ({ id: `call_${id}`, name: 'search', args: { query: 'haldir' }, type: 'tool_call' as const })

let id = 0
// Interleaved rounds so drift (GC, JIT, heap growth) hits both sides alike.
const rounds = 5
const results = { bareArgs: [] as number[], governedArgs: [] as number[], bareCall: [] as number[], governedCall: [] as number[], bareWork: [] as number[], governedWork: [] as number[] }
const p50s: typeof results = { bareArgs: [], governedArgs: [], bareCall: [], governedCall: [], bareWork: [], governedWork: [] }
let last: Record<string, Awaited<ReturnType<typeof measure>>> = {}
for (let round = 0; round < rounds; round++) {
  last = {
    bareArgs: await measure('bare tool.invoke(args)', () => search.invoke({ query: 'haldir' }), { calls: calls / rounds }),
    governedArgs: await measure('governed tool.invoke(args)', () => governed.invoke({ query: 'haldir' }), { calls: calls / rounds }),
    bareCall: await measure('bare tool.invoke(toolCall)', () => search.invoke(toolCall(id++)), { calls: calls / rounds }),
    governedCall: await measure('governed tool.invoke(toolCall)', () => governed.invoke(toolCall(id++)), { calls: calls / rounds }),
    bareWork: await measure('bare tool.invoke, 100 µs tool', () => parse.invoke({ query: 'haldir' }), { calls: calls / rounds / 5 }),
    governedWork: await measure('governed tool.invoke, 100 µs tool', () => governedParse.invoke({ query: 'haldir' }), { calls: calls / rounds / 5 }),
  }
  for (const key of Object.keys(results) as (keyof typeof results)[]) {
    results[key].push(last[key]?.meanUs ?? 0)
    p50s[key].push(last[key]?.p50Us ?? 0)
  }
}
report('LangChain tool.invoke, last round', last.bareArgs!, [last.governedArgs!, last.bareCall!, last.governedCall!, last.bareWork!, last.governedWork!])
// Each round's figure per row, as the median of the rounds: the mean (all the work) and the p50 (the caller's wait).
const summary = (title: string, figures: typeof results) => {
  console.log(`\nmedian of ${rounds} rounds, ${title}:`)
  for (const [label, bare, governed] of [
    ['invoke(args):    ', figures.bareArgs, figures.governedArgs],
    ['invoke(toolCall):', figures.bareCall, figures.governedCall],
    ['100 µs tool:     ', figures.bareWork, figures.governedWork],
  ] as const) {
    console.log(`  ${label} bare ${median(bare).toFixed(2)}, governed ${median(governed).toFixed(2)}, ratio ${(median(governed) / median(bare)).toFixed(3)}`)
  }
}
summary('mean µs per call', results)
summary("p50 µs per call (the caller's wait)", p50s)

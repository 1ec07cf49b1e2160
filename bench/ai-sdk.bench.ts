// Governed vs bare AI SDK tool `execute`, in the same run (memory backend), and the metered
// model call vs a bare one.
import { meterModel, withHaldir } from '@haldir/ai-sdk'
import { createHaldir } from '@haldir/core'
import { generateText, tool } from 'ai'
import { MockLanguageModelV4 } from 'ai/test'
import { z } from 'zod'
import { measure, report } from './measure.ts'

const calls = Number(process.env.BENCH_CALLS ?? 50_000)
const haldir = createHaldir()
const session = await haldir.createSession({ agentId: 'bench', scopes: ['*'], spendLimit: null, ttl: 24 * 3600 })
const search = tool({ description: 'Search', inputSchema: z.object({ query: z.string() }), execute: async ({ query }) => ({ query, hits: 3 }) })
const governed = withHaldir({ search }, { haldir, sessionId: session.id, cost: 0.001 }).search
const options = { toolCallId: 'call_1', messages: [], context: {} }
const bare = await measure('bare execute', () => search.execute?.({ query: 'haldir' }, options), { calls })
const gated = await measure('governed execute', () => governed.execute?.({ query: 'haldir' }, options), { calls })
report('AI SDK tool execute', bare, [gated])

const usage = { inputTokens: { total: 100, noCache: 100, cacheRead: undefined, cacheWrite: undefined }, outputTokens: { total: 20, text: 20, reasoning: undefined } }
const mock = new MockLanguageModelV4({ doGenerate: async () => ({ content: [{ type: 'text', text: 'ok' }], finishReason: { unified: 'stop', raw: undefined }, usage, warnings: [] }) })
const metered = meterModel(mock, { haldir, sessionId: session.id, price: { inputPerMTok: 3, outputPerMTok: 15 }, maxCost: 0.01 })
const modelCalls = Math.max(1000, calls / 10)
const bareModel = await measure('generateText, bare mock model', () => generateText({ model: mock, prompt: 'q' }), { calls: modelCalls })
const meteredModel = await measure('generateText, metered mock model', () => generateText({ model: metered, prompt: 'q' }), { calls: modelCalls })
report('AI SDK generateText', bareModel, [meteredModel])

// An agent of a crew wants to buy a $20 standing desk. The crew's rule sends purchases over $10
// to a person: the $20 is held from that moment (nobody else can spend it), the agent waits, and
// a person approves it from the command line (`haldir approvals approve`). The crew then goes
// on, the purchase runs once, on the money held for it.
//
// Run: pnpm build && pnpm --filter approvals start
import { execFile } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createHaldir, httpBackend } from '@haldir/core'
import { Agent, Crew, Task } from '@haldir/crew'
import { scriptedModel } from '@haldir/crew/testing'
import { apiKeyStore, createApiKey, serveHaldir } from '@haldir/server'
import { tool } from 'ai'
import { z } from 'zod'

// A Haldir server with two keys: the crew's (role agent: it cannot approve its own calls) and
// the person's (role approver).
const agentKey = createApiKey()
const approverKey = createApiKey()
const server = await serveHaldir({
  backend: (await import('@haldir/core')).memoryBackend(),
  apiKeys: apiKeyStore([
    { tenant: 'acme', role: 'agent', key: agentKey },
    { tenant: 'acme', role: 'approver', key: approverKey },
  ]),
  port: 0,
})
const haldir = createHaldir({ backend: httpBackend({ url: server.url, apiKey: agentKey }) })

const purchase = tool({
  description: 'Order an item for the office',
  inputSchema: z.object({ item: z.string() }),
  execute: async ({ item }) => `order #4711 placed: ${item}`,
})
const buyer = Agent({ role: 'buyer', goal: 'Equip the office', tools: { purchase }, scopes: ['purchase'], toolCosts: { purchase: 20 } })
const model = scriptedModel({ buyer: [{ toolCalls: [{ tool: 'purchase', input: { item: 'standing desk' } }] }, { text: 'Ordered the standing desk (order #4711).' }] })
const crew = Crew({
  agents: [buyer],
  tasks: [Task({ description: 'Buy a standing desk', expectedOutput: 'An order number', agent: buyer })],
  model,
  budget: 25,
  haldir,
  approvals: { rules: [{ kind: 'spend_over', thresholdUsd: 10, reason: 'purchases over $10 need a person' }] },
})

console.log('Crew: kickoff (budget $25; purchases over $10 need a person)')
const running = crew.kickoff()

// The person: sees the request in the queue, and approves it from the command line.
const person = createHaldir({ backend: httpBackend({ url: server.url, apiKey: approverKey }) })
let pending = (await person.listApprovals({ status: 'pending' }))[0]
while (!pending) {
  await new Promise((resolve) => setTimeout(resolve, 20))
  pending = (await person.listApprovals({ status: 'pending' }))[0]
}
const crewSpend = await person.getSpend((await person.getSession(pending.sessionId)).parentId as string)
console.log(`Agent ${pending.agentId} waits: ${pending.tool} $${pending.amountUsd.toFixed(2)} (${pending.reason}), approval ${pending.id}`)
console.log(`  held for it: $${crewSpend.reservedUsd.toFixed(2)}; left for everyone else: $${(crewSpend.remainingUsd ?? 0).toFixed(2)}`)

const serverDir = dirname(fileURLToPath(import.meta.resolve('@haldir/server')))
const fromSource = process.execArgv.some((flag) => flag.includes('@haldir/source'))
const cli = join(serverDir, fromSource ? 'cli.ts' : 'cli.js')
const args = ['approvals', 'approve', pending.id, '--by', 'facilities@acme.example', '--note', 'within the office budget', '--url', server.url]
console.log(`$ haldir ${args.slice(0, 3).join(' ')} --by facilities@acme.example --note "within the office budget"`)
// Another process, like a person at a terminal (asynchronously: this process serves the API it calls).
const approved = await new Promise<string>((resolve) =>
  execFile(process.execPath, [...process.execArgv, cli, ...args], { env: { ...process.env, HALDIR_API_KEY: approverKey } }, (_error, stdout, stderr) => resolve(stdout + stderr)),
)
process.stdout.write(approved)

const result = await running
console.log(`Crew: ${result.tasksOutput[0]?.status}: ${result.raw}`)
console.log(`Crew spend: $${result.spend.totalUsd.toFixed(2)} of $25.00, $${result.spend.reservedUsd.toFixed(2)} still held`)
result.report()
await server.close()

import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createHaldir, httpBackend, memoryBackend } from '@haldir/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiKeyStore, createApiKey } from '../api-keys.ts'
import { type RunningHaldirServer, serveHaldir } from '../serve-haldir.ts'

const cli = fileURLToPath(new URL('../cli.ts', import.meta.url))
const keys = { agent: createApiKey(), approver: createApiKey() }
let running: RunningHaldirServer

beforeAll(async () => {
  running = await serveHaldir({
    backend: memoryBackend(),
    apiKeys: apiKeyStore([
      { tenant: 'acme', role: 'agent', key: keys.agent },
      { tenant: 'acme', role: 'approver', key: keys.approver },
    ]),
    port: 0,
  })
})
afterAll(() => running.close())

function haldirCli(args: string[], key: string, env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--conditions=@haldir/source', cli, ...args, '--url', running.url], { env: { ...process.env, HALDIR_API_KEY: key, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })))
}

async function waiting(item: string, amount: number) {
  const agent = createHaldir({ backend: httpBackend({ url: running.url, apiKey: keys.agent }) })
  const session = await agent.createSession({ agentId: 'buyer', scopes: ['*'], spendLimit: 100, approvalRules: [{ kind: 'spend_over', thresholdUsd: 10 }] })
  const decision = await agent.gate({ sessionId: session.id, tool: 'purchase', maxCostUsd: amount, details: { item } })
  if (decision.allowed || decision.pending !== true) throw new Error('expected pending')
  return { agent, session, approval: decision.approval }
}

describe('haldir approvals (CLI)', () => {
  it('lists the pending queue, approves one and denies another; the money follows', async () => {
    const first = await waiting('desk', 20)
    const second = await waiting('yacht', 90)
    const list = await haldirCli(['approvals', 'list'], keys.approver)
    expect(list.code).toBe(0)
    expect(list.output).toMatch(new RegExp(`^${first.approval.id} \\| pending  \\| buyer \\| purchase \\| \\$20\\.00 \\| Spend \\$20\\.00 exceeds \\$10\\.00 threshold \\| expires in \\d+s \\(then denied\\)$`, 'm'))
    expect(list.output).toContain(second.approval.id)
    expect(list.output).toMatch(/^2 pending approvals$/m)

    const approve = await haldirCli(['approvals', 'approve', first.approval.id, '--by', 'alice@acme.example', '--note', 'ok'], keys.approver)
    expect(approve.code).toBe(0)
    expect(approve.output).toContain('| approved | buyer | purchase | $20.00 |')
    expect(approve.output).toContain('approved by alice@acme.example: ok')
    const deny = await haldirCli(['approvals', 'deny', second.approval.id, '--note', 'no yachts'], keys.approver, { HALDIR_APPROVER: 'bob@acme.example' })
    expect(deny.code).toBe(0)
    expect(deny.output).toContain('denied by bob@acme.example: no yachts')
    expect(await first.agent.getSpend(first.session.id)).toMatchObject({ reservedUsd: 20 })
    expect(await second.agent.getSpend(second.session.id)).toMatchObject({ reservedUsd: 0 })

    const again = await haldirCli(['approvals', 'approve', second.approval.id, '--by', 'carol'], keys.approver)
    expect(again.code).toBe(1)
    expect(again.output).toMatch(/^haldir: Approval apr_\S+ is already denied by bob@acme\.example; a decision is final$/m)
    expect((await haldirCli(['approvals', 'list', '--status', 'all', '--json'], keys.approver)).output).toContain('"status": "denied"')
  })

  it('refuses an agent key and a decision without a name', async () => {
    const { approval } = await waiting('chair', 15)
    const agent = await haldirCli(['approvals', 'approve', approval.id, '--by', 'buyer-owner'], keys.agent)
    expect(agent.code).toBe(1)
    expect(agent.output).toMatch(/^haldir: An API key with role 'agent' may not decideApproval \(allowed: admin, approver\)$/m)
    const nameless = await haldirCli(['approvals', 'deny', approval.id], keys.approver, { HALDIR_APPROVER: '' })
    expect(nameless.code).toBe(1)
    expect(nameless.output).toContain('needs --by NAME')
    const typo = await haldirCli(['approvals', 'list', '--status', 'pendng'], keys.approver)
    expect(typo.code).toBe(1)
    expect(typo.output).toMatch(/pendng.*(pending|choices)/s)
  })
})

import { createHaldir, ForbiddenError, type HaldirEvent, httpBackend, memoryBackend, NotFoundError } from '@haldir/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiKeyStore, createApiKey } from './api-keys.ts'
import { type RunningHaldirServer, serveHaldir } from './serve-haldir.ts'

const keys = { agentA: createApiKey(), approverA: createApiKey(), auditorA: createApiKey(), adminA: createApiKey(), approverB: createApiKey() }
let running: RunningHaldirServer

beforeAll(async () => {
  running = await serveHaldir({
    backend: memoryBackend(),
    apiKeys: apiKeyStore([
      { tenant: 'acme', role: 'agent', key: keys.agentA },
      { tenant: 'acme', role: 'approver', key: keys.approverA },
      { tenant: 'acme', role: 'auditor', key: keys.auditorA },
      { tenant: 'acme', role: 'admin', key: keys.adminA },
      { tenant: 'globex', role: 'approver', key: keys.approverB },
    ]),
    port: 0,
  })
})
afterAll(() => running.close())

const as = (key: string) => createHaldir({ backend: httpBackend({ url: running.url, apiKey: key }) })
const errorOf = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error)

async function pendingPurchase() {
  const agent = as(keys.agentA)
  const session = await agent.createSession({ agentId: 'purchaser', scopes: ['*'], spendLimit: 50, approvalRules: [{ kind: 'spend_over', thresholdUsd: 10 }] })
  const decision = await agent.gate({ sessionId: session.id, tool: 'purchase', maxCostUsd: 20 })
  if (decision.allowed || decision.pending !== true) throw new Error('expected a pending purchase')
  return { agent, session, approval: decision.approval }
}

describe('approvals over HTTP: roles and tenants', () => {
  it("an agent key cannot decide (not even its own request); an auditor reads but cannot decide; an approver of the tenant can", async () => {
    const { agent, approval } = await pendingPurchase()
    const own = await errorOf(agent.approve(approval.id, { by: 'purchaser-owner' }))
    expect(ForbiddenError.isInstance(own)).toBe(true)
    expect(own).toMatchObject({ role: 'agent', operation: 'decideApproval', allowedRoles: ['admin', 'approver'] })
    // The agent may wait on its own request by id.
    expect(await agent.getApproval(approval.id)).toMatchObject({ status: 'pending' })
    const auditor = as(keys.auditorA)
    expect((await auditor.listApprovals({ status: 'pending' })).map((listed) => listed.id)).toContain(approval.id)
    expect(ForbiddenError.isInstance(await errorOf(auditor.deny(approval.id, { by: 'auditor' })))).toBe(true)
    expect(await as(keys.approverA).approve(approval.id, { by: 'alice@acme.example' })).toMatchObject({ status: 'approved', decidedBy: 'alice@acme.example' })
  })

  it("an approver key of tenant B can neither see nor decide tenant A's requests", async () => {
    const { approval } = await pendingPurchase()
    const rival = as(keys.approverB)
    expect(NotFoundError.isInstance(await errorOf(rival.getApproval(approval.id)))).toBe(true)
    expect(NotFoundError.isInstance(await errorOf(rival.approve(approval.id, { by: 'mallory' })))).toBe(true)
    expect(NotFoundError.isInstance(await errorOf(rival.deny(approval.id, { by: 'mallory' })))).toBe(true)
    expect(await rival.listApprovals({ limit: 10_000 })).toEqual([])
    expect(await as(keys.auditorA).getApproval(approval.id)).toMatchObject({ status: 'pending' })
  })

  it('only an admin key manages tenant rules; every key that reads sees them', async () => {
    const admin = as(keys.adminA)
    const rule = await admin.addApprovalRule({ kind: 'tool', tools: ['wire_transfer'], reason: 'finance signs off' })
    try {
      expect(ForbiddenError.isInstance(await errorOf(as(keys.approverA).addApprovalRule({ kind: 'all' })))).toBe(true)
      expect(ForbiddenError.isInstance(await errorOf(as(keys.agentA).removeApprovalRule(rule.id)))).toBe(true)
      expect(await as(keys.auditorA).listApprovalRules()).toEqual([rule])
      const agent = as(keys.agentA)
      const session = await agent.createSession({ agentId: 'treasurer', scopes: ['*'], spendLimit: 5 })
      const decision = await agent.gate({ sessionId: session.id, tool: 'wire_transfer', maxCostUsd: 1 })
      expect(decision.allowed === false && decision.pending === true && decision.approval.reason).toBe('finance signs off')
    } finally {
      await admin.removeApprovalRule(rule.id)
    }
  })

  it('streams the tenant events to approvers as server-sent events; an agent key may not listen', async () => {
    const refused = await fetch(`${running.url}/native/v1/events`, { headers: { authorization: `Bearer ${keys.agentA}` } })
    expect(refused.status).toBe(403)
    const response = await fetch(`${running.url}/native/v1/events`, { headers: { authorization: `Bearer ${keys.approverA}`, accept: 'text/event-stream' } })
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const reader = (response.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader()
    let text = ''
    while (!text.includes('event: ready')) text += (await reader.read()).value ?? ''
    const { approval } = await pendingPurchase()
    while (!text.includes(approval.id)) text += (await reader.read()).value ?? ''
    await reader.cancel()
    const block = text.split('\n\n').find((chunk) => chunk.includes(approval.id)) as string
    expect(block).toMatch(/^id: evt_/m)
    expect(block).toMatch(/^event: approval\.requested$/m)
    const event = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] as string) as HaldirEvent
    expect(event).toMatchObject({ type: 'approval.requested', tenant: 'acme', data: { approvalId: approval.id, amountUsd: 20 } })
  })

  it("waitForApproval through httpBackend wakes on the decision (events), and an agent's wait falls back to looking", async () => {
    const { approval } = await pendingPurchase()
    const watcher = as(keys.auditorA)
    const agent = as(keys.agentA)
    const watching = watcher.waitForApproval(approval.id, { pollInterval: 30 })
    const polling = agent.waitForApproval(approval.id, { pollInterval: 0.05 })
    await new Promise((resolve) => setTimeout(resolve, 100))
    const started = Date.now()
    await as(keys.approverA).deny(approval.id, { by: 'bob', note: 'over budget' })
    // Woken by the event long before its 30 s poll, and the agent by polling.
    expect(await watching).toMatchObject({ status: 'denied', note: 'over budget' })
    expect(Date.now() - started).toBeLessThan(5000)
    expect(await polling).toMatchObject({ status: 'denied' })
  })
})

import { BudgetExceededError, createHaldir } from '@haldir/core'
import { AIMessage, ToolMessage } from '@langchain/core/messages'
import { fakeModel } from '@langchain/core/testing'
import { tool } from '@langchain/core/tools'
import { Command, MemorySaver } from '@langchain/langgraph'
import { createAgent } from 'langchain'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { HaldirApprovalRequest } from './approval-interrupt.ts'
import { haldirMiddleware } from './haldir-middleware.ts'

const haldir = createHaldir()

async function shop() {
  const session = await haldir.createSession({ agentId: `buyer-${Math.random().toString(36).slice(2, 8)}`, scopes: ['*'], spendLimit: 25, approvalRules: [{ kind: 'spend_over', thresholdUsd: 10 }] })
  const runs: string[] = []
  const buy = tool(
    async ({ item }) => {
      runs.push(item)
      return `bought ${item}`
    },
    { name: 'buy', description: 'Buy an item', schema: z.object({ item: z.string() }) },
  )
  const model = fakeModel()
    .respondWithTools([{ name: 'buy', args: { item: 'monitor' }, id: 'buy-1' }])
    .respond(new AIMessage('done'))
  const agent = createAgent({
    model,
    tools: [buy],
    checkpointer: new MemorySaver(),
    middleware: [haldirMiddleware({ haldir, sessionId: session.id, costs: { buy: 20 }, decidedBy: 'ops@example.com' })],
  })
  const config = { configurable: { thread_id: `thread-${session.id}` } }
  return { session, runs, agent, config, model }
}

const interruptOf = (result: unknown) => (result as { __interrupt__?: { value: HaldirApprovalRequest }[] }).__interrupt__?.[0]?.value

describe('haldirMiddleware: Haldir approvals as LangGraph interrupts', () => {
  it('interrupts a run on pending with the money held, and resumes with approve: the tool runs once on that money', async () => {
    const { session, runs, agent, config } = await shop()
    const paused = await agent.invoke({ messages: [{ role: 'user', content: 'buy a monitor' }] }, config)
    const request = interruptOf(paused)
    expect(request).toMatchObject({
      actionRequests: [{ name: 'buy', args: { item: 'monitor' } }],
      reviewConfigs: [{ actionName: 'buy', allowedDecisions: ['approve', 'reject'] }],
      haldir: { amountUsd: 20, reason: 'Spend $20.00 exceeds $10.00 threshold' },
    })
    expect(runs).toEqual([])
    expect(await haldir.getSpend(session.id)).toMatchObject({ reservedUsd: 20, totalUsd: 0 })
    await expect(haldir.authorizePayment(session.id, 6)).rejects.toSatisfy(BudgetExceededError.isInstance)

    const resumed = await agent.invoke(new Command({ resume: { decisions: [{ type: 'approve', message: 'go ahead' }] } }), config)
    expect(runs).toEqual(['monitor'])
    expect(resumed.messages.filter((message) => ToolMessage.isInstance(message)).map((message) => message.content)).toEqual(['bought monitor'])
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 20, reservedUsd: 0, byTool: { buy: 20 } })
    expect(await haldir.getApproval(request?.haldir.approvalId as string)).toMatchObject({ status: 'approved', decidedBy: 'ops@example.com', note: 'go ahead', used: true })
    expect((await haldir.listApprovals({ sessionId: session.id })).length).toBe(1)
    expect(await haldir.verifyAuditTrail(session.id)).toMatchObject({ ok: true })
  })

  it('resumes with reject: the tool never runs, the model reads the rejection, the hold is released', async () => {
    const { session, runs, agent, config, model } = await shop()
    const paused = await agent.invoke({ messages: [{ role: 'user', content: 'buy a monitor' }] }, config)
    const request = interruptOf(paused)
    await agent.invoke(new Command({ resume: { decisions: [{ type: 'reject', message: 'not this quarter', decidedBy: 'cfo@example.com' }] } }), config)
    expect(runs).toEqual([])
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0, reservedUsd: 0 })
    expect(await haldir.getApproval(request?.haldir.approvalId as string)).toMatchObject({ status: 'denied', decidedBy: 'cfo@example.com', note: 'not this quarter' })
    const lastPrompt = model.calls.at(-1)?.messages.at(-1) as ToolMessage
    expect(lastPrompt).toMatchObject({ status: 'error', content: 'not this quarter', tool_call_id: 'buy-1' })
  })

  it('a person deciding elsewhere (CLI, dashboard) first wins: the resumed run follows that decision', async () => {
    const { session, runs, agent, config } = await shop()
    const request = interruptOf(await agent.invoke({ messages: [{ role: 'user', content: 'buy a monitor' }] }, config))
    await haldir.deny(request?.haldir.approvalId as string, { by: 'auditor@example.com' })
    const resumed = await agent.invoke(new Command({ resume: { decisions: [{ type: 'approve' }] } }), config)
    expect(runs).toEqual([])
    const answer = resumed.messages.filter((message) => ToolMessage.isInstance(message)).at(-1) as ToolMessage
    expect(answer.content).toMatch(/^BLOCKED: approval apr_.* was denied by auditor@example\.com/)
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0, reservedUsd: 0 })
  })

  it('a run resumed by another process (a fresh middleware) goes on with the approval it was paused for: the money is held once', async () => {
    const { session, runs, config, model } = await shop()
    const checkpointer = new MemorySaver()
    const buyTool = tool(
      async ({ item }) => {
        runs.push(item)
        return `bought ${item}`
      },
      { name: 'buy', description: 'Buy an item', schema: z.object({ item: z.string() }) },
    )
    const worker = () =>
      createAgent({ model, tools: [buyTool], checkpointer, middleware: [haldirMiddleware({ haldir, sessionId: session.id, costs: { buy: 20 }, decidedBy: 'ops@example.com' })] })
    const first = interruptOf(await worker().invoke({ messages: [{ role: 'user', content: 'buy a monitor' }] }, config))
    const resumed = await worker().invoke(new Command({ resume: { decisions: [{ type: 'approve' }] } }), config)
    expect(runs).toEqual(['monitor'])
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 20, reservedUsd: 0 })
    expect(resumed.messages.filter((message) => ToolMessage.isInstance(message)).map((message) => message.content)).toEqual(['bought monitor'])
    const approvals = await haldir.listApprovals({ sessionId: session.id })
    expect(approvals).toEqual([expect.objectContaining({ id: first?.haldir.approvalId, status: 'approved', used: true })])
  })

  it('without a checkpointer the call waits for a person, then runs', async () => {
    const session = await haldir.createSession({ agentId: 'no-checkpointer', scopes: ['*'], spendLimit: 25, approvalRules: [{ kind: 'all', reason: 'every call' }] })
    const runs: string[] = []
    const ping = tool(
      async () => {
        runs.push('ping')
        return 'pong'
      },
      { name: 'ping', description: 'Ping', schema: z.object({}) },
    )
    const agent = createAgent({
      model: fakeModel().respondWithTools([{ name: 'ping', args: {}, id: 'p1' }]).respond(new AIMessage('ok')),
      tools: [ping],
      middleware: [haldirMiddleware({ haldir, sessionId: session.id, costs: { ping: 1 } })],
    })
    const running = agent.invoke({ messages: [{ role: 'user', content: 'ping' }] })
    let pending: string | undefined
    for (let attempt = 0; attempt < 200 && !pending; attempt++) {
      pending = (await haldir.listApprovals({ sessionId: session.id, status: 'pending' }))[0]?.id
      if (!pending) await new Promise((resolve) => setTimeout(resolve, 10))
    }
    expect(runs).toEqual([])
    await haldir.approve(pending as string, { by: 'ops' })
    await running
    expect(runs).toEqual(['ping'])
    expect((await haldir.getSpend(session.id)).totalUsd).toBe(1)
  })
})

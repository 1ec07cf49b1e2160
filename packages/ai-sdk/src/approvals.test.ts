import { BudgetExceededError, createHaldir } from '@haldir/core'
import { generateText, type ModelMessage, stepCountIs, tool } from 'ai'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { haldirToolApproval } from './haldir-tool-approval.ts'
import { recordApprovalAnswers } from './record-approval-answers.ts'
import { scriptedModel } from './scripted-model.test-helper.ts'
import { withHaldir } from './with-haldir.ts'

const haldir = createHaldir()

async function shop(spendLimit = 25) {
  const session = await haldir.createSession({ agentId: `shopper-${Math.random().toString(36).slice(2, 8)}`, scopes: ['*'], spendLimit, approvalRules: [{ kind: 'spend_over', thresholdUsd: 10 }] })
  const runs: string[] = []
  const tools = withHaldir(
    {
      buy: tool({
        description: 'Buy an item',
        inputSchema: z.object({ item: z.string() }),
        execute: async ({ item }) => {
          runs.push(item)
          return `bought ${item}`
        },
      }),
      look: tool({
        description: 'Look an item up',
        inputSchema: z.object({ item: z.string() }),
        execute: async ({ item }) => `${item}: in stock`,
      }),
    },
    { haldir, sessionId: session.id, costs: { buy: 20, look: 0.01 }, decidedBy: 'alice@example.com' },
  )
  return { session, runs, tools }
}

type Part = { type: string; approvalId?: string; toolCall?: { toolCallId: string }; reason?: string; output?: unknown }
const contentOf = (result: { steps: { content: unknown[] }[] }) => result.steps.flatMap((step) => step.content) as Part[]

/** The conversation as an app sends it back: the first run's messages, then the person's answer. */
function answered(prompt: string, first: { response: { messages: ModelMessage[] } }, approvalId: string, approved: boolean, reason?: string): ModelMessage[] {
  return [
    { role: 'user', content: prompt },
    ...first.response.messages,
    { role: 'tool', content: [{ type: 'tool-approval-response', approvalId, approved, ...(reason ? { reason } : {}) }] },
  ]
}

describe('Haldir approvals through the AI SDK tool approval', () => {
  it('a pending call is the SDK tool-approval request with its money held; the approval response runs it on that money', async () => {
    const { session, runs, tools } = await shop()
    const model = scriptedModel([{ toolCalls: [{ name: 'buy', input: { item: 'laptop stand' }, id: 'call-buy' }] }, { text: 'Bought it.' }])
    const first = await generateText({ model, tools, prompt: 'buy a laptop stand', stopWhen: stepCountIs(5) })
    const request = contentOf(first).find((part) => part.type === 'tool-approval-request')
    expect(request).toMatchObject({ toolCall: { toolCallId: 'call-buy' } })
    expect(runs).toEqual([])
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0, reservedUsd: 20, remainingUsd: 5 })
    // While the person decides, the held $20 is not anyone else's to spend.
    await expect(haldir.authorizePayment(session.id, 6)).rejects.toSatisfy(BudgetExceededError.isInstance)
    const [pending] = await haldir.listApprovals({ sessionId: session.id, status: 'pending' })
    expect(pending).toMatchObject({ tool: 'buy', amountUsd: 20, details: expect.objectContaining({ toolCallId: 'call-buy' }) })

    const second = await generateText({ model, tools, messages: answered('buy a laptop stand', first, request?.approvalId as string, true, 'fine'), stopWhen: stepCountIs(5) })
    expect(runs).toEqual(['laptop stand'])
    expect(second.text).toBe('Bought it.')
    // The approved call ran before the model was asked again, and its result reached the model.
    expect(JSON.stringify(model.doGenerateCalls.at(-1)?.prompt)).toContain('bought laptop stand')
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 20, reservedUsd: 0, byTool: { buy: 20 } })
    expect(await haldir.getApproval(pending?.id as string)).toMatchObject({ status: 'approved', decidedBy: 'alice@example.com', note: 'fine', used: true })
    const actions = (await haldir.getAuditTrail({ sessionId: session.id })).entries.map((entry) => entry.action)
    expect(actions).toEqual(['session.create', 'approval.request', 'payment', 'approval.approve', 'execute'])
    expect(await haldir.verifyAuditTrail(session.id)).toMatchObject({ ok: true })
  })

  it('a denial reaches the model as execution-denied; the tool never runs and the held money comes back', async () => {
    const { session, runs, tools } = await shop()
    const model = scriptedModel([{ toolCalls: [{ name: 'buy', input: { item: 'yacht' }, id: 'call-yacht' }] }, { text: 'I will not buy it.' }])
    const first = await generateText({ model, tools, prompt: 'buy a yacht', stopWhen: stepCountIs(5) })
    const request = contentOf(first).find((part) => part.type === 'tool-approval-request')
    const messages = answered('buy a yacht', first, request?.approvalId as string, false, 'too expensive')
    // The app records the answer where it arrives: the money is released at once.
    const decided = await recordApprovalAnswers({ haldir, sessionId: session.id, messages, decidedBy: 'bob@example.com' })
    expect(decided).toEqual([expect.objectContaining({ status: 'denied', decidedBy: 'bob@example.com', note: 'too expensive' })])
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0, reservedUsd: 0 })
    const second = await generateText({ model, tools, messages, stopWhen: stepCountIs(5) })
    expect(runs).toEqual([])
    expect(second.text).toBe('I will not buy it.')
    const prompt = JSON.stringify(model.doGenerateCalls.at(-1)?.prompt)
    expect(prompt).toContain('execution-denied')
    expect(prompt).toContain('too expensive')
  })

  it('without the app recording it, a denial is taken at the next governed call of the conversation', async () => {
    const { session, runs, tools } = await shop()
    const model = scriptedModel([
      { toolCalls: [{ name: 'buy', input: { item: 'yacht' }, id: 'call-yacht-2' }] },
      { toolCalls: [{ name: 'look', input: { item: 'canoe' }, id: 'call-look' }] },
      { text: 'A canoe is in stock.' },
    ])
    const first = await generateText({ model, tools, prompt: 'buy a boat', stopWhen: stepCountIs(5) })
    const request = contentOf(first).find((part) => part.type === 'tool-approval-request')
    expect((await haldir.getSpend(session.id)).reservedUsd).toBe(20)
    const second = await generateText({ model, tools, messages: answered('buy a boat', first, request?.approvalId as string, false), stopWhen: stepCountIs(5) })
    expect(second.text).toBe('A canoe is in stock.')
    expect(runs).toEqual([])
    expect(await haldir.getSpend(session.id)).toMatchObject({ reservedUsd: 0, totalUsd: 0.01 })
    expect((await haldir.listApprovals({ sessionId: session.id }))[0]).toMatchObject({ status: 'denied', decidedBy: 'alice@example.com' })
  })

  it("with haldirToolApproval the SDK's request carries Haldir's reason, and out-of-scope calls are denied before they run", async () => {
    const { session, runs, tools } = await shop()
    const model = scriptedModel([{ toolCalls: [{ name: 'buy', input: { item: 'desk' }, id: 'call-desk' }, { name: 'look', input: { item: 'desk' }, id: 'call-look-desk' }] }, { text: 'waiting' }])
    const first = await generateText({ model, tools, toolApproval: haldirToolApproval({ haldir, sessionId: session.id }), prompt: 'desk', stopWhen: stepCountIs(5) })
    expect(contentOf(first).find((part) => part.type === 'tool-approval-request')).toMatchObject({ toolCall: { toolCallId: 'call-desk' }, reason: 'Spend $20.00 exceeds $10.00 threshold' })
    expect(contentOf(first).find((part) => part.type === 'tool-result')).toMatchObject({ output: 'desk: in stock' })
    const request = contentOf(first).find((part) => part.type === 'tool-approval-request')
    await generateText({ model, tools, toolApproval: haldirToolApproval({ haldir, sessionId: session.id }), messages: answered('desk', first, request?.approvalId as string, true), stopWhen: stepCountIs(5) })
    expect(runs).toEqual(['desk'])
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 20.01, reservedUsd: 0 })
    const outsider = await haldir.createSession({ agentId: 'outsider', scopes: ['look'], spendLimit: 5 })
    const limited = withHaldir({ buy: tools.buy }, { haldir, sessionId: outsider.id, costs: { buy: 1 } })
    const refused = await generateText({ model: scriptedModel([{ toolCalls: [{ name: 'buy', input: { item: 'pen' }, id: 'call-pen' }] }, { text: 'no' }]), tools: limited, toolApproval: haldirToolApproval({ haldir, sessionId: outsider.id }), prompt: 'pen', stopWhen: stepCountIs(5) })
    expect(JSON.stringify(contentOf(refused))).toContain("BLOCKED: scope 'buy' not granted")
  })

  it("a tool's own needsApproval holds the money too, and a call under every threshold runs without asking", async () => {
    const session = await haldir.createSession({ agentId: 'mailer', scopes: ['*'], spendLimit: 5 })
    const sent: string[] = []
    const tools = withHaldir(
      {
        send_email: tool({
          inputSchema: z.object({ to: z.string() }),
          needsApproval: async ({ to }) => !to.endsWith('@example.com'),
          execute: async ({ to }) => {
            sent.push(to)
            return 'sent'
          },
        }),
      },
      { haldir, sessionId: session.id, costs: { send_email: 0.5 } },
    )
    const model = scriptedModel([{ toolCalls: [{ name: 'send_email', input: { to: 'ceo@rival.com' }, id: 'call-ext' }, { name: 'send_email', input: { to: 'me@example.com' }, id: 'call-int' }] }, { text: 'ok' }])
    const first = await generateText({ model, tools, prompt: 'send', stopWhen: stepCountIs(5) })
    expect(sent).toEqual(['me@example.com'])
    expect(contentOf(first).filter((part) => part.type === 'tool-approval-request').map((part) => part.toolCall?.toolCallId)).toEqual(['call-ext'])
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0.5, reservedUsd: 0.5 })
  })
})

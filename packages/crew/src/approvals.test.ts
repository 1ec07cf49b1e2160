import { type Approval, createHaldir, type Haldir, memoryBackend } from '@haldir/core'
import { testClock } from '@haldir/core/testing'
import { tool } from 'ai'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { Agent } from './agent.ts'
import { Crew, type CrewCheckpoint } from './crew.ts'
import { Task } from './task.ts'
import { scriptedModel } from './testing/scripted-model.ts'

function purchasing(haldir: Haldir, onPending: 'wait' | 'stop', timeout?: number) {
  const bought: string[] = []
  const purchase = tool({
    description: 'Buy something',
    inputSchema: z.object({ item: z.string() }),
    execute: async ({ item }) => {
      bought.push(item)
      return `ordered ${item}`
    },
  })
  const model = scriptedModel({
    buyer: [{ toolCalls: [{ tool: 'purchase', input: { item: 'standing desk' } }] }, { text: 'Ordered the desk.' }],
    writer: [{ text: 'Memo written.' }],
  })
  const buyer = Agent({ role: 'buyer', goal: 'Buy office kit', tools: { purchase }, scopes: ['purchase'], toolCosts: { purchase: 20 } })
  const writer = Agent({ role: 'writer', goal: 'Write the memo', scopes: [] })
  const crew = Crew({
    agents: [buyer, writer],
    tasks: [Task({ description: 'Buy a standing desk', expectedOutput: 'An order', agent: buyer }), Task({ description: 'Write a memo', expectedOutput: 'A memo', agent: writer })],
    model,
    budget: 25,
    haldir,
    approvals: { rules: [{ kind: 'spend_over', thresholdUsd: 10, ...(timeout ? { timeout } : {}) }], onPending },
  })
  return { crew, bought }
}

async function pendingOf(haldir: Haldir): Promise<Approval> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const [approval] = await haldir.listApprovals({ status: 'pending' })
    if (approval) return approval
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error('no approval was requested')
}

describe('Crew approvals', () => {
  it('an agent call waits for a person while the crew holds its money, then runs once', async () => {
    const haldir = createHaldir()
    const { crew, bought } = purchasing(haldir, 'wait')
    const running = crew.kickoff()
    const approval = await pendingOf(haldir)
    expect(approval).toMatchObject({ tool: 'purchase', amountUsd: 20, reason: 'Spend $20.00 exceeds $10.00 threshold' })
    expect(bought).toEqual([])
    const crewSession = (await haldir.getSession(approval.sessionId)).parentId as string
    expect(await haldir.getSpend(crewSession)).toMatchObject({ reservedUsd: 20, totalUsd: 0 })
    await haldir.approve(approval.id, { by: 'facilities@example.com' })
    const result = await running
    expect(bought).toEqual(['standing desk'])
    expect(result.tasksOutput.map((output) => [output.agent, output.status, output.raw])).toEqual([
      ['buyer', 'completed', 'Ordered the desk.'],
      ['writer', 'completed', 'Memo written.'],
    ])
    expect(result.spend).toMatchObject({ totalUsd: 20, reservedUsd: 0 })
    expect(result.audit.every((agent) => agent.verified)).toBe(true)
  })

  it('a call nobody approves in time is denied: the model is told, nothing runs, the money comes back', async () => {
    const clock = testClock()
    const haldir = createHaldir({ backend: memoryBackend({ now: clock.now }) })
    const { crew, bought } = purchasing(haldir, 'wait', 60)
    const running = crew.kickoff()
    await pendingOf(haldir)
    clock.advance(61_000)
    const result = await running
    expect(bought).toEqual([])
    expect(result.spend).toMatchObject({ totalUsd: 0, reservedUsd: 0 })
    const buyerTrail = result.audit.find((agent) => agent.role === 'buyer')?.entries ?? []
    expect(buyerTrail.map((entry) => entry.action)).toContain('approval.expire')
  })

  it("stops with the pending approvals (sessions live, money held), and kickoff({ resume }) goes on once they're decided", async () => {
    const haldir = createHaldir()
    const { crew, bought } = purchasing(haldir, 'stop')
    const stopped = await crew.kickoff()
    expect(stopped.stopped).toMatchObject({ reason: 'approval_pending', beforeTask: 0, approvals: [expect.objectContaining({ tool: 'purchase', amountUsd: 20 })] })
    expect(stopped.tasksOutput.map((output) => output.status)).toEqual(['waiting', 'skipped'])
    expect(bought).toEqual([])
    expect(await haldir.getSpend(stopped.sessions.crew)).toMatchObject({ reservedUsd: 20 })
    expect((await haldir.getSession(stopped.sessions.crew)).revokedAt).toBeNull()
    // The checkpoint is plain JSON: stored anywhere, resumed anywhere.
    const checkpoint = JSON.parse(JSON.stringify(stopped.resume)) as CrewCheckpoint

    // Resumed before anyone decided: it stops again where it was.
    const early = await crew.kickoff({ resume: checkpoint })
    expect(early.stopped?.reason).toBe('approval_pending')
    expect(bought).toEqual([])

    await haldir.approve(stopped.stopped?.reason === 'approval_pending' ? (stopped.stopped.approvals[0]?.id as string) : '', { by: 'facilities@example.com' })
    const done = await crew.kickoff({ resume: checkpoint })
    expect(bought).toEqual(['standing desk'])
    expect(done.stopped).toBeNull()
    expect(done.tasksOutput.map((output) => [output.agent, output.status])).toEqual([
      ['buyer', 'completed'],
      ['writer', 'completed'],
    ])
    expect(done.spend).toMatchObject({ totalUsd: 20, reservedUsd: 0 })
    expect((await haldir.getSession(done.sessions.crew)).revokedAt).not.toBeNull()
    await expect(crew.kickoff({ resume: { ...checkpoint, taskIndex: 7 } })).rejects.toMatchObject({ code: 'validation_error' })
  })

  it('refuses a stop with a hierarchical crew and malformed approval options', () => {
    const agent = Agent({ role: 'a', goal: 'g' })
    const task = Task({ description: 'd', expectedOutput: 'e' })
    const model = scriptedModel({})
    expect(() => Crew({ agents: [agent], tasks: [task], model, process: 'hierarchical', approvals: { onPending: 'stop' } })).toThrow(/'stop' needs a sequential crew/)
    expect(() => Crew({ agents: [agent], tasks: [Task({ description: 'd', expectedOutput: 'e', agent })], model, approvals: { rules: [{ kind: 'spend_over' } as never] } })).toThrow(/thresholdUsd/)
    expect(() => Crew({ agents: [agent], tasks: [Task({ description: 'd', expectedOutput: 'e', agent })], model, approvals: { onPendng: 'stop' } as never })).toThrow(/onPending/)
    expect(() => Agent({ role: 'b', goal: 'g', approvalRules: [{ kind: 'al' } as never] })).toThrow(/kind/)
  })
})

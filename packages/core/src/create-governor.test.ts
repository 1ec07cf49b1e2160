import { describe, expect, it } from 'vitest'
import { createHaldir } from './create-haldir.ts'
import { PermissionDeniedError } from './errors/permission-denied-error.ts'
import { createGovernor } from './create-governor.ts'
import { REDACTED } from './audit/redact-details.ts'
import { withHaldir } from './with-haldir.ts'

const haldir = createHaldir()

async function* chunks(count: number, fail = false) {
  for (let index = 1; index <= count; index++) yield { progress: index }
  if (fail) throw new Error('stream broke')
}

describe('createGovernor().stream', () => {
  it('settles the cost of the last chunk when the stream ends', async () => {
    const session = await haldir.createSession({ agentId: 'stream', scopes: ['render'], spendLimit: 1 })
    const govern = createGovernor<string, { progress: number }>({ haldir, sessionId: session.id, scope: 'render', tool: 'render', maxCost: 0.5, cost: (_input, last) => last.progress * 0.01 })
    const seen: unknown[] = []
    for await (const chunk of govern.stream('job', () => chunks(3))) seen.push(chunk)
    expect(seen).toEqual([{ progress: 1 }, { progress: 2 }, { progress: 3 }])
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0.03, reservedUsd: 0 })
  })

  it('settles when the consumer stops early, and releases when the stream throws', async () => {
    const session = await haldir.createSession({ agentId: 'stream', scopes: ['render'], spendLimit: 1 })
    const govern = createGovernor<string, { progress: number }>({ haldir, sessionId: session.id, scope: 'render', tool: 'render', cost: 0.1 })
    for await (const chunk of govern.stream('job', () => chunks(5))) if ((chunk as { progress: number }).progress === 2) break
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0.1, reservedUsd: 0 })
    await expect(async () => {
      for await (const _ of govern.stream('job', () => chunks(2, true))) {
        // drain
      }
    }).rejects.toThrow('stream broke')
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0.1, reservedUsd: 0 })
    const last = (await haldir.getAuditTrail({ sessionId: session.id })).entries.at(-1)
    expect(last).toMatchObject({ outcome: 'error', reason: 'stream broke' })
  })

  it('throws a refusal, or yields it as the only chunk', async () => {
    const session = await haldir.createSession({ agentId: 'stream', scopes: [] })
    let started = false
    const run = () => {
      started = true
      return chunks(1)
    }
    const throwing = createGovernor<string, unknown>({ haldir, sessionId: session.id, scope: 'render', tool: 'render' })
    await expect(throwing.stream('x', run).next()).rejects.toBeInstanceOf(PermissionDeniedError)
    const messaging = createGovernor<string, unknown>({ haldir, sessionId: session.id, scope: 'render', tool: 'render', onDenied: 'message' })
    const seen: unknown[] = []
    for await (const chunk of messaging.stream('x', run)) seen.push(chunk)
    expect(seen).toEqual([expect.stringMatching(/^BLOCKED: scope 'render'/)])
    expect(started).toBe(false)
  })
})

describe("a governed call's own settle", () => {
  it('records how long the call took, and redacts it like any detail when the client redacts durationMs', async () => {
    for (const redact of [undefined, ['durationMs']]) {
      const haldir = createHaldir(redact ? { redact } : {})
      const session = await haldir.createSession({ agentId: 'timed', scopes: [], spendLimit: 1, ttl: 60 })
      const slow = withHaldir(() => new Promise((resolve) => setTimeout(() => resolve('done'), 5)), { haldir, sessionId: session.id, auditName: 'slow', cost: 0.25 })
      await slow()
      const trail = await haldir.getAuditTrail({ sessionId: session.id })
      const executed = trail.entries.find((entry) => entry.tool === 'slow' && entry.action === 'execute')
      expect(executed?.costUsd).toBe(0.25)
      if (redact) expect(executed?.details.durationMs).toBe(REDACTED)
      else expect(executed?.details.durationMs).toBeGreaterThanOrEqual(4)
      expect(await haldir.verifyAuditTrail(session.id)).toMatchObject({ ok: true })
    }
  })
})

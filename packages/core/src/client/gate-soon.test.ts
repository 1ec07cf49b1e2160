import { describe, expect, it } from 'vitest'
import { authorizeNowOf } from '../backend/decides-now.ts'
import type { HaldirBackend } from '../backend/haldir-backend.ts'
import { createHaldir } from '../create-haldir.ts'
import { ValidationError } from '../errors/validation-error.ts'
import { memoryBackend } from '../memory/memory-backend.ts'
import type { GateDecision, Haldir } from '../types.ts'
import { withHaldir } from '../with-haldir.ts'
import { gateSoonOf } from './gate-soon.ts'

async function client(backend: HaldirBackend = memoryBackend()) {
  const haldir = createHaldir({ backend })
  const session = await haldir.createSession({ agentId: 'soon', scopes: ['search'], spendLimit: 1, ttl: 60 })
  return { haldir, session }
}

describe('a governed call decided within the call', () => {
  it('over memory, runs the tool before the governed call returns its promise: no turn of the microtask queue first', async () => {
    const { haldir, session } = await client()
    let ran = 0
    const search = withHaldir(async () => ++ran, { haldir, sessionId: session.id, scope: 'search', cost: 0.1 })
    const pending = search()
    expect(ran).toBe(1)
    await expect(pending).resolves.toBe(1)
    expect((await haldir.getSpend(session.id)).totalUsd).toBe(0.1)
  })

  it('is refused within the call too, and the refusal is audited and rejected, not thrown', async () => {
    const { haldir, session } = await client()
    let ran = 0
    const write = withHaldir(async () => ++ran, { haldir, sessionId: session.id, scope: 'write', cost: 0.1 })
    const pending = write()
    expect(pending).toBeInstanceOf(Promise)
    await expect(pending).rejects.toMatchObject({ code: 'permission_denied' })
    expect(ran).toBe(0)
    const trail = await haldir.getAuditTrail({ sessionId: session.id })
    expect(trail.entries.map((entry) => entry.outcome)).toContain('denied')
  })

  it('rejects bad input (a malformed session id, details with a cycle) before anything is held', async () => {
    const { haldir, session } = await client()
    const looped: Record<string, unknown> = {}
    looped.self = looped
    const bad = withHaldir(async () => 'ran', { haldir, sessionId: 'ses_\u0000', cost: 0.1 })
    const cyclic = withHaldir(async (_input: unknown) => 'ran', { haldir, sessionId: session.id, cost: 0.1 })
    await expect(bad()).rejects.toBeInstanceOf(ValidationError)
    await expect(cyclic(looped)).rejects.toBeInstanceOf(ValidationError)
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0, reservedUsd: 0 })
  })

  it("holds what the governor's options say (scope, tool, amount, lease) and checks every call's session", async () => {
    const { haldir, session } = await client()
    let finish = () => {}
    const running = new Promise<void>((resolve) => {
      finish = resolve
    })
    const slow = withHaldir(async (sessionId: string) => (await running, sessionId), { haldir, sessionId: ([sessionId]) => sessionId, scope: 'search', auditName: 'lookup', cost: 0.25, holdTtl: 30 })
    const call = slow(session.id)
    const [hold] = await haldir.listHolds({ sessionId: session.id })
    expect(hold).toMatchObject({ amountUsd: 0.25, tool: 'lookup', scope: 'search' })
    expect(Date.parse(hold?.expiresAt as string) - Date.parse(hold?.createdAt as string)).toBe(30_000)
    finish()
    await expect(call).resolves.toBe(session.id)
    await expect(slow('ses_\u0000')).rejects.toBeInstanceOf(ValidationError)
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0.25, reservedUsd: 0 })
  })

  it('asks a replaced gate, or a copy of the client with its own gate, and never goes around it', async () => {
    const { haldir, session } = await client()
    const asked: string[] = []
    const own = (name: string) => (options: Parameters<Haldir['gate']>[0]): Promise<GateDecision> => {
      asked.push(name)
      return haldir.gate(options)
    }
    const copy: Haldir = { ...haldir, gate: own('copy') }
    expect(gateSoonOf(copy)).toBeUndefined()
    await withHaldir(async () => 'ran', { haldir: copy, sessionId: session.id, cost: 0.1 })()

    const patched = createHaldir({ backend: memoryBackend() })
    const other = await patched.createSession({ agentId: 'patched', scopes: [], spendLimit: 1, ttl: 60 })
    const original = patched.gate.bind(patched)
    patched.gate = (options) => {
      asked.push('patched')
      return original(options)
    }
    expect(gateSoonOf(patched)).toBeUndefined()
    await withHaldir(async () => 'ran', { haldir: patched, sessionId: other.id, cost: 0.1 })()
    expect(asked).toEqual(['copy', 'patched'])
  })

  it("is offered by the very backend core's engine made, not by a wrapper around it", () => {
    const backend = memoryBackend()
    expect(authorizeNowOf(backend)).toBeTypeOf('function')
    expect(authorizeNowOf(Object.create(backend) as HaldirBackend)).toBeUndefined()
    expect(authorizeNowOf({ ...backend })).toBeUndefined()
  })

  it('over a wrapped backend, asks its authorize and still runs the call', async () => {
    const real = memoryBackend()
    let authorized = 0
    const wrapped: HaldirBackend = {
      ...real,
      authorize: (request) => {
        authorized++
        return real.authorize(request)
      },
    }
    const { haldir, session } = await client(wrapped)
    let ran = 0
    const search = withHaldir(async () => ++ran, { haldir, sessionId: session.id, scope: 'search', cost: 0.1 })
    const pending = search()
    // The wrapper's authorize answers with a promise: the tool waits for it.
    expect(ran).toBe(0)
    await pending
    expect([authorized, ran]).toEqual([1, 1])
  })
})

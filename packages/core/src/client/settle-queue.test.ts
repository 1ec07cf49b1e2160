import { describe, expect, it } from 'vitest'
import type { HaldirBackend, SettleManyRequest, SettleRequest } from '../backend/haldir-backend.ts'
import { createGovernor } from '../create-governor.ts'
import { deferredClose } from './deferred-hold.ts'
import { createSettleQueue } from './settle-queue.ts'
import { settlesNowOf } from '../backend/decides-now.ts'
import { createStatefulBackend } from '../engine/create-stateful-backend.ts'
import { resolveKeys } from '../internal/resolve-keys.ts'
import { memoryStore } from '../memory/memory-store.ts'
import { createHaldir } from '../create-haldir.ts'
import { BackendError } from '../errors/backend-error.ts'
import type { HaldirError } from '../errors/haldir-error.ts'
import { ValidationError } from '../errors/validation-error.ts'
import { memoryBackend } from '../memory/memory-backend.ts'
import { testClock } from '../testing/test-backend.ts'
import { withHaldir } from '../with-haldir.ts'

/** A memory backend whose settles fail (as an unreachable server would) the first `failures` times. */
function flaky(failures: number): { backend: HaldirBackend; attempts: () => number } {
  const real = memoryBackend()
  let attempts = 0
  const fail = () => {
    attempts++
    if (attempts <= failures) throw new BackendError({ message: 'connection reset', status: 503 })
  }
  const backend: HaldirBackend = {
    ...real,
    settle: async (request: SettleRequest) => {
      fail()
      return real.settle(request)
    },
    settleMany: async (request: SettleManyRequest) => {
      fail()
      return (real.settleMany as NonNullable<HaldirBackend['settleMany']>)(request)
    },
  }
  return { backend, attempts: () => attempts }
}

/** One governed $0.10 call over a flaky backend, flushed: what its settle's failures left. */
async function oneCallOnFlaky(failures: number) {
  const { backend, attempts } = flaky(failures)
  const errors: HaldirError[] = []
  const haldir = createHaldir({ backend, onSettleError: (error) => errors.push(error) })
  const session = await haldir.createSession({ agentId: 'a', scopes: ['read'], spendLimit: 1 })
  const search = withHaldir(async (query: string) => query, { haldir, sessionId: session.id, scope: 'read', tool: 'search', cost: 0.1 })
  await search('x')
  await haldir.flush()
  return { haldir, session, errors, attempts }
}

const turn = () => new Promise((resolve) => setTimeout(resolve, 0))

describe('deferred settles', () => {
  it('return to the caller before the settle is written, and the same client reads its own writes', async () => {
    const backend = memoryBackend()
    const haldir = createHaldir({ backend })
    const other = createHaldir({ backend, settle: 'inline' })
    const session = await haldir.createSession({ agentId: 'a', scopes: ['read'], spendLimit: 1 })
    const search = withHaldir(async (query: string) => query, { haldir, sessionId: session.id, scope: 'read', tool: 'search', cost: 0.1 })
    expect(await search('x')).toBe('x')
    // Not yet written: another client still sees the money reserved, not spent.
    expect(await other.getSpend(session.id)).toMatchObject({ totalUsd: 0, reservedUsd: 0.1 })
    // This client's read waits for it.
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0.1, reservedUsd: 0 })
    expect((await haldir.getAuditTrail({ sessionId: session.id })).entries.map((entry) => entry.action)).toEqual(['session.create', 'hold.open', 'execute'])
    expect(await haldir.verifyAuditTrail(session.id)).toMatchObject({ ok: true })
  })

  it('land by themselves at the end of the turn, and flush() and close() wait for them', async () => {
    const backend = memoryBackend()
    const haldir = createHaldir({ backend })
    const other = createHaldir({ backend, settle: 'inline' })
    const session = await haldir.createSession({ agentId: 'a', scopes: ['read'], spendLimit: 1 })
    const search = withHaldir(async (query: string) => query, { haldir, sessionId: session.id, scope: 'read', tool: 'search', cost: 0.1 })
    await search('x')
    await turn()
    expect(await other.getSpend(session.id)).toMatchObject({ totalUsd: 0.1, reservedUsd: 0 })
    await Promise.all([search('y'), search('z')])
    await haldir.flush()
    expect(await other.getSpend(session.id)).toMatchObject({ totalUsd: 0.3, reservedUsd: 0 })
    await search('w')
    await haldir.close()
    expect((await other.getAuditTrail({ sessionId: session.id })).entries.filter((entry) => entry.action === 'execute')).toHaveLength(4)
  })

  it('queued while a request is under way, go together at the end of the turn it returns in; flush() drains them all', async () => {
    const real = memoryBackend()
    const batches: number[] = []
    let release: () => void = () => {}
    const backend: HaldirBackend = {
      ...real,
      // The first and third requests hang until released, as a slow link would.
      settleMany: async (request: SettleManyRequest) => {
        batches.push(request.settles.length)
        if (batches.length === 1 || batches.length === 3) await new Promise<void>((resolve) => (release = resolve))
        return (real.settleMany as NonNullable<HaldirBackend['settleMany']>)(request)
      },
      // A lone settle takes its own route: a request of one.
      settle: async (request: SettleRequest) => {
        batches.push(1)
        return real.settle(request)
      },
    }
    const haldir = createHaldir({ backend })
    const other = createHaldir({ backend: real, settle: 'inline' })
    const session = await haldir.createSession({ agentId: 'a', scopes: ['read'], spendLimit: 10 })
    const search = withHaldir(async (query: string) => query, { haldir, sessionId: session.id, scope: 'read', tool: 'search', cost: 0.1 })
    await Promise.all([search('a'), search('b')])
    await turn()
    expect(batches).toEqual([2])
    // Five more complete while the first request hangs: they wait for it, not one request each.
    for (const query of ['c', 'd', 'e', 'f', 'g']) await search(query)
    await turn()
    expect(batches).toEqual([2])
    // Once it returns, those waiting go at the end of the turn with any completed later in it: one request.
    const decision = await haldir.gate({ sessionId: session.id, tool: 'search', scope: 'read', maxCostUsd: 0.1 })
    if (!decision.allowed) throw decision.error
    release()
    for (let tick = 0; tick < 50; tick++) await Promise.resolve()
    deferredClose(decision.hold)?.settleLater(0.1)
    await turn()
    expect(batches).toEqual([2, 6])
    // flush() sends what waits behind a request under way, and waits for both.
    await Promise.all([search('i'), search('j')])
    await turn()
    expect(batches).toEqual([2, 6, 2])
    await search('k')
    const flushed = haldir.flush()
    release()
    await flushed
    expect(batches).toEqual([2, 6, 2, 1])
    expect(await other.getSpend(session.id)).toMatchObject({ totalUsd: 1.1, reservedUsd: 0 })
  })

  it('a revocation charges the calls that completed before it releases what is open', async () => {
    const haldir = createHaldir()
    const session = await haldir.createSession({ agentId: 'a', scopes: ['read'], spendLimit: 1 })
    const search = withHaldir(async (query: string) => query, { haldir, sessionId: session.id, scope: 'read', tool: 'search', cost: 0.25 })
    await search('x')
    await haldir.revokeSession(session.id)
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0.25, reservedUsd: 0 })
  })

  it('are sent again while the backend fails, and charged once', async () => {
    const { haldir, session, errors, attempts } = await oneCallOnFlaky(2)
    expect(attempts()).toBe(3)
    expect(errors).toEqual([])
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0.1, reservedUsd: 0 })
    expect((await haldir.getAuditTrail({ sessionId: session.id })).entries.filter((entry) => entry.action === 'execute')).toHaveLength(1)
  })

  it('a settle the backend keeps failing is reported once retries run out; its hold waits for its lease', async () => {
    const { haldir, session, errors, attempts } = await oneCallOnFlaky(Number.POSITIVE_INFINITY)
    expect(attempts()).toBe(5)
    expect(errors.map((error) => error.code)).toEqual(['backend_error'])
    // Never charged twice nor freed early: the money stays held until the lease ends.
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0, reservedUsd: 0.1 })
  })

  it('a refused settle is reported at once, not retried', async () => {
    const clock = testClock()
    const backend = memoryBackend({ now: clock.now })
    const errors: HaldirError[] = []
    const haldir = createHaldir({ backend, onSettleError: (error) => errors.push(error) })
    const session = await haldir.createSession({ agentId: 'a', scopes: ['read'], spendLimit: 1, ttl: 3600 })
    const slow = withHaldir(
      async (query: string) => {
        // The call outlives its hold's lease: the settle is refused, and that is final.
        clock.advance(61_000)
        return query
      },
      { haldir, sessionId: session.id, scope: 'read', tool: 'search', cost: 0.1, holdTtl: 60 },
    )
    await slow('x')
    await haldir.flush()
    expect(errors.map((error) => error.code)).toEqual(['hold_expired'])
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0, reservedUsd: 0 })
  })

  it('never let concurrent calls overspend, and a gate waits for settles that free money', async () => {
    const haldir = createHaldir()
    const session = await haldir.createSession({ agentId: 'a', scopes: ['read'], spendLimit: 5 })
    const fixed = withHaldir(async () => 'ok', { haldir, sessionId: session.id, scope: 'read', tool: 'fixed', cost: 0.1, onDenied: 'message' })
    const results = await Promise.all(Array.from({ length: 100 }, () => fixed()))
    expect(results.filter((result) => result === 'ok')).toHaveLength(50)
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 5, reservedUsd: 0 })
    // $1 held, $0.10 charged, $1.10 limit: the next $1 gate needs the $0.90 back, and gets it.
    const second = await haldir.createSession({ agentId: 'b', scopes: ['read'], spendLimit: 1.1 })
    const metered = createGovernor<number, number>({ haldir, sessionId: second.id, scope: 'read', tool: 'metered', cost: () => 0.1, maxCost: 1 })
    expect(await metered(1, () => 1)).toBe(1)
    expect(await metered(2, () => 2)).toBe(2)
    expect(await haldir.getSpend(second.id)).toMatchObject({ totalUsd: 0.2, reservedUsd: 0 })
  })

  it('a call with an idempotency key settles before it returns', async () => {
    const backend = memoryBackend()
    const haldir = createHaldir({ backend })
    const other = createHaldir({ backend, settle: 'inline' })
    const session = await haldir.createSession({ agentId: 'a', scopes: ['read'], spendLimit: 1 })
    const pay = createGovernor<string, string>({ haldir, sessionId: session.id, scope: 'read', tool: 'pay', cost: 0.2, idempotencyKey: (input) => input })
    await pay('order-1', () => 'paid')
    expect(await other.getSpend(session.id)).toMatchObject({ totalUsd: 0.2, reservedUsd: 0 })
  })

  it("follow the backend's defaultSettle unless told otherwise", async () => {
    const real = memoryBackend()
    const backend: HaldirBackend = Object.assign(Object.create(real) as HaldirBackend, { defaultSettle: 'inline' as const })
    const haldir = createHaldir({ backend })
    const other = createHaldir({ backend: real, settle: 'inline' })
    const session = await haldir.createSession({ agentId: 'a', scopes: ['read'], spendLimit: 1 })
    const search = withHaldir(async (query: string) => query, { haldir, sessionId: session.id, scope: 'read', tool: 'search', cost: 0.1 })
    await search('x')
    expect(await other.getSpend(session.id)).toMatchObject({ totalUsd: 0.1, reservedUsd: 0 })
    const deferredAnyway = withHaldir(async (query: string) => query, { haldir: createHaldir({ backend, settle: 'deferred' }), sessionId: session.id, scope: 'read', tool: 'search', cost: 0.1 })
    await deferredAnyway('y')
    expect(await other.getSpend(session.id)).toMatchObject({ totalUsd: 0.1, reservedUsd: 0.1 })
  })

  it('settle a full batch within the next gate on a backend that decides synchronously (two batches at once), and never bypass a wrapper', async () => {
    /** `count` open $0.10 holds on a fresh session of `backend`, and a queue of batches of three over `queued` (the backend itself, or a wrapper of it). */
    const setUp = async (backend: HaldirBackend, queued: HaldirBackend, count = 3) => {
      const haldir = createHaldir({ backend, settle: 'inline' })
      const session = await haldir.createSession({ agentId: 'a', scopes: ['read'], spendLimit: 1 })
      const holds = await Promise.all(Array.from({ length: count }, () => haldir.reserve(session.id, 0.1, { tool: 'search' })))
      const queue = createSettleQueue({ backend: queued, tenant: 'default', onError: () => {}, batchSize: 3 })
      const request = (holdId: string): SettleRequest => ({ tenant: 'default', sessionId: session.id, holdId, amountMicros: 50_000, outcome: 'ok', action: 'execute', flagged: false, reason: null, details: {} })
      return { haldir, session, holds, queue, request }
    }
    const memory = memoryBackend()
    const direct = await setUp(memory, memory)
    for (const hold of direct.holds) direct.queue.push(direct.request(hold.id), 50_000)
    // The call that filled the batch leaves it to the next gate: nothing has landed yet.
    expect(direct.queue.slackMicros).toBe(150_000)
    expect(await direct.haldir.getSpend(direct.session.id)).toMatchObject({ totalUsd: 0, reservedUsd: 0.3 })
    // No await in between: the gate's carry settled all three before it returned.
    direct.queue.carry()
    expect(direct.queue.slackMicros).toBe(0)
    expect(await direct.haldir.getSpend(direct.session.id)).toMatchObject({ totalUsd: 0.15, reservedUsd: 0 })
    direct.queue.carry()
    expect(await direct.haldir.getSpend(direct.session.id)).toMatchObject({ totalUsd: 0.15, reservedUsd: 0 })

    // A burst with no gate between its settles: two batches' worth go within the push that makes them.
    const burst = await setUp(memoryBackend(), memoryBackend(), 6)
    const bursting = await setUp(memory, memory, 6)
    for (const [index, hold] of bursting.holds.entries()) {
      bursting.queue.push(bursting.request(hold.id), 50_000)
      expect(bursting.queue.slackMicros).toBe(index < 5 ? (index + 1) * 50_000 : 0)
    }
    expect(await bursting.haldir.getSpend(bursting.session.id)).toMatchObject({ totalUsd: 0.3, reservedUsd: 0 })
    // Fewer than a batch: a carry leaves them to the end of the turn.
    burst.queue.push(burst.request((burst.holds[0] as { id: string }).id), 50_000)
    burst.queue.carry()
    expect(burst.queue.slackMicros).toBe(50_000)
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(burst.queue.slackMicros).toBe(0)

    // A wrapper (telemetry's Object.create, here) is another object: its own settleMany runs, and
    // a carry does nothing (the push already sent the full batch).
    const wrapped = memoryBackend()
    let batches = 0
    const spying = Object.create(wrapped, {
      settleMany: { value: (request: SettleManyRequest) => (batches++, (wrapped.settleMany as NonNullable<HaldirBackend['settleMany']>)(request)) },
    }) as HaldirBackend
    const around = await setUp(wrapped, spying)
    for (const hold of around.holds) around.queue.push(around.request(hold.id), 50_000)
    expect(batches).toBe(1)
    around.queue.carry()
    expect([batches, around.queue.slackMicros]).toEqual([1, 150_000])
    await around.queue.flush()
    expect([batches, around.queue.slackMicros]).toEqual([1, 0])
    expect(await around.haldir.getSpend(around.session.id)).toMatchObject({ totalUsd: 0.15, reservedUsd: 0 })
  })

  it("a governed call's gate carries the full batch the calls before it left, in a loop that never yields", async () => {
    const backend = memoryBackend()
    const haldir = createHaldir({ backend, settle: 'deferred' })
    const other = createHaldir({ backend, settle: 'inline' })
    const session = await haldir.createSession({ agentId: 'a', scopes: ['read'], spendLimit: null })
    const search = withHaldir(async (query: string) => query, { haldir, sessionId: session.id, scope: 'read', tool: 'search', cost: 0.001 })
    // Each call awaits only promises already settled, and so does each reading: no timer runs between them.
    const readings: unknown[] = []
    const read = () => other.getSpend(session.id).then(({ totalUsd, reservedUsd }) => ({ totalUsd, reservedUsd }))
    for (let call = 1; call <= 201; call++) {
      await search('x')
      if (call === 200) readings.push(await read())
    }
    readings.push(await read())
    // After 200 calls the batch waits for the next gate; that gate settled it before its own call.
    expect(readings).toEqual([
      { totalUsd: 0, reservedUsd: 0.2 },
      { totalUsd: 0.2, reservedUsd: 0.001 },
    ])
    await haldir.close()
    expect(await other.getSpend(session.id)).toMatchObject({ totalUsd: 0.201, reservedUsd: 0 })
  })

  it('settle the long way what the store could not decide within the call: its tenant config changed meanwhile', async () => {
    // Two engines over one store: the second changes the tenant's config behind the first's back.
    const store = memoryStore({ cacheSize: 1000, maxTenantBytes: 1_000_000 })
    const keys = resolveKeys({ durable: false, backendName: 'memory' })
    const first = createStatefulBackend({ store, keys })
    const second = createStatefulBackend({ store, keys })
    const haldir = createHaldir({ backend: first, settle: 'inline' })
    const session = await haldir.createSession({ agentId: 'a', scopes: ['read'], spendLimit: 1 })
    const holds = await Promise.all([1, 2].map(() => haldir.reserve(session.id, 0.1, { tool: 'search' })))
    await second.putSecret({ tenant: 'default', name: 'api-key', value: 'changed', scopeRequired: null })
    const settles = holds.map((hold, index) => ({ sessionId: session.id, holdId: hold.id, amountMicros: 40_000 - index * 10_000, outcome: 'ok' as const, action: 'execute', flagged: false, reason: null, details: {} }))
    // Within the call: neither can be decided on the stale config, and nothing is applied.
    expect(settlesNowOf(first)?.({ tenant: 'default', settles })).toEqual([undefined, undefined])
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0, reservedUsd: 0.2 })
    const { results } = await (first.settleMany as NonNullable<HaldirBackend['settleMany']>)({ tenant: 'default', settles })
    expect(results.map((result) => (result.ok ? result.chargedMicros : result.error.code))).toEqual([40_000, 30_000])
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0.07, reservedUsd: 0 })
  })

  it('refuses an unknown settle mode or a handler that is not a function', () => {
    expect(() => createHaldir({ settle: 'later' as never })).toThrow(ValidationError)
    expect(() => createHaldir({ onSettleError: 'log' as never })).toThrow(/onSettleError/)
  })
})

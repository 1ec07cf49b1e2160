import { BackendError, BudgetExceededError, createHaldir, type Haldir, ValidationError, withHaldir } from '@haldir/core'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { type PostgresBackendOptions, postgresBackend } from './postgres-backend.ts'
import { databaseUnavailable, dropSchema, testDatabaseUrl, testMasterKey, testSchema } from './testing/test-database.ts'

const unavailable = await databaseUnavailable()
const suite = unavailable ? describe.skip : describe

/** A pool that records every message its connections send. */
function recordingPool(max = 8) {
  const sent: string[] = []
  const pool = new pg.Pool({ connectionString: testDatabaseUrl, max })
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown
    client.query = ((...args: unknown[]) => {
      if (typeof args[0] === 'string') sent.push(args[0])
      return query(...args)
    }) as typeof client.query
  })
  return { pool, sent, commits: () => sent.filter((text) => /(^|;\n)commit$/.test(text)).length }
}

/** A group's locked load: the chains of more than one session in one statement. */
const isGroupLoad = (text: string) => /_chains\('[^']*', array\['[^']*',/.test(text)

/** A transaction decided on known rows: `begin`, the guards, the writes and `commit` in one message. */
const isOneMessageCommit = (text: string) => text.startsWith('begin') && text.includes('_guard_sessions(') && text.endsWith('commit')

suite(`postgres group commit${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  const schema = testSchema()
  const pools: pg.Pool[] = []
  const closers: (() => Promise<void>)[] = []
  afterAll(async () => {
    for (const close of closers) await close()
    for (const pool of pools) await pool.end()
    await dropSchema(schema)
  })

  function backendOn(options: Partial<PostgresBackendOptions> & { pool?: pg.Pool }) {
    const backend = postgresBackend({ masterKey: testMasterKey, schema, ...(options.pool ? {} : { connectionString: testDatabaseUrl }), ...options })
    closers.push(() => backend.close())
    return backend
  }

  async function governedCalls(haldir: Haldir, sessions: number, cost: number, parentId: string | null = null) {
    const calls = await Promise.all(
      Array.from({ length: sessions }, async (_, index) => {
        const session = await haldir.createSession({ agentId: `agent-${index}`, scopes: ['search'], spendLimit: 100, parentId })
        return { session, call: withHaldir(async () => 'ok', { haldir, sessionId: session.id, scope: 'search', tool: 'search', cost }) }
      }),
    )
    return calls
  }

  it('runs concurrent calls as a few transactions: one commit serves a group', async () => {
    const counts: Record<string, number> = {}
    for (const group of [false, { inFlight: 1 }] as const) {
      const recording = recordingPool()
      pools.push(recording.pool)
      const haldir = createHaldir({ backend: backendOn({ pool: recording.pool, group }), tenant: `commits-${group === false ? 'alone' : 'grouped'}`, settle: 'inline' })
      const calls = await governedCalls(haldir, 60, 0.01)
      const before = recording.commits()
      await Promise.all(calls.map(({ call }) => call()))
      counts[group === false ? 'alone' : 'grouped'] = recording.commits() - before
      for (const { session } of calls) expect((await haldir.getSpend(session.id)).totalUsd).toBeCloseTo(0.01, 10)
    }
    // 60 gates and 60 settles: a transaction each alone; grouped, a handful.
    expect(counts.alone).toBeGreaterThanOrEqual(120)
    expect(counts.grouped).toBeLessThanOrEqual(12)
  })

  it('decides a group in turn: 100 concurrent $0.10 calls on one $3.00 session pass exactly 30, and the trail verifies', async () => {
    const recording = recordingPool()
    pools.push(recording.pool)
    const haldir = createHaldir({ backend: backendOn({ pool: recording.pool, group: { inFlight: 1, maxSize: 64 } }), tenant: 'one-session', settle: 'inline' })
    const session = await haldir.createSession({ agentId: 'solo', scopes: ['search'], spendLimit: 3 })
    const call = withHaldir(async () => 'ok', { haldir, sessionId: session.id, scope: 'search', tool: 'search', cost: 0.1 })
    const before = recording.commits()
    const outcomes = await Promise.allSettled(Array.from({ length: 100 }, () => call()))
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(30)
    // Decided in groups (a group the database refused would have run its members alone: ~130 commits).
    expect(recording.commits() - before).toBeLessThanOrEqual(20)
    const refused = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected')
    expect(refused.every((outcome) => BudgetExceededError.isInstance(outcome.reason))).toBe(true)
    const spend = await haldir.getSpend(session.id)
    expect(spend.totalUsd).toBeCloseTo(3, 10)
    expect(spend.reservedUsd).toBe(0)
    expect((await haldir.verifyAuditTrail(session.id)).ok).toBe(true)
  })

  it('holds a crew limit across groups of its children, and releases a lapsed hold once though every member of a group finds it', async () => {
    let clock = Date.now()
    const recording = recordingPool()
    pools.push(recording.pool)
    // Groups over the locked chain: without slices every member's call locks the crew's row (slices are tested on their own).
    const haldir = createHaldir({ backend: backendOn({ pool: recording.pool, group: { inFlight: 1 }, now: () => clock, slices: false }), tenant: 'crew', settle: 'inline' })
    const crew = await haldir.createSession({ agentId: 'crew', scopes: ['search'], spendLimit: 2 })
    const lapsing = await haldir.createSession({ agentId: 'lapsing', scopes: ['search'], spendLimit: 2, parentId: crew.id })
    await haldir.reserve(lapsing.id, 1, { holdTtl: 10 })
    clock += 60_000
    const calls = await governedCalls(haldir, 8, 0.05, crew.id)
    const [outsider] = await governedCalls(haldir, 1, 0.01)
    // The outsider's call takes the one slot, so all 80 wait and are decided as groups, the first
    // of which finds the lapsed hold in every member's load.
    const before = recording.commits()
    const first = (outsider as NonNullable<typeof outsider>).call()
    // 80 calls × $0.05 against the crew's $2.00: the lapsed $1.00 must come back exactly once for 40 to pass.
    const outcomes = await Promise.allSettled(Array.from({ length: 80 }, (_, index) => (calls[index % calls.length] as (typeof calls)[number]).call()))
    await first
    // In groups all along: a group the database refused (a hold released twice breaks the counters' check) runs its members alone.
    expect(recording.commits() - before).toBeLessThanOrEqual(30)
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(40)
    const spend = await haldir.getSpend(crew.id)
    expect(spend.totalUsd).toBeCloseTo(2, 10)
    expect(spend.reservedUsd).toBe(0)
    expect(await haldir.listHolds({ sessionId: lapsing.id })).toEqual([])
    for (const id of [crew.id, lapsing.id, ...calls.map(({ session }) => session.id)]) expect((await haldir.verifyAuditTrail(id)).ok).toBe(true)
  })

  it('settles a hold once when two settles of it arrive in one burst', async () => {
    const recording = recordingPool()
    pools.push(recording.pool)
    const backend = backendOn({ pool: recording.pool, group: { inFlight: 1 } })
    const haldir = createHaldir({ backend, tenant: 'double', settle: 'inline' })
    const calls = await governedCalls(haldir, 20, 0.01)
    const session = await haldir.createSession({ agentId: 'twice', scopes: ['search'], spendLimit: 5 })
    const hold = await haldir.reserve(session.id, 1)
    // Straight to the backend, as two servers' retries would arrive: the client's own guard is not what is tested.
    const settle = (sessionId: string, holdId: string) =>
      backend.settle({ tenant: 'double', sessionId, holdId, amountMicros: 400_000, outcome: 'ok', action: 'execute', flagged: false, reason: null, details: {} })
    const other = await haldir.createSession({ agentId: 'other', scopes: ['search'], spendLimit: 5 })
    const otherHold = await haldir.reserve(other.id, 1)
    const before = recording.commits()
    // The other settle takes the one slot; the two settles of one hold then wait together.
    const outcomes = await Promise.allSettled([settle(other.id, otherHold.id), settle(session.id, hold.id), settle(session.id, hold.id), ...calls.map(({ call }) => call())])
    expect(outcomes.filter((outcome) => outcome.status === 'rejected').length).toBeLessThanOrEqual(1)
    // Grouped throughout (a group holding both would have charged twice, or been refused by the counters' check and run alone).
    expect(recording.commits() - before).toBeLessThanOrEqual(20)
    const spend = await haldir.getSpend(session.id)
    expect(spend.totalUsd).toBeCloseTo(0.4, 10)
    expect(spend.reservedUsd).toBe(0)
    expect((await haldir.verifyAuditTrail(session.id)).ok).toBe(true)
  })

  it('groups deferred settles (the default) with the next gates, and every cent lands by flush()', async () => {
    const recording = recordingPool()
    pools.push(recording.pool)
    const haldir = createHaldir({ backend: backendOn({ pool: recording.pool }), tenant: 'deferred' })
    const calls = await governedCalls(haldir, 8, 0.03)
    const before = recording.commits()
    await Promise.all(calls.map(async ({ call }) => { for (let index = 0; index < 10; index++) await call() }))
    await haldir.flush()
    // 80 gates and 80 settles: alone, 160 commits.
    expect(recording.commits() - before).toBeLessThan(80)
    for (const { session } of calls) {
      const spend = await haldir.getSpend(session.id)
      expect(spend.totalUsd).toBeCloseTo(0.3, 10)
      expect(spend.reservedUsd).toBe(0)
      expect((await haldir.verifyAuditTrail(session.id)).ok).toBe(true)
    }
  })

  it('runs each member alone when the database refuses the group: nothing of the group is committed, the rest still pass', async () => {
    // A trigger of this test's schema refuses the entries of one tool, as a deadlock or a failing constraint would refuse a group.
    const admin = new pg.Client({ connectionString: testDatabaseUrl })
    await admin.connect()
    const recording = recordingPool()
    pools.push(recording.pool)
    const haldir = createHaldir({ backend: backendOn({ pool: recording.pool, group: { inFlight: 1 } }), tenant: 'refused', settle: 'inline' })
    await haldir.createSession({ agentId: 'warm', scopes: [], spendLimit: 1 })
    await admin.query(`create function ${schema}.refuse_tool() returns trigger language plpgsql as $$
      begin if new.tool = 'explode' then raise exception 'refused for the test'; end if; return new; end $$;
      create trigger refuse_tool before insert on ${schema}.audit_entries for each row execute function ${schema}.refuse_tool()`)
    try {
      const calls = await governedCalls(haldir, 10, 0.01)
      const exploding = await haldir.createSession({ agentId: 'exploding', scopes: ['explode'], spendLimit: 1 })
      const explode = withHaldir(async () => 'boom', { haldir, sessionId: exploding.id, scope: 'explode', tool: 'explode', cost: 0.5 })
      const [outsider] = await governedCalls(haldir, 1, 0.01)
      const before = recording.commits()
      const first = (outsider as NonNullable<typeof outsider>).call()
      const outcomes = await Promise.allSettled([explode(), ...calls.map(({ call }) => call())])
      await first
      expect(outcomes[0]?.status).toBe('rejected')
      expect(BackendError.isInstance((outcomes[0] as PromiseRejectedResult).reason)).toBe(true)
      expect(outcomes.slice(1).every((outcome) => outcome.status === 'fulfilled')).toBe(true)
      // The refused group committed nothing; its members' gates then ran alone, a commit each.
      expect(recording.commits() - before).toBeGreaterThanOrEqual(10)
      const spend = await haldir.getSpend(exploding.id)
      expect([spend.totalUsd, spend.reservedUsd]).toEqual([0, 0])
      expect((await haldir.getAuditTrail({ sessionId: exploding.id })).entries.map((entry) => entry.action)).toEqual(['session.create'])
      for (const { session } of calls) {
        expect((await haldir.getSpend(session.id)).totalUsd).toBeCloseTo(0.01, 10)
        expect((await haldir.verifyAuditTrail(session.id)).ok).toBe(true)
      }
    } finally {
      await admin.query(`drop trigger refuse_tool on ${schema}.audit_entries; drop function ${schema}.refuse_tool()`)
      await admin.end()
    }
  })

  /** A $10 crew of 16 members making $0.01 calls, on a pool that records what it sends (one operation in flight: the rest group). */
  async function recordedCrew(tenant: string) {
    const recording = recordingPool()
    pools.push(recording.pool)
    const haldir = createHaldir({ backend: backendOn({ pool: recording.pool, group: { inFlight: 1 } }), tenant, settle: 'inline' })
    const crew = await haldir.createSession({ agentId: 'crew', scopes: ['search'], spendLimit: 10 })
    return { recording, haldir, crew, calls: await governedCalls(haldir, 16, 0.01, crew.id) }
  }

  it('commits a group of known rows in one message (guards, writes, commit) and a crew shares it', async () => {
    const { recording, haldir, crew, calls } = await recordedCrew('snapshot')
    const burst = () => Promise.all(calls.map(({ call }) => call()))
    await burst()
    const before = recording.sent.length
    await burst()
    const sent = recording.sent.slice(before)
    // Groups after the first know every row: no loading round trip, the guards travel with the writes.
    const oneMessage = sent.filter(isOneMessageCommit)
    expect(oneMessage.length).toBeGreaterThan(0)
    expect(sent.filter(isGroupLoad).length).toBeLessThan(oneMessage.length)
    expect((await haldir.getSpend(crew.id)).totalUsd).toBeCloseTo(0.32, 10)
    for (const id of [crew.id, ...calls.map(({ session }) => session.id)]) expect((await haldir.verifyAuditTrail(id)).ok).toBe(true)
  })

  it("keeps a group on its one message when a member's slice does not cover its call: that member alone goes over its chain", async () => {
    const { recording, haldir, crew, calls } = await recordedCrew('short-slice')
    const last = calls[15] as (typeof calls)[number]
    // The last member's slice holds 32 calls of $0.01: a $0.50 call is more than it covers.
    const big = withHaldir(async () => 'big', { haldir, sessionId: last.session.id, scope: 'search', tool: 'search', cost: 0.5 })
    await Promise.all(calls.map(({ call }) => call()))
    const before = recording.sent.length
    const outcomes = await Promise.all([...calls.slice(0, 15).map(({ call }) => call()), big()])
    expect(outcomes).toEqual([...Array.from({ length: 15 }, () => 'ok'), 'big'])
    const sent = recording.sent.slice(before)
    // The covered calls committed on the snapshot; nothing loaded the group's chains under lock.
    expect(sent.filter(isOneMessageCommit).length).toBeGreaterThan(0)
    expect(sent.filter(isGroupLoad)).toEqual([])
    const spend = await haldir.getSpend(crew.id)
    expect([spend.totalUsd, spend.reservedUsd]).toEqual([0.16 + 0.15 + 0.5, 0])
    expect((await haldir.getSpend(last.session.id)).totalUsd).toBe(0.51)
    for (const id of [crew.id, ...calls.map(({ session }) => session.id)]) expect((await haldir.verifyAuditTrail(id)).ok).toBe(true)
  })

  it("sends a lone call its slice does not cover straight over its chain, without first locking the member's row", async () => {
    const recording = recordingPool()
    pools.push(recording.pool)
    const haldir = createHaldir({ backend: backendOn({ pool: recording.pool }), tenant: 'lone-miss', settle: 'inline' })
    const crew = await haldir.createSession({ agentId: 'crew', scopes: ['search'], spendLimit: 10 })
    const [member] = await governedCalls(haldir, 1, 0.01, crew.id)
    const { session, call } = member as NonNullable<typeof member>
    await call()
    await call()
    const before = recording.sent.length
    expect(await withHaldir(async () => 'big', { haldir, sessionId: session.id, scope: 'search', tool: 'search', cost: 0.5 })()).toBe('big')
    const sent = recording.sent.slice(before)
    // Decided on the snapshot, the miss goes over the chain: no round trip locks the member's row alone first.
    expect(sent.filter((text) => text.includes('own_row'))).toEqual([])
    expect((await haldir.getSpend(crew.id)).totalUsd).toBe(0.52)
  })

  it('decides a group again under lock when another process changed its rows: the guard fails, nothing is decided on stale rows', async () => {
    const recording = recordingPool()
    pools.push(recording.pool)
    const here = createHaldir({ backend: backendOn({ pool: recording.pool, group: { inFlight: 1 } }), tenant: 'two', settle: 'inline' })
    const elsewhere = createHaldir({ backend: backendOn({}), tenant: 'two', settle: 'inline' })
    const crew = await here.createSession({ agentId: 'crew', scopes: ['search'], spendLimit: 2 })
    const calls = await governedCalls(here, 10, 0.05, crew.id)
    const [blocker] = await governedCalls(here, 1, 0.01)
    const burst = async () => {
      // An unrelated call takes the one slot: the ten wait and are decided together.
      const first = (blocker as NonNullable<typeof blocker>).call()
      const outcomes = await Promise.allSettled(calls.map(({ call }) => call()))
      await first
      return outcomes
    }
    await burst()
    // The other process charges the crew and extends a member's trail: what this process
    // remembers of both rows is stale, and an entry sealed on the remembered head would fork the chain.
    const outsider = await elsewhere.createSession({ agentId: 'outsider', scopes: ['search'], spendLimit: 1, parentId: crew.id })
    await withHaldir(async () => 'ok', { haldir: elsewhere, sessionId: outsider.id, scope: 'search', tool: 'search', cost: 0.2 })()
    await elsewhere.logAction((calls[0] as (typeof calls)[number]).session.id, { tool: 'note' })
    const before = recording.sent.length
    const outcomes = await burst()
    expect(outcomes.every((outcome) => outcome.status === 'fulfilled')).toBe(true)
    const sent = recording.sent.slice(before)
    // Tried on the snapshot, refused by the guard, then loaded and decided under lock.
    expect(sent.some((text) => text.includes('_guard_sessions('))).toBe(true)
    expect(sent.some(isGroupLoad)).toBe(true)
    const spend = await here.getSpend(crew.id)
    expect([spend.totalUsd, spend.reservedUsd]).toEqual([1.2, 0])
    for (const id of [crew.id, outsider.id, ...calls.map(({ session }) => session.id)]) expect((await here.verifyAuditTrail(id)).ok).toBe(true)
  })

  it('prepares its statements once per connection, and recovers when someone deallocates them', async () => {
    const recording = recordingPool(1)
    pools.push(recording.pool)
    const haldir = createHaldir({ backend: backendOn({ pool: recording.pool }), tenant: 'prepared', settle: 'inline' })
    const [only] = await governedCalls(haldir, 1, 0.01)
    const { call, session } = only as NonNullable<typeof only>
    for (let index = 0; index < 5; index++) await call()
    expect(recording.sent.filter((text) => text.startsWith('prepare ')).length).toBe(1)
    expect(recording.sent.some((text) => text.includes('execute haldir_'))).toBe(true)
    // A pool reset (what `discard all` does) drops them: at most one call fails, typed, and charges nothing.
    await recording.pool.query('deallocate all')
    const results = []
    for (let index = 0; index < 5; index++) results.push(await call().then(() => 'ok', (error: unknown) => error))
    const failures = results.filter((result) => result !== 'ok')
    expect(failures.length).toBeLessThanOrEqual(1)
    for (const failure of failures) expect(BackendError.isInstance(failure)).toBe(true)
    expect(recording.sent.filter((text) => text.startsWith('prepare ')).length).toBe(2)
    expect((await haldir.getSpend(session.id)).totalUsd).toBeCloseTo(0.01 * (5 + results.length - failures.length), 10)
    expect((await haldir.verifyAuditTrail(session.id)).ok).toBe(true)
  })

  it('works on a connection where another copy of itself prepared some of its statements already', async () => {
    const first = recordingPool(1)
    pools.push(first.pool)
    const haldir = createHaldir({ backend: backendOn({ pool: first.pool }), tenant: 'copies', settle: 'inline' })
    const [one] = await governedCalls(haldir, 1, 0.01)
    await (one as NonNullable<typeof one>).call()
    const prepared = first.sent.find((text) => text.startsWith('prepare ')) as string
    // A fresh connection holding the first of those statements, as another copy of this module would leave it.
    const second = recordingPool(1)
    pools.push(second.pool)
    await second.pool.query(prepared.split(';\n')[0] as string)
    const other = createHaldir({ backend: backendOn({ pool: second.pool }), tenant: 'copies', settle: 'inline' })
    const [two] = await governedCalls(other, 1, 0.01)
    const { call, session } = two as NonNullable<typeof two>
    for (let index = 0; index < 3; index++) await call()
    expect((await other.getSpend(session.id)).totalUsd).toBeCloseTo(0.03, 10)
    expect((await other.verifyAuditTrail(session.id)).ok).toBe(true)
  })

  it('sends the same statements unprepared when told to (a pooler without session state)', async () => {
    const recording = recordingPool(2)
    pools.push(recording.pool)
    const haldir = createHaldir({ backend: backendOn({ pool: recording.pool, preparedStatements: false }), tenant: 'unprepared', settle: 'inline' })
    const calls = await governedCalls(haldir, 4, 0.02)
    await Promise.all(calls.flatMap(({ call }) => [call(), call()]))
    expect(recording.sent.some((text) => /(^|\n)(prepare|execute) /.test(text))).toBe(false)
    for (const { session } of calls) {
      expect((await haldir.getSpend(session.id)).totalUsd).toBeCloseTo(0.04, 10)
      expect((await haldir.verifyAuditTrail(session.id)).ok).toBe(true)
    }
  })

  it('refuses group settings that could stall or never group, and switches that are not booleans, before connecting', () => {
    for (const group of [{ inFlight: 0 }, { maxSize: 1.5 }, { inflight: 2 }, 'yes'] as never[]) {
      expect(() => postgresBackend({ connectionString: testDatabaseUrl, masterKey: testMasterKey, schema, group })).toThrow(ValidationError)
    }
    for (const value of ['false', 0, null] as never[]) {
      expect(() => postgresBackend({ connectionString: testDatabaseUrl, masterKey: testMasterKey, schema, preparedStatements: value })).toThrow(ValidationError)
      expect(() => postgresBackend({ connectionString: testDatabaseUrl, masterKey: testMasterKey, schema, optimistic: value })).toThrow(ValidationError)
    }
  })
})

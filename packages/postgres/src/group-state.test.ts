import type { Changes, HoldRecord, LoadedState, SessionState } from '@haldir/core/backend'
import { describe, expect, it } from 'vitest'
import { combineChanges } from './combine-changes.ts'
import { GroupState } from './group-state.ts'

const session = (id: string, ancestors: string[] = [], spent = 0, reserved = 0): SessionState =>
  ({ record: { id, revokedAt: null }, ancestors, spentMicros: spent, reservedMicros: reserved, head: { seq: 0, hash: '' }, usage: null }) as unknown as SessionState

const hold = (id: string, sessionId: string): HoldRecord => ({ id, sessionId }) as unknown as HoldRecord

const loaded = (sessions: SessionState[], extra: Partial<LoadedState> = {}): LoadedState => ({
  sessions,
  hold: null,
  closingEntry: null,
  idempotency: null,
  idempotencyHold: null,
  secret: null,
  expiredHolds: [],
  configVersion: null,
  ...extra,
})

const changes = (extra: Partial<Changes> = {}): Changes => ({
  tenant: 't',
  now: 1,
  createdSessions: [],
  counters: [],
  revocations: [],
  openedHolds: [],
  closedHolds: [],
  updatedHolds: [],
  usage: [],
  entries: [],
  idempotency: null,
  secrets: [],
  bytes: 0,
  leaves: null,
  events: [],
  ...extra,
})

describe('GroupState: each member decides on what the members before it left', () => {
  it('shows a later member the counters, head and revocation of an earlier one, on rows loaded before either', () => {
    const group = new GroupState()
    // Both members loaded the crew row as it stood before the group.
    const first = group.view(loaded([session('a', ['crew']), session('crew', [], 100, 0)])) as LoadedState
    group.apply(first, changes({ counters: [{ sessionId: 'a', spentMicros: 0, reservedMicros: 40, tool: null }, { sessionId: 'crew', spentMicros: 0, reservedMicros: 40, tool: null }], entries: [{ sessionId: 'a', seq: 1, hash: 'h1' } as never] }))
    const second = group.view(loaded([session('b', ['crew']), session('crew', [], 100, 0)])) as LoadedState
    expect(second.sessions.map((s) => [s.record.id, s.spentMicros, s.reservedMicros])).toEqual([
      ['b', 0, 0],
      ['crew', 100, 40],
    ])
    group.apply(second, changes({ counters: [{ sessionId: 'crew', spentMicros: 5, reservedMicros: -40, tool: 'x' }], revocations: [{ sessionId: 'a', revokedAt: 9 }] }))
    const third = group.view(loaded([session('a', ['crew']), session('crew', [], 100, 0)])) as LoadedState
    expect(third.sessions[0]).toMatchObject({ head: { seq: 1, hash: 'h1' }, reservedMicros: 40, record: { revokedAt: 9 } })
    expect(third.sessions[1]).toMatchObject({ spentMicros: 105, reservedMicros: 0 })
  })

  it('gives each member copies: a view keeps what it showed after later members move the rows on', () => {
    const group = new GroupState()
    const first = group.view(loaded([session('crew', [], 0, 0)])) as LoadedState
    group.apply(first, changes({ counters: [{ sessionId: 'crew', spentMicros: 1, reservedMicros: 0, tool: null }] }))
    const second = group.view(loaded([session('crew')])) as LoadedState
    group.apply(second, changes({ counters: [{ sessionId: 'crew', spentMicros: 1, reservedMicros: 0, tool: null }] }))
    // What each decided on stays as it was (the snapshot learns from it after the commit).
    expect(first.sessions[0]?.spentMicros).toBe(0)
    expect(second.sessions[0]?.spentMicros).toBe(1)
    expect((group.view(loaded([session('crew')])) as LoadedState).sessions[0]?.spentMicros).toBe(2)
  })

  it('drops an expired hold an earlier member released, and sends a member whose own hold moved to run after the group', () => {
    const group = new GroupState()
    const expired = { hold: hold('h1', 'a'), chain: [session('a', ['crew']), session('crew')] }
    const first = group.view(loaded([session('b', ['crew']), session('crew')], { expiredHolds: [expired] })) as LoadedState
    expect(first.expiredHolds).toHaveLength(1)
    group.apply(first, changes({ closedHolds: [{ holdId: 'h1', entryId: 'e', chargedMicros: 0, expired: true }] }))
    expect((group.view(loaded([session('c', ['crew']), session('crew')], { expiredHolds: [expired] })) as LoadedState).expiredHolds).toEqual([])
    expect(group.view(loaded([session('a', ['crew'])], { hold: hold('h1', 'a') }))).toBeNull()
    group.apply(first, changes({ updatedHolds: [{ holdId: 'h2' } as never] }))
    expect(group.view(loaded([session('a')], { hold: hold('h2', 'a') }))).toBeNull()
    expect(group.view(loaded([session('a')], { expiredHolds: [{ hold: hold('h2', 'a'), chain: [session('a')] }] }))).toBeNull()
  })
})

describe('combineChanges: a group written as one', () => {
  it('keeps every entry in order with its own leaf, and sums what is summed', () => {
    const one = changes({ entries: [{ id: 'e1' } as never, { id: 'e2' } as never], leaves: ['l1', 'l2'], bytes: 10, counters: [{ sessionId: 'a', spentMicros: 1, reservedMicros: 0, tool: null }] })
    const two = changes({ entries: [{ id: 'e3' } as never], leaves: ['l3'], bytes: 5, counters: [{ sessionId: 'a', spentMicros: 2, reservedMicros: 0, tool: null }], now: 7 })
    const combined = combineChanges([one, two])
    expect(combined.entries.map((entry) => entry.id)).toEqual(['e1', 'e2', 'e3'])
    expect(combined.leaves).toEqual(['l1', 'l2', 'l3'])
    expect(combined.bytes).toBe(15)
    expect(combined.now).toBe(7)
    expect(combined.counters.map((counter) => counter.spentMicros)).toEqual([1, 2])
    expect(combineChanges([one])).toBe(one)
  })

  it('refuses what would shift a leaf or merge two idempotency records', () => {
    expect(() => combineChanges([changes({ leaves: ['x'], entries: [{} as never] }), changes({ leaves: null })])).toThrow(/ledger/)
    const record = { tenant: 't', key: 'k', sessionId: 's', fingerprint: 'f', result: {} as never, createdAt: 1 }
    expect(() => combineChanges([changes({ idempotency: record }), changes({ idempotency: record })])).toThrow(/idempotency/)
    expect(() => combineChanges([])).toThrow()
  })
})

import { describe, expect, it } from 'vitest'
import type { AuditEntry } from '../audit/audit-entry.ts'
import { canonicalEntryBody } from '../audit/hash-audit-entry.ts'
import { createHaldir } from '../create-haldir.ts'
import { memoryBackend } from './memory-backend.ts'
import { createStatefulBackend } from '../engine/create-stateful-backend.ts'
import { resolveKeys } from '../internal/resolve-keys.ts'
import { memoryInternals, memoryStore } from './memory-store.ts'
import { EntryBytes } from './entry-bytes.ts'
import { SessionTrail } from './session-trail.ts'

const turn = () => new Promise((resolve) => setImmediate(resolve))

const entry = (id: string, outcome: AuditEntry['outcome'], flagged: boolean): AuditEntry => ({
  id,
  keyId: 'k',
  sessionId: 'ses_1',
  agentId: 'a',
  seq: 1,
  timestamp: '2026-01-01T00:00:00.000Z',
  tool: 'search',
  action: 'execute',
  scope: null,
  outcome,
  flagged,
  reason: null,
  costUsd: 0.1,
  details: { nested: { list: [1, 'two', null] } },
  prevHash: '0'.repeat(64),
  hash: 'f'.repeat(64),
})

describe('SessionTrail', () => {
  it('keeps a sealed entry as its body and hash, and reads it back in a fresh object each time', () => {
    const trail = new SessionTrail('a', new EntryBytes())
    const stored = entry('aud_1', 'ok', false)
    const index = trail.add(stored)
    expect(trail.storedAt(index)).toBe(stored)
    trail.sealed(index, stored, canonicalEntryBody(stored))
    const read = trail.storedAt(index)
    expect(read).toEqual(stored)
    expect(read).not.toBe(stored)
    // What a reader does to its copy is its own: the next read is as sealed.
    read.details = { changed: true }
    expect(trail.storedAt(index)).toEqual(stored)
    // A seal reported for another object at that index (stale) changes nothing.
    trail.sealed(index, entry('aud_x', 'ok', false), '{}')
    expect(trail.storedAt(index)).toEqual(stored)
  })

  it('keeps the entry itself where a seal reported no body, or a hash it cannot keep', () => {
    const trail = new SessionTrail('a', new EntryBytes())
    const unreported = entry('aud_1', 'ok', false)
    const odd = { ...entry('aud_2', 'ok', false), hash: 'short' }
    trail.sealed(trail.add(unreported), unreported, '')
    trail.sealed(trail.add(odd), odd, canonicalEntryBody(odd))
    expect(trail.storedAt(0)).toBe(unreported)
    expect(trail.storedAt(1)).toBe(odd)
  })

  it('filters by agent, outcome and flag without parsing, as the entries themselves would', () => {
    const trail = new SessionTrail('a', new EntryBytes())
    const outcomes: AuditEntry['outcome'][] = ['ok', 'denied', 'error']
    const entries = Array.from({ length: 12 }, (_, index) => entry(`aud_${index}`, outcomes[index % 3] as AuditEntry['outcome'], index % 4 === 0))
    for (const stored of entries) trail.sealed(trail.add(stored), stored, canonicalEntryBody(stored))
    for (const agentId of [null, 'a', 'b']) {
      for (const outcome of [null, ...outcomes]) {
        for (const flagged of [null, true, false]) {
          const filter = { agentId, outcome, flagged }
          const expected = entries.map((stored) => (agentId === null || stored.agentId === agentId) && (outcome === null || stored.outcome === outcome) && (flagged === null || stored.flagged === flagged))
          expect(entries.map((_, index) => trail.matches(index, filter))).toEqual(expected)
        }
      }
    }
  })

  it('reads what the tamper hook left once it reached in, and the stored entries where the tenant reads them', () => {
    const trail = new SessionTrail('a', new EntryBytes())
    const [first, second] = [entry('aud_1', 'ok', false), entry('aud_2', 'ok', false)]
    for (const stored of [first, second]) trail.sealed(trail.add(stored), stored, canonicalEntryBody(stored))
    const edited = trail.edit()
    edited.splice(0, 1)
    expect(trail.length).toBe(1)
    expect(trail.at(0).id).toBe('aud_2')
    expect(trail.find(0)).toBeNull()
    expect(trail.find(1)?.id).toBe('aud_2')
    expect(trail.storedAt(0).id).toBe('aud_1')
    trail.forget()
    expect([trail.length, trail.find(1)]).toEqual([0, null])
  })
})

describe('the memory store keeps sealed entries compact', () => {
  async function client() {
    const backend = memoryBackend()
    const haldir = createHaldir({ backend })
    const session = await haldir.createSession({ agentId: 'agent', scopes: ['read'], spendLimit: 10 })
    return { backend, haldir, session }
  }

  it('hands out copies: a caller changing what it read changes nothing stored', async () => {
    const { haldir, session } = await client()
    await haldir.logAction(session.id, { tool: 'search', details: { query: 'q' } })
    const [read] = (await haldir.getAuditTrail({ sessionId: session.id })).entries.slice(-1) as [AuditEntry]
    read.details.query = 'rewritten'
    read.costUsd = 999
    const [again] = (await haldir.getAuditTrail({ sessionId: session.id })).entries.slice(-1) as [AuditEntry]
    expect(again.details).toEqual({ query: 'q' })
    expect(await haldir.verifyAuditTrail(session.id)).toMatchObject({ ok: true })
  })

  it('reads back every value as sealed, byte for byte: the chain verifies and each entry re-serialises to its body', async () => {
    const { haldir, session } = await client()
    const details = { text: 'naïve – 日本語 \u2028 "quoted" \\ 😀', numbers: [0.1 + 0.2, 1e21, -5e-7, 2 ** 53], nested: { z: 1, a: [null, true, { b: 'c' }] }, empty: {} }
    const logged = await haldir.logAction(session.id, { tool: 'search', details, reason: 'why', costUsd: 0.000001 })
    await turn()
    const { entries } = await haldir.getAuditTrail({ sessionId: session.id })
    const read = entries.find((candidate) => candidate.id === logged.id) as AuditEntry
    expect(read).toEqual(logged)
    expect(canonicalEntryBody(read)).toBe(canonicalEntryBody(logged))
    expect(await haldir.verifyAuditTrail(session.id)).toMatchObject({ ok: true })
  })

  it("reads details back in the caller's key order, though the body it sealed sorts them", async () => {
    const { haldir, session } = await client()
    const details = { query: 'haldir', nested: { z: 1, a: [{ y: 2, x: 1 }] }, 10: 'ten', 9: 'nine' }
    const logged = await haldir.logAction(session.id, { tool: 'search', details })
    const sorted = await haldir.logAction(session.id, { tool: 'search', details: { a: 1, b: 2 } })
    await turn()
    const [first, second] = (await haldir.getAuditTrail({ sessionId: session.id })).entries.slice(-2) as [AuditEntry, AuditEntry]
    expect(JSON.stringify(first.details)).toBe(JSON.stringify(details))
    expect(first).toEqual(logged)
    expect(JSON.stringify(second.details)).toBe('{"a":1,"b":2}')
    expect(second).toEqual(sorted)
    expect(await haldir.verifyAuditTrail(session.id)).toMatchObject({ ok: true })
  })

  it('answers a repeated settle with the entry that closed the hold, long after it was kept compact', async () => {
    const { haldir, session } = await client()
    const hold = await haldir.reserve(session.id, 0.5, { tool: 'search' })
    const settled = await hold.settle(0.2)
    // Other calls and turns in between: the closing entry is stored as its body by now.
    for (let index = 0; index < 5; index++) await (await haldir.reserve(session.id, 0.01, { tool: 'search' })).settle(0.01)
    await turn()
    const again = await hold.settle(0.2)
    expect(again).toEqual(settled)
    const spend = await haldir.getSpend(session.id)
    expect([spend.totalUsd, spend.reservedUsd]).toEqual([0.25, 0])
  })

  it('pages and filters an agent\'s entries across sessions as the entries themselves would', async () => {
    const { haldir, session } = await client()
    const twin = await haldir.createSession({ agentId: 'agent', scopes: ['read'], spendLimit: 10 })
    const other = await haldir.createSession({ agentId: 'other', scopes: ['read'], spendLimit: 10 })
    // The tenant's order: each session's first entry (its creation), then the calls as made.
    const all: AuditEntry[] = []
    for (const created of [session, twin, other]) all.push((await haldir.getAuditTrail({ sessionId: created.id })).entries[0] as AuditEntry)
    for (let index = 0; index < 36; index++) {
      const target = [session, twin, other][index % 3] as typeof session
      all.push(await haldir.logAction(target.id, { tool: 'search', outcome: index % 4 === 0 ? 'error' : 'ok', flagged: index % 5 === 0 }))
    }
    await turn()
    const queries = [{ agentId: 'agent' }, { agentId: 'agent', outcome: 'error' as const }, { agentId: 'agent', flagged: true }, { agentId: 'other', flagged: false, outcome: 'ok' as const }]
    for (const query of queries) {
      const expected = all.filter((stored) => Object.entries(query).every(([key, value]) => stored[key as keyof AuditEntry] === value))
      expect(expected.length).toBeGreaterThan(3)
      const page = await haldir.getAuditTrail({ ...query, limit: 3, offset: 1 })
      expect(page.count).toBe(expected.length)
      expect(page.entries).toEqual(expected.slice(1, 4))
      expect(page.nextOffset).toBe(expected.length > 4 ? 4 : null)
    }
  })

  it('keeps reading and verifying when the sealer reports no body (the line never reuses the last one)', async () => {
    const store = memoryStore({ cacheSize: 1000, maxTenantBytes: 1_000_000 })
    const sealLater = (store.sealLater as NonNullable<typeof store.sealLater>).bind(store)
    // A sealer that seals as the engine does, and reports the body of its first seal only.
    let seals = 0
    store.sealLater = (sealing) => sealLater({ ...sealing, seal: (head, sealed, outputs) => sealing.seal(head, sealed, seals++ === 0 ? outputs : { bytes: 0, leaves: outputs.leaves }) })
    const haldir = createHaldir({ backend: createStatefulBackend({ store, keys: resolveKeys({ durable: false, backendName: 'memory' }) }) })
    const session = await haldir.createSession({ agentId: 'a', scopes: ['read'], spendLimit: 1 })
    await haldir.logAction(session.id, { tool: 'search', details: { n: 1 } })
    await haldir.logAction(session.id, { tool: 'search', details: { n: 2 } })
    const { entries } = await haldir.getAuditTrail({ sessionId: session.id })
    expect(entries.map((read) => read.details)).toEqual([expect.anything(), { n: 1 }, { n: 2 }])
    expect(await haldir.verifyAuditTrail(session.id)).toMatchObject({ ok: true, count: 3 })
  })

  it('proves inclusion of, and reads the ledger for, entries kept compact', async () => {
    const { backend, haldir, session } = await client()
    for (let index = 0; index < 10; index++) await haldir.logAction(session.id, { tool: 'search', details: { index } })
    await turn()
    const trail = (await haldir.getAuditTrail({ sessionId: session.id })).entries
    const head = await haldir.getTreeHead()
    expect(head.treeSize).toBe(trail.length)
    const proof = await haldir.getInclusionProof((trail[4] as AuditEntry).id)
    expect(proof.leafIndex).toBe(4)
    expect((await haldir.readLedger()).entries.map((leaf) => leaf.entry)).toEqual(trail)
    expect(await haldir.verifyLedger()).toMatchObject({ ok: true })
    // An entry changed where its session keeps it is found out by the ledger too.
    ;(backend[memoryInternals].entriesOf(session.id)[4] as AuditEntry).details = { index: 40 }
    expect(await haldir.verifyLedger()).toMatchObject({ ok: false })
  })
})

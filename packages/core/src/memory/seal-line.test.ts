import { describe, expect, it } from 'vitest'
import { GENESIS_HASH, type AuditEntry, type AuditHead } from '../audit/audit-entry.ts'
import { auditEvents } from '../audit/audit-events.ts'
import { prepareAuditEntry, sealAuditEntry, UNSEALED } from '../audit/hash-audit-entry.ts'
import type { AuthorizeRequest } from '../backend/haldir-backend.ts'
import { createHaldir } from '../create-haldir.ts'
import { entryLeafHash } from '../ledger/leaf-bytes.ts'
import { verifyInclusion } from '../ledger/verify-merkle.ts'
import { memoryBackend } from './memory-backend.ts'
import { memoryInternals, memoryStore } from './memory-store.ts'
import { createStatefulBackend } from '../engine/create-stateful-backend.ts'
import { resolveKeys } from '../internal/resolve-keys.ts'
import type { Haldir } from '../types.ts'
import { SEAL_LINE_LIMIT, SealLine } from './seal-line.ts'
import { EntryBytes } from './entry-bytes.ts'
import { SessionTrail } from './session-trail.ts'

const sealing = { id: 'k1', key: new Uint8Array(32).fill(7) }
const turn = () => new Promise((resolve) => setImmediate(resolve))

/** A gate's entry for `sessionId`, placed after `head` but not sealed (as the engine hands it to a store that seals later). */
function placed(sessionId: string, head: AuditHead, tool = 'search'): AuditEntry {
  const request = { tenant: 't', sessionId, tool, action: 'execute', scope: 'read', amountMicros: 10_000, details: { args: ['x'] } } as unknown as AuthorizeRequest
  const entry = prepareAuditEntry(sealing.id, head, { id: `aud_${Math.random()}`, sessionId, agentId: 'a', timestamp: new Date(0).toISOString(), ...auditEvents.reserved(request, 'hold_1') }, { bytes: 0, leaves: null })
  head.seq = entry.seq
  return entry
}

function line() {
  return new SealLine({ seal: (head, entry, outputs) => sealAuditEntry(sealing, head, entry, outputs), ledger: true })
}

describe('the seal line', () => {
  it('owes seals until the end of the turn, then seals each chain in order, linked as if sealed at once', async () => {
    const sealLine = line()
    const leaves: string[] = []
    const a: AuditHead = { seq: 0, hash: GENESIS_HASH }
    const b: AuditHead = { seq: 0, hash: GENESIS_HASH }
    // Two sessions' entries interleaved, as concurrent agents append them.
    const entries = [placed('ses_a', a), placed('ses_b', b), placed('ses_a', a), placed('ses_a', a), placed('ses_b', b)]
    const trails = { ses_a: new SessionTrail('a', new EntryBytes()), ses_b: new SessionTrail('a', new EntryBytes()) }
    for (const entry of entries) {
      const trail = trails[entry.sessionId as keyof typeof trails]
      sealLine.add(entry, entry.sessionId === 'ses_a' ? a : b, leaves, trail, trail.add(entry))
    }
    // Until sealed, a trail keeps the entry itself.
    expect(trails.ses_a.storedAt(1)).toBe(entries[2])
    expect(entries.every((entry) => entry.hash === UNSEALED && entry.prevHash === UNSEALED)).toBe(true)
    expect(sealLine.size).toBe(5)
    await turn()
    expect(sealLine.size).toBe(0)
    // Each chain links entry to entry, and the heads end where the chains end.
    const [a1, b1, a2, a3, b2] = entries as [AuditEntry, AuditEntry, AuditEntry, AuditEntry, AuditEntry]
    expect([a1.prevHash, a2.prevHash, a3.prevHash]).toEqual([GENESIS_HASH, a1.hash, a2.hash])
    expect([b1.prevHash, b2.prevHash]).toEqual([GENESIS_HASH, b1.hash])
    expect([a.hash, b.hash]).toEqual([a3.hash, b2.hash])
    // The same seal an entry would have had when decided: reseal a copy eagerly and compare.
    const copy = { ...a2, hash: UNSEALED, prevHash: UNSEALED }
    expect(sealAuditEntry(sealing, { seq: 1, hash: a1.hash }, copy).hash).toBe(a2.hash)
    // Leaves in the order applied, each the entry's own.
    expect(leaves).toEqual(entries.map(entryLeafHash))
    // Once sealed, each trail reads its entries back as sealed, in fresh objects.
    expect(trails.ses_a.entries()).toEqual([a1, a2, a3])
    expect(trails.ses_b.entries()).toEqual([b1, b2])
    expect(trails.ses_a.storedAt(1)).not.toBe(a2)
  })

  it('seals at once when it grows to its limit, whatever the turn', () => {
    const sealLine = line()
    const head: AuditHead = { seq: 0, hash: GENESIS_HASH }
    const entries: AuditEntry[] = []
    const trail = new SessionTrail('a', new EntryBytes())
    for (let index = 0; index < SEAL_LINE_LIMIT - 1; index++) {
      const entry = placed('ses_a', head)
      entries.push(entry)
      sealLine.add(entry, head, null, trail, trail.add(entry))
    }
    expect(entries.some((entry) => entry.hash !== UNSEALED)).toBe(false)
    const last = placed('ses_a', head)
    sealLine.add(last, head, null, trail, trail.add(last))
    expect(sealLine.size).toBe(0)
    expect(last.hash).toMatch(/^[0-9a-f]{64}$/)
    expect(head.hash).toBe(last.hash)
  })

  it("reports about the entry's stored size when it places it (the quota counts it before anything is written)", () => {
    for (const details of [{}, { args: ['x'] }, { args: [{ query: 'a'.repeat(5000), page: 3 }], nested: { deep: [1, 2, 3] } }]) {
      const request = { tenant: 't', sessionId: 'ses_0123456789abcdefghijklmnopqrstuv', tool: 'search', action: 'execute', scope: 'read', amountMicros: 10_000, details } as unknown as AuthorizeRequest
      const input = () => ({ id: 'aud_0123456789abcdefghijkl', sessionId: request.sessionId, agentId: 'researcher', timestamp: new Date(0).toISOString(), ...auditEvents.reserved(request, 'hold_0123456789abcdefghijkl') })
      const estimated = { bytes: 0, leaves: null }
      const exact = { bytes: 0, leaves: null }
      prepareAuditEntry(sealing.id, { seq: 0, hash: GENESIS_HASH }, input(), estimated)
      sealAuditEntry(sealing, { seq: 0, hash: GENESIS_HASH }, input(), exact)
      expect(Math.abs(estimated.bytes - exact.bytes) / exact.bytes).toBeLessThan(0.1)
    }
  })
})

describe('the memory backend seals after the gate answers', () => {
  async function gated(count: number) {
    const backend = memoryBackend()
    const haldir = createHaldir({ backend })
    const session = await haldir.createSession({ agentId: 'a', scopes: ['read'], spendLimit: 10 })
    const other = await haldir.createSession({ agentId: 'b', scopes: ['read'], spendLimit: 10 })
    // Gates of two sessions interleaved, held open: nothing has read an entry since.
    for (let index = 0; index < count; index++) {
      await haldir.gate({ sessionId: session.id, tool: 'search', scope: 'read', maxCostUsd: 0.01, details: { index } })
      await haldir.gate({ sessionId: other.id, tool: 'search', scope: 'read', maxCostUsd: 0.01, details: { index } })
    }
    return { backend, haldir, session, other }
  }

  it('every read finds every entry sealed and linked: trails, verification, the ledger and its proofs', async () => {
    const { haldir, session, other } = await gated(3)
    const trail = await haldir.getAuditTrail({ sessionId: session.id })
    expect(trail.entries.map((entry) => entry.action)).toEqual(['session.create', 'hold.open', 'hold.open', 'hold.open'])
    for (let index = 1; index < trail.entries.length; index++) expect(trail.entries[index]?.prevHash).toBe(trail.entries[index - 1]?.hash)
    expect(trail.entries.every((entry) => /^[0-9a-f]{64}$/.test(entry.hash))).toBe(true)
    expect(await haldir.verifyAuditTrail(session.id)).toEqual({ ok: true, count: 4 })
    expect(await haldir.verifyAuditTrail(other.id)).toEqual({ ok: true, count: 4 })
    const gate = trail.entries[2] as AuditEntry
    const proof = await haldir.getInclusionProof(gate.id)
    expect(proof.leafHash).toBe(entryLeafHash(gate))
    expect(verifyInclusion({ leafHash: proof.leafHash, index: proof.leafIndex, size: proof.treeSize, path: proof.auditPath, root: proof.rootHash })).toBe(true)
    expect(await haldir.verifyLedger()).toMatchObject({ ok: true })
  })

  // Whichever read comes first finds every entry sealed (each read seals what is owed on its own).
  const firstReads: [string, (haldir: Haldir, sessionId: string) => Promise<AuditEntry[]>][] = [
    ['verifyAuditTrail', async (haldir, sessionId) => (expect(await haldir.verifyAuditTrail(sessionId)).toEqual({ ok: true, count: 3 }), [])],
    ['getAuditTrail', async (haldir, sessionId) => (await haldir.getAuditTrail({ sessionId })).entries],
    ['readLedger', async (haldir) => (await haldir.readLedger()).entries.map((leaf) => leaf.entry)],
    ['verifyLedger', async (haldir) => (expect(await haldir.verifyLedger()).toMatchObject({ ok: true }), [])],
    ['getTreeHead', async (haldir) => (expect((await haldir.getTreeHead()).treeSize).toBe(6), [])],
  ]
  for (const [name, read] of firstReads) {
    it(`${name} as the first read finds them sealed`, async () => {
      const { backend, haldir, session } = await gated(2)
      const seen = await read(haldir, session.id)
      expect(seen.every((entry) => /^[0-9a-f]{64}$/.test(entry.hash))).toBe(true)
      const entries = backend[memoryInternals].entriesOf(session.id)
      expect(entries.every((entry) => /^[0-9a-f]{64}$/.test(entry.hash))).toBe(true)
      expect(await haldir.verifyAuditTrail(session.id)).toEqual({ ok: true, count: 3 })
    })
  }

  it("the gate's answer does not wait for its entry's seal; the first read does", async () => {
    const store = memoryStore({ cacheSize: 1000, maxTenantBytes: 1_000_000 })
    const sealLater = (store.sealLater as NonNullable<typeof store.sealLater>).bind(store)
    let seals = 0
    store.sealLater = (sealing) => sealLater({ ...sealing, seal: (head, entry, outputs) => (seals++, sealing.seal(head, entry, outputs)) })
    const haldir = createHaldir({ backend: createStatefulBackend({ store, keys: resolveKeys({ durable: false, backendName: 'memory' }) }) })
    const session = await haldir.createSession({ agentId: 'a', scopes: ['read'], spendLimit: 1 })
    expect(seals).toBe(1)
    await haldir.gate({ sessionId: session.id, tool: 'search', scope: 'read', maxCostUsd: 0.01 })
    await haldir.gate({ sessionId: session.id, tool: 'search', scope: 'read', maxCostUsd: 0.01 })
    expect(seals).toBe(1)
    expect(await haldir.verifyAuditTrail(session.id)).toEqual({ ok: true, count: 3 })
    expect(seals).toBe(3)
  })

  it('an answer that shows an entry shows it sealed, after the gates owed before it', async () => {
    const { haldir, session } = await gated(2)
    const payment = await haldir.authorizePayment(session.id, 0.05, { description: 'fee' })
    expect(payment.entry.hash).toMatch(/^[0-9a-f]{64}$/)
    const trail = await haldir.getAuditTrail({ sessionId: session.id })
    expect(payment.entry.prevHash).toBe(trail.entries.at(-2)?.hash)
    expect(trail.entries.at(-1)?.hash).toBe(payment.entry.hash)
  })

  it('seals by itself at the end of the turn, and a tampered entry is still found out', async () => {
    const { backend, haldir, session } = await gated(2)
    await turn()
    const entries = backend[memoryInternals].entriesOf(session.id)
    expect(entries.every((entry) => /^[0-9a-f]{64}$/.test(entry.hash))).toBe(true)
    ;(entries[1] as AuditEntry).details = { index: 99 }
    expect(await haldir.verifyAuditTrail(session.id)).toMatchObject({ ok: false, brokenAt: 2, reason: 'hash_mismatch' })
  })

  it('settles a batch in order, each on its own, and reads the config again when it changed since the gate', async () => {
    const backend = memoryBackend()
    const haldir = createHaldir({ backend, settle: 'inline' })
    const session = await haldir.createSession({ agentId: 'a', scopes: ['read'], spendLimit: 1 })
    const first = await haldir.reserve(session.id, 0.2, { tool: 'search' })
    const second = await haldir.reserve(session.id, 0.3, { tool: 'search' })
    // A secret stored meanwhile moves the tenant's config: the batch must mask it all the same.
    await haldir.storeSecret('api-key', 'sk-live-0123456789')
    const item = (holdId: string, amountMicros: number, details: Record<string, unknown> = {}) => ({ sessionId: session.id, holdId, amountMicros, outcome: 'ok' as const, action: 'execute', flagged: false, reason: null, details })
    const settleMany = backend.settleMany as NonNullable<typeof backend.settleMany>
    const { results } = await settleMany({ tenant: 'default', settles: [item(first.id, 100_000, { echoed: 'sk-live-0123456789' }), item('hold_missing', 1), item(second.id, 300_000)] })
    expect(results.map((result) => result.ok)).toEqual([true, false, true])
    expect(results[1]).toMatchObject({ ok: false, error: { code: 'not_found' } })
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0.4, reservedUsd: 0 })
    const trail = await haldir.getAuditTrail({ sessionId: session.id })
    expect(JSON.stringify(trail.entries)).not.toContain('sk-live-0123456789')
    expect(await haldir.verifyAuditTrail(session.id)).toEqual({ ok: true, count: trail.count })
  })
})

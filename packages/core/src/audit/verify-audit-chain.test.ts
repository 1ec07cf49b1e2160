import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { GENESIS_HASH, type AuditEntry, type AuditHead } from './audit-entry.ts'
import { canonicalJson } from './canonical-json.ts'
import { keyIdOf } from '../internal/key-id.ts'
import { canonicalEntryBody, hashAuditEntry, sealAuditEntry } from './hash-audit-entry.ts'
import { verifyAuditChain } from './verify-audit-chain.ts'

const key = randomBytes(32)
const sealing = { id: keyIdOf(key), key }
const ring = new Map([[sealing.id, key]])

function chain(length: number, by = sealing): { entries: AuditEntry[]; head: AuditHead } {
  let head: AuditHead = { seq: 0, hash: GENESIS_HASH }
  const entries: AuditEntry[] = []
  for (let index = 0; index < length; index++) {
    const entry = sealAuditEntry(by, head, {
      id: `aud_${index}`,
      sessionId: 'ses_1',
      agentId: 'agent',
      timestamp: new Date(1_700_000_000_000 + index).toISOString(),
      tool: 'search',
      action: 'execute',
      scope: 'browse',
      outcome: 'ok',
      flagged: false,
      reason: null,
      costUsd: 0.01,
      details: { index, nested: { b: 1, a: [1, { z: 0, y: 'x' }] } },
    })
    entries.push(entry)
    head = { seq: entry.seq, hash: entry.hash }
  }
  return { entries, head }
}

describe('verifyAuditChain', () => {
  it('accepts an intact chain, whatever the key order of stored details', () => {
    const { entries, head } = chain(5)
    const reordered = entries.map((entry) => JSON.parse(JSON.stringify({ ...entry, details: { nested: entry.details.nested, index: entry.details.index } })) as AuditEntry)
    expect(verifyAuditChain({ auditKeys: ring, sessionId: 'ses_1', entries: reordered, head })).toEqual({ ok: true, count: 5 })
  })

  it('refuses a chain verified with another key', () => {
    const { entries } = chain(2)
    const other = randomBytes(32)
    // A key under the same id (an attacker's guess) does not verify; a key under another id is unknown.
    expect(verifyAuditChain({ auditKeys: new Map([[sealing.id, other]]), sessionId: 'ses_1', entries })).toMatchObject({ ok: false, brokenAt: 1, reason: 'hash_mismatch' })
    expect(verifyAuditChain({ auditKeys: new Map([[keyIdOf(other), other]]), sessionId: 'ses_1', entries })).toMatchObject({ ok: false, brokenAt: 1, reason: 'unknown_key' })
  })

  it('verifies a chain sealed across a key rotation with both keys, and not with the new one alone', () => {
    const before = chain(2)
    const next = randomBytes(32)
    const nextSealing = { id: keyIdOf(next), key: next }
    const after = sealAuditEntry(nextSealing, before.head, { ...(JSON.parse(JSON.stringify(before.entries[0])) as AuditEntry), id: 'aud_after' })
    const entries = [...before.entries, after]
    const both = new Map([[sealing.id, key], [nextSealing.id, next]])
    expect(after.keyId).toBe(nextSealing.id)
    expect(verifyAuditChain({ auditKeys: both, sessionId: 'ses_1', entries })).toEqual({ ok: true, count: 3 })
    expect(verifyAuditChain({ auditKeys: new Map([[nextSealing.id, next]]), sessionId: 'ses_1', entries })).toMatchObject({ ok: false, brokenAt: 1, reason: 'unknown_key' })
  })

  it('verifies an entry sealed before keys had ids with any configured key, and finds an edit of it', () => {
    const { entries } = chain(1)
    const { hash: _hash, keyId: _keyId, ...legacyBody } = entries[0] as AuditEntry
    const legacy = { ...legacyBody, keyId: '', hash: hashAuditEntry(key, { ...legacyBody, keyId: '' }) }
    expect(verifyAuditChain({ auditKeys: new Map([['other', randomBytes(32)], [sealing.id, key]]), sessionId: 'ses_1', entries: [legacy] })).toEqual({ ok: true, count: 1 })
    expect(verifyAuditChain({ auditKeys: ring, sessionId: 'ses_1', entries: [{ ...legacy, costUsd: 9 }] })).toMatchObject({ ok: false, reason: 'hash_mismatch' })
  })

  it('finds an edit, a deletion, a reorder and a cut tail', () => {
    const { entries, head } = chain(5)
    const edited = entries.map((entry) => (entry.seq === 4 ? { ...entry, costUsd: 0 } : entry))
    expect(verifyAuditChain({ auditKeys: ring, sessionId: 'ses_1', entries: edited, head })).toMatchObject({ ok: false, brokenAt: 4, reason: 'hash_mismatch' })
    const deleted = entries.filter((entry) => entry.seq !== 2)
    expect(verifyAuditChain({ auditKeys: ring, sessionId: 'ses_1', entries: deleted, head })).toMatchObject({ ok: false, brokenAt: 2, reason: 'sequence_gap' })
    const swapped = [entries[0], entries[2], entries[1], entries[3], entries[4]] as AuditEntry[]
    expect(verifyAuditChain({ auditKeys: ring, sessionId: 'ses_1', entries: swapped, head })).toMatchObject({ ok: false, brokenAt: 2 })
    expect(verifyAuditChain({ auditKeys: ring, sessionId: 'ses_1', entries: entries.slice(0, 3), head })).toMatchObject({ ok: false, brokenAt: 4, reason: 'truncated' })
    const renumbered = deleted.map((entry, index) => ({ ...entry, seq: index + 1 }))
    expect(verifyAuditChain({ auditKeys: ring, sessionId: 'ses_1', entries: renumbered })).toMatchObject({ ok: false, brokenAt: 2, reason: 'broken_link' })
  })
})

describe('canonicalJson', () => {
  it('is what the entry hash covers (the fast path writes the same bytes)', () => {
    const { hash: _hash, ...body } = chain(1).entries[0] as AuditEntry
    expect(canonicalEntryBody(body)).toBe(canonicalJson(body))
    const odd = { ...body, reason: 'quote " and \\ and \u2028', scope: null, details: {} }
    expect(canonicalEntryBody(odd)).toBe(canonicalJson(odd))
  })

  it('sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 2 }], c: undefined } })).toBe('{"a":{"d":[2,{"e":2,"f":1}]},"b":1}')
  })
})

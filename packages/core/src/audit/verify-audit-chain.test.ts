import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { GENESIS_HASH, type AuditEntry, type AuditHead } from './audit-entry.ts'
import { canonicalJson } from './canonical-json.ts'
import { canonicalEntryBody, sealAuditEntry } from './hash-audit-entry.ts'
import { verifyAuditChain } from './verify-audit-chain.ts'

const key = randomBytes(32)

function chain(length: number): { entries: AuditEntry[]; head: AuditHead } {
  let head: AuditHead = { seq: 0, hash: GENESIS_HASH }
  const entries: AuditEntry[] = []
  for (let index = 0; index < length; index++) {
    const entry = sealAuditEntry(key, head, {
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
    expect(verifyAuditChain({ auditKey: key, sessionId: 'ses_1', entries: reordered, head })).toEqual({ ok: true, count: 5 })
  })

  it('refuses a chain verified with another key', () => {
    const { entries } = chain(2)
    expect(verifyAuditChain({ auditKey: randomBytes(32), sessionId: 'ses_1', entries })).toMatchObject({ ok: false, brokenAt: 1, reason: 'hash_mismatch' })
  })

  it('finds an edit, a deletion, a reorder and a cut tail', () => {
    const { entries, head } = chain(5)
    const edited = entries.map((entry) => (entry.seq === 4 ? { ...entry, costUsd: 0 } : entry))
    expect(verifyAuditChain({ auditKey: key, sessionId: 'ses_1', entries: edited, head })).toMatchObject({ ok: false, brokenAt: 4, reason: 'hash_mismatch' })
    const deleted = entries.filter((entry) => entry.seq !== 2)
    expect(verifyAuditChain({ auditKey: key, sessionId: 'ses_1', entries: deleted, head })).toMatchObject({ ok: false, brokenAt: 2, reason: 'sequence_gap' })
    const swapped = [entries[0], entries[2], entries[1], entries[3], entries[4]] as AuditEntry[]
    expect(verifyAuditChain({ auditKey: key, sessionId: 'ses_1', entries: swapped, head })).toMatchObject({ ok: false, brokenAt: 2 })
    expect(verifyAuditChain({ auditKey: key, sessionId: 'ses_1', entries: entries.slice(0, 3), head })).toMatchObject({ ok: false, brokenAt: 4, reason: 'truncated' })
    const renumbered = deleted.map((entry, index) => ({ ...entry, seq: index + 1 }))
    expect(verifyAuditChain({ auditKey: key, sessionId: 'ses_1', entries: renumbered })).toMatchObject({ ok: false, brokenAt: 2, reason: 'broken_link' })
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

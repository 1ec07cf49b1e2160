import { describe, expect, it } from 'vitest'
import type { ApprovalState, HoldClosing, HoldRecord } from '../engine/state-store.ts'
import { HoldTable } from './hold-table.ts'
import { EntryBytes } from './entry-bytes.ts'
import { SessionTrail } from './session-trail.ts'

const hold = (id: string, expiresAt = 1_000, rootId = 'ses_root'): HoldRecord => ({
  id,
  tenant: 't',
  sessionId: rootId,
  rootId,
  amountMicros: 1,
  tool: 'search',
  scope: null,
  details: {},
  createdAt: 0,
  expiresAt,
  idempotencyKey: null,
  closed: null,
  approval: null,
})
const closing: HoldClosing = { entryId: 'aud_1', chargedMicros: 1, expired: false }
const trail = new SessionTrail('a', new EntryBytes())

function closeIt(table: HoldTable, id: string): void {
  const slot = table.get(id)
  if (!slot) throw new Error(`no hold ${id}`)
  table.close(slot, closing, trail, 7)
}

describe('HoldTable', () => {
  it('never forgets an open hold, and remembers a closed one for at least half its size of holds closed after', () => {
    const table = new HoldTable(10)
    table.open(hold('long'))
    for (let index = 0; index < 100; index++) {
      table.open(hold(`h${index}`))
      closeIt(table, `h${index}`)
    }
    expect(table.get('long')?.closing).toBeNull()
    expect([...table.openSlots()].map((open) => open.hold.id)).toEqual(['long'])
    closeIt(table, 'long')
    expect([...table.openSlots()]).toEqual([])
    for (let index = 0; index < 5; index++) {
      table.open(hold(`late${index}`))
      closeIt(table, `late${index}`)
    }
    expect(table.get('long')?.closing).toBe(closing)
    expect(table.get('long')?.closedIn).toBe(trail)
    expect(table.get('long')?.closedAt).toBe(7)
    for (let index = 5; index < 30; index++) {
      table.open(hold(`late${index}`))
      closeIt(table, `late${index}`)
    }
    expect(table.get('long')).toBeUndefined()
  })

  it("finds the ended leases among a root's open holds only, however many closed ones were swept past", () => {
    const table = new HoldTable(1_000)
    for (let index = 0; index < 200; index++) table.open(hold(`h${index}`, 5_000 + index))
    table.open(hold('other-root', 10, 'ses_other'))
    for (let index = 0; index < 199; index++) closeIt(table, `h${index}`)
    expect(table.expiredUnder('ses_root', 5_198)).toEqual([])
    expect(table.expiredUnder('ses_root', 5_199).map((open) => open.id)).toEqual(['h199'])
    expect(table.expiredUnder('ses_other', 10).map((open) => open.id)).toEqual(['other-root'])
    // A lease moved earlier is found at its new time.
    const approval = { id: 'apr_1', status: 'approved' } as ApprovalState
    table.update({ holdId: 'h199', expiresAt: 50, approval })
    expect(table.get('h199')?.hold.approval).toBe(approval)
    expect(table.expiredUnder('ses_root', 50).map((open) => open.id)).toEqual(['h199'])
    closeIt(table, 'h199')
    expect(table.expiredUnder('ses_root', Number.MAX_SAFE_INTEGER)).toEqual([])
    // Closing a closed hold again changes nothing: its first closing stands, and the root counts
    // no hold twice (a hold opened after is still found when its lease ends).
    const again = table.get('h199')
    if (!again) throw new Error('no h199')
    table.close(again, { entryId: 'aud_2', chargedMicros: 0, expired: true }, new SessionTrail('b', new EntryBytes()), 9)
    expect(again.closing).toBe(closing)
    expect([again.closedIn, again.closedAt]).toEqual([trail, 7])
    table.open(hold('fresh', 60))
    expect(table.expiredUnder('ses_root', 60).map((open) => open.id)).toEqual(['fresh'])
  })

  it('keeps every open hold, in the order opened, across the rebuilds of its open map', () => {
    const table = new HoldTable(10_000)
    for (let index = 0; index < 700; index++) table.open(hold(`h${index}`))
    // 690 closings: the open map is rebuilt twice (at every 256th), with 444 and then 188 holds open.
    for (let index = 0; index < 700; index++) if (index % 70 !== 7) closeIt(table, `h${index}`)
    const open = Array.from({ length: 10 }, (_, index) => `h${index * 70 + 7}`)
    expect([...table.openSlots()].map((slot) => slot.hold.id)).toEqual(open)
    for (const id of open) expect(table.get(id)?.closing).toBeNull()
    expect(table.get('h8')?.closing).toBe(closing)
    // The map's ballast is keyed by numbers: no hold id, however it is spelled, reaches it.
    for (const id of ['0', '5', '512']) expect(table.get(id)).toBeUndefined()
    for (const id of open) closeIt(table, id)
    expect([...table.openSlots()]).toEqual([])
  })
})

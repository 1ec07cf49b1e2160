import { describe, expect, it } from 'vitest'
import { raw, sql } from './sql-text.ts'

describe('sql text', () => {
  it('escapes every interpolated value', () => {
    expect(sql`select ${"it's"}, ${42}, ${null}, ${true}, ${['a', "b'c"]}, ${{ k: "v'" }}, ${raw('haldir.sessions')}`).toBe(
      "select 'it''s', 42, null, true, array['a','b''c']::text[], '{\"k\":\"v''\"}'::jsonb, haldir.sessions",
    )
    expect(sql`${'back\\slash'}`).toBe(" E'back\\\\slash'")
  })

  it('refuses numbers that are not safe integers', () => {
    expect(() => sql`${0.5}`).toThrow(/non-integer/)
    expect(() => sql`${Number.NaN}`).toThrow(/non-integer/)
  })
})

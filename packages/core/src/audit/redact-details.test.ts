import { describe, expect, it } from 'vitest'
import { ValidationError } from '../errors/validation-error.ts'
import { fixedRedactKeys, MAX_DETAILS_BYTES, MAX_DETAILS_DEPTH, REDACTED, redactDetails } from './redact-details.ts'

const options = { keys: new Set(['password', 'api_key']), secretValues: new Set(['hunter2-secret']) }
const clean = (details: unknown) => redactDetails(details as Record<string, unknown>, options)

/** The ValidationError `run` throws, with the path it names. */
function refusal(run: () => unknown): { path: string; message: string; cause: unknown } {
  try {
    run()
  } catch (error) {
    expect(ValidationError.isInstance(error)).toBe(true)
    const issue = (error as ValidationError).issues[0] as { path: string; message: string }
    return { ...issue, cause: (error as Error).cause }
  }
  throw new Error('expected a ValidationError')
}

describe('redactDetails', () => {
  it('replaces configured keys at any depth, in any case, and known secret values inside any text', () => {
    expect(clean({ user: 'ann', Password: 'x', nested: { API_KEY: 'k', list: [{ password: 1 }] }, note: 'token hunter2-secret here' })).toEqual({
      user: 'ann',
      Password: REDACTED,
      nested: { API_KEY: REDACTED, list: [{ password: REDACTED }] },
      note: `token ${REDACTED} here`,
    })
  })

  it('gives the plain JSON a database gives back: toJSON, bigint as text, nothing undefined, null for holes and non-finite numbers', () => {
    const sparse = [1]
    sparse[2] = 3
    const details = { when: new Date(0), big: 12n, gone: undefined, fn: () => 1, nan: Number.NaN, list: [undefined, () => 2], sparse }
    expect(clean(details)).toEqual({ when: '1970-01-01T00:00:00.000Z', big: '12', nan: null, list: [null, null], sparse: [1, null, 3] })
    expect(JSON.stringify(clean(details))).toBe(JSON.stringify(JSON.parse(JSON.stringify({ ...details, big: '12' }))))
  })

  it('turns lone surrogates and NUL into U+FFFD in keys and values, and leaves pairs alone', () => {
    expect(clean({ 'k\u0000': 'a\ud800b', emoji: '🛡' })).toEqual({ 'k\uFFFD': 'a\uFFFDb', emoji: '🛡' })
  })

  it('takes the same object twice where it is not its own ancestor', () => {
    const shared = { a: 1 }
    expect(clean({ left: shared, right: [shared, shared] })).toEqual({ left: { a: 1 }, right: [{ a: 1 }, { a: 1 }] })
  })

  it('counts an array shared at every level each time it is reached: refused at the size limit, not walked 2^30 times', () => {
    let level: unknown[] = []
    for (let depth = 0; depth < 30; depth++) level = [level, level]
    const started = performance.now()
    expect(refusal(() => clean({ level })).message).toContain('larger than')
    // Unbounded, the walk would visit about a billion arrays (minutes); bounded, a few thousand.
    expect(performance.now() - started).toBeLessThan(2000)
  })

  it('never reads the value of a redacted key: its getter does not run, and cannot refuse the details', () => {
    let reads = 0
    const details = Object.defineProperty({ user: 'ann' }, 'Password', {
      enumerable: true,
      get: () => {
        reads++
        throw new Error('the vault is locked')
      },
    })
    expect(clean(details)).toEqual({ user: 'ann', Password: REDACTED })
    expect(reads).toBe(0)
  })

  it('reads each getter and calls each toJSON once for details that are valid', () => {
    let reads = 0
    let conversions = 0
    const details = { outer: Object.defineProperty({}, 'x', { enumerable: true, get: () => ++reads }), when: { toJSON: () => `converted ${++conversions}` } }
    expect(clean(details)).toEqual({ outer: { x: 1 }, when: 'converted 1' })
    expect([reads, conversions]).toEqual([1, 1])
  })

  it('reads a set of keys it was handed afresh: a key added after a first call is redacted from then on', () => {
    const keys = new Set<string>()
    const mutable = { keys, secretValues: new Set<string>() }
    expect(redactDetails({ session_cookie: 'c1' }, mutable)).toEqual({ session_cookie: 'c1' })
    keys.add('session_cookie')
    expect(redactDetails({ session_cookie: 'c2' }, mutable)).toEqual({ session_cookie: REDACTED })
  })

  it('classifies the keys of a fixed set once, and still past the number it remembers', () => {
    const fixed = { keys: fixedRedactKeys(['Password']), secretValues: new Set<string>() }
    // 5,000 keys in all, over two calls (one call's details stay under the size limit).
    for (const part of [0, 1]) {
      const many: Record<string, unknown> = {}
      for (let index = 0; index < 2500; index++) many[`k${part}_${index}`] = index
      expect(Object.keys(redactDetails(many, fixed))).toHaveLength(2500)
    }
    for (let round = 0; round < 2; round++) {
      expect(redactDetails({ PASSWORD: 'p', 'bad\u0000key': 1, plain: 'x' }, fixed)).toEqual({ PASSWORD: REDACTED, 'bad\uFFFDkey': 1, plain: 'x' })
    }
  })

  it('reports the JSON length of what it returns, as JSON.stringify counts it', () => {
    const long = `${'quote " backslash \\ tab \t '.repeat(5)}\u0001 end`
    const corpus: Record<string, unknown>[] = [
      {},
      { args: ['haldir'] },
      { durationMs: 0.012, count: -120, big: 12345678901234567890, tiny: 1e-7, nan: Number.NaN, yes: true, no: false, none: null },
      { nested: { list: [1, 'two', null, undefined, () => 3, { deep: [[], {}] }], empty: [] }, gone: undefined },
      { 'k"ey': 'va\\lue', control: '\u0000\u0001\b\f\n\r\t\u001f', emoji: '🛡 ünïcödé', lone: 'a\ud800b', [`l${'o'.repeat(70)}ng`]: long },
      { password: 'hidden', Token: { a: 1 }, note: 'token hunter2-secret here', when: new Date(0), n: 12n },
      { 'a\u0000': 1, 'a\uFFFD': 2 },
    ]
    for (const details of corpus) {
      const measure = { jsonLength: 0 }
      const out = redactDetails(details, options, measure)
      // Keys made one by normalising are not counted (-1): the caller serialises instead.
      if ('a\u0000' in details) expect(measure.jsonLength).toBe(-1)
      else expect(measure.jsonLength).toBe(JSON.stringify(out).length)
    }
  })

  it('reports its own length when a toJSON cleans other details into the same measure, and none after a second walk', () => {
    const measure = { jsonLength: 0 }
    const nested = { when: { toJSON: () => (redactDetails({ other: 'x'.repeat(100) }, options, measure), 'inner') } }
    expect(JSON.stringify(redactDetails(nested, options, measure)).length).toBe(measure.jsonLength)
    // A getter that throws once: the second walk reads it fine, and no length is reported.
    let reads = 0
    const flaky = Object.defineProperty({}, 'x', {
      enumerable: true,
      get: () => {
        if (reads++ === 0) throw new Error('once')
        redactDetails({ other: 'y' }, options, measure)
        return 1
      },
    })
    expect(redactDetails({ flaky }, options, measure)).toEqual({ flaky: { x: 1 } })
    expect(measure.jsonLength).toBe(-1)
  })

  it('reports no length (-1) for details it had to walk again to name a fault', () => {
    const measure = { jsonLength: 7 }
    expect(() => redactDetails({ big: 'y'.repeat(MAX_DETAILS_BYTES + 1) }, options, measure)).toThrow(ValidationError)
    expect(measure.jsonLength).toBe(-1)
  })

  it('refuses a cycle, naming where it closes', () => {
    const looped: Record<string, unknown> = { b: [] }
    ;(looped.b as unknown[]).push({ back: looped })
    expect(refusal(() => clean({ a: looped }))).toMatchObject({ path: 'details.a.b.0.back', message: 'must not contain a cycle' })
  })

  it(`refuses more than ${MAX_DETAILS_DEPTH} levels, naming the path`, () => {
    let deep: Record<string, unknown> = { end: true }
    for (let level = 0; level < MAX_DETAILS_DEPTH; level++) deep = { d: deep }
    const { path, message } = refusal(() => clean(deep))
    expect(message).toContain('deeper')
    expect(path).toBe(`details${'.d'.repeat(MAX_DETAILS_DEPTH)}`)
  })

  it(`refuses details of more than ${MAX_DETAILS_BYTES} bytes`, () => {
    expect(refusal(() => clean({ list: ['x'.repeat(1000)], big: 'y'.repeat(MAX_DETAILS_BYTES) }))).toMatchObject({ path: 'details.big' })
    expect(clean({ fits: 'y'.repeat(MAX_DETAILS_BYTES - 100) }).fits).toHaveLength(MAX_DETAILS_BYTES - 100)
  })

  it('refuses a toJSON or a getter that throws, with the path and the cause', () => {
    const cause = new Error('no')
    const toJsonThrows = refusal(() => clean({ list: [0, { toJSON: () => { throw cause } }] }))
    expect(toJsonThrows).toMatchObject({ path: 'details.list.1', message: 'its toJSON() threw: no', cause })
    const getter = refusal(() => clean({ outer: Object.defineProperty({}, 'x', { enumerable: true, get: () => { throw cause } }) }))
    expect(getter).toMatchObject({ path: 'details.outer.x', message: 'reading it threw: no', cause })
  })

  it('refuses details that are not a plain object', () => {
    expect(refusal(() => clean({ toJSON: () => 'text' }))).toMatchObject({ path: 'details', message: 'must be a plain object' })
  })
})

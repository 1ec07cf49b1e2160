import { ValidationError } from '@haldir/core'
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible'
import { rejectUnknownOptions } from './reject-unknown-options.ts'

/** At most `points` requests per fixed window of `durationSeconds`, per counted key. */
export interface RateLimitWindow {
  points: number
  durationSeconds: number
}

/**
 * A limit: a window counted in this process's memory, a `rate-limiter-flexible` limiter of your
 * own (`RateLimiterRedis`, `RateLimiterPostgres` … to share one count between servers), or
 * `false` for none.
 */
export type RateLimitSetting = RateLimitWindow | RateLimiterAbstract | false

export interface RateLimitOptions {
  /**
   * Requests per API key: every authenticated request counts, refused ones included.
   * @default { points: 6000, durationSeconds: 60 }
   */
  perKey?: RateLimitSetting
  /**
   * Failed authentications (a missing, malformed or unknown key) per client address. Past the
   * limit the address is refused, whatever key it sends, until its window ends: guessing stops,
   * and a 401 never tells a guess apart from a hit during the block. Counting by address, not by
   * the key presented, keeps memory bounded however many different keys a flood tries.
   * @default { points: 30, durationSeconds: 60 }
   */
  failedAuth?: RateLimitSetting
}

/** The defaults of {@link RateLimitOptions}. */
export const defaultRateLimits: Readonly<Record<keyof RateLimitOptions, RateLimitWindow>> = {
  perKey: { points: 6000, durationSeconds: 60 },
  failedAuth: { points: 30, durationSeconds: 60 },
}

/** Where a key stands in its window, after or without counting a request. */
export interface RateLimitState {
  allowed: boolean
  limit: number
  remaining: number
  used: number
  /** Milliseconds until the window (or the block) ends. */
  resetAfterMs: number
}

/** One limit as the server uses it. */
export interface RateLimit {
  /** Counts one request (or `points` of them) for `key`. Rejects only when the limiter's store fails. */
  consume(key: string, points?: number): Promise<RateLimitState>
  /** Where `key` stands without counting (`null`: nothing counted in this window). */
  peek(key: string): Promise<RateLimitState | null>
  /** The underlying limiter (a test reads a memory limiter's size through `dump()`). */
  readonly limiter: RateLimiterAbstract
}

/** The limit a setting describes, or `null` for `false`. */
export function createRateLimit(setting: RateLimitSetting | undefined, fallback: RateLimitWindow, path: string): RateLimit | null {
  if (setting === false) return null
  const limiter = setting === undefined || isWindow(setting) ? new RateLimiterMemory(checkWindow(setting ?? fallback, path)) : setting
  const state = (res: RateLimiterRes, allowed: boolean): RateLimitState => ({
    allowed,
    limit: limiter.points,
    remaining: Math.max(0, limiter.points - res.consumedPoints),
    used: res.consumedPoints,
    resetAfterMs: Math.max(0, res.msBeforeNext),
  })
  return {
    limiter,
    consume: (key, points = 1) =>
      limiter.consume(key, points).then(
        (res) => state(res, true),
        (refusal: unknown) => {
          // A RateLimiterRes is "over the limit"; anything else is the store failing.
          if (refusal instanceof RateLimiterRes) return state(refusal, false)
          throw refusal
        },
      ),
    peek: async (key) => {
      const res = await limiter.get(key)
      return res === null ? null : state(res, res.consumedPoints <= limiter.points)
    },
  }
}

function isWindow(setting: RateLimitWindow | RateLimiterAbstract): setting is RateLimitWindow {
  return !(typeof (setting as RateLimiterAbstract).consume === 'function')
}

function checkWindow(window: RateLimitWindow, path: string): { points: number; duration: number } {
  rejectUnknownOptions(window, ['points', 'durationSeconds'], path)
  const issues = []
  if (!Number.isSafeInteger(window.points) || window.points < 1) issues.push({ path: `${path}.points`, message: 'must be a whole number ≥ 1' })
  if (!Number.isSafeInteger(window.durationSeconds) || window.durationSeconds < 1) issues.push({ path: `${path}.durationSeconds`, message: 'must be a whole number of seconds ≥ 1' })
  if (issues.length > 0) throw new ValidationError({ issues })
  return { points: window.points, duration: window.durationSeconds }
}

/** `X-RateLimit-*` headers (upstream Haldir's names) for a state; with `Retry-After` when refused. */
export function rateLimitHeaders(state: RateLimitState, now = Date.now()): Record<string, string> {
  const resetAfter = Math.ceil(state.resetAfterMs / 1000)
  const headers: Record<string, string> = {
    'X-RateLimit-Limit': String(state.limit),
    'X-RateLimit-Remaining': String(state.remaining),
    'X-RateLimit-Used': String(state.used),
    'X-RateLimit-Reset': String(Math.ceil((now + state.resetAfterMs) / 1000)),
    'X-RateLimit-Reset-After': String(resetAfter),
  }
  if (!state.allowed) headers['Retry-After'] = String(Math.max(1, resetAfter))
  return headers
}

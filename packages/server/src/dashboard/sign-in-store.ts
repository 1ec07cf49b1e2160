import { randomBytes, timingSafeEqual } from 'node:crypto'
import { LRUCache } from 'lru-cache'

/** What a dashboard cookie stands for: the API key it signed in with (kept here, never in the browser) and its CSRF token. */
export interface SignIn {
  apiKey: string
  csrfToken: string
}

export interface SignInStore {
  /** Remembers `apiKey` under a fresh random cookie value; returns the value and the CSRF token. */
  create(apiKey: string): { cookie: string; csrfToken: string }
  get(cookie: string): SignIn | undefined
  delete(cookie: string): void
}

/** Whether `presented` is `expected` (constant time, so a token cannot be guessed byte by byte). */
export function sameToken(presented: string, expected: string): boolean {
  const left = Buffer.from(presented)
  const right = Buffer.from(expected)
  return left.length === right.length && timingSafeEqual(left, right)
}

/**
 * The dashboard's signed-in browsers, in this process. Bounded (the oldest sign-in goes first)
 * and time-limited, so a flood of sign-ins cannot grow memory and a forgotten tab does not stay
 * signed in for ever; a restart signs everyone out, which is the safe failure.
 */
export function signInStore(options: { ttlMs?: number; max?: number } = {}): SignInStore {
  const cache = new LRUCache<string, SignIn>({ max: options.max ?? 10_000, ttl: options.ttlMs ?? 8 * 3600_000 })
  return {
    create(apiKey) {
      const cookie = randomBytes(32).toString('base64url')
      const csrfToken = randomBytes(24).toString('base64url')
      cache.set(cookie, { apiKey, csrfToken })
      return { cookie, csrfToken }
    },
    get: (cookie) => cache.get(cookie),
    delete: (cookie) => void cache.delete(cookie),
  }
}

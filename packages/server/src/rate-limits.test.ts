import { request } from 'node:http'
import { BackendError, createHaldir, httpBackend, memoryBackend } from '@haldir/core'
import { RateLimiterMemory } from 'rate-limiter-flexible'
import { afterEach, describe, expect, it } from 'vitest'
import { apiKeyStore, createApiKey } from './api-keys.ts'
import { addressBlock } from './client-address.ts'
import { type RunningHaldirServer, type ServeHaldirOptions, serveHaldir } from './serve-haldir.ts'

const servers: RunningHaldirServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

async function start(options: Partial<ServeHaldirOptions> & { keys: string[] }) {
  const { keys, ...rest } = options
  const server = await serveHaldir({ backend: memoryBackend(), apiKeys: apiKeyStore(keys.map((key) => ({ tenant: 'acme', role: 'admin' as const, key }))), port: 0, ...rest })
  servers.push(server)
  return server
}

/** A GET from a chosen loopback address (all of 127/8 is loopback on Linux). */
function getFrom(localAddress: string, url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { localAddress, headers, agent: false }, (incoming) => {
      incoming.resume()
      incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers }))
    })
    outgoing.on('error', reject)
    outgoing.end()
  })
}

describe('rate limits', () => {
  it('meets a flood of 3,000 wrong keys with 429s after 30, and remembers one address, not 3,000 keys', async () => {
    const good = createApiKey()
    const limiter = new RateLimiterMemory({ points: 30, duration: 60 })
    const server = await start({ keys: [good], rateLimits: { failedAuth: limiter } })
    const statuses: number[] = []
    let refusal: { headers: Record<string, string>; json: unknown } | undefined
    for (let batch = 0; batch < 3_000; batch += 100) {
      const responses = await Promise.all(
        Array.from({ length: 100 }, () => fetch(`${server.url}/native/v1/sessions/ses_x`, { headers: { authorization: `Bearer ${createApiKey()}` } })),
      )
      for (const response of responses) {
        statuses.push(response.status)
        const json: unknown = await response.json()
        if (response.status === 429) refusal ??= { headers: Object.fromEntries(response.headers), json }
      }
    }
    expect(statuses.filter((status) => status === 401)).toHaveLength(30)
    expect(statuses.filter((status) => status === 429)).toHaveLength(2_970)
    expect(limiter.dump().storage.map((record) => record.key)).toEqual(['127.0.0.1'])

    const headers = refusal?.headers ?? {}
    expect(Number(headers['retry-after'])).toBeGreaterThanOrEqual(1)
    expect(headers).toMatchObject({ 'x-ratelimit-limit': '30', 'x-ratelimit-remaining': '0' })
    expect(Number(headers['x-ratelimit-reset'])).toBeGreaterThan(Date.now() / 1000)
    expect(refusal?.json).toMatchObject({ error: { code: 'rate_limit_exceeded', data: { limit: 30, resource: 'failed_auth' } } })

    // While blocked, the address gets nothing, not even for a good key: a guess that hits looks like one that missed.
    expect((await getFrom('127.0.0.1', `${server.url}/native/v1/sessions/ses_x`, { authorization: `Bearer ${good}` })).status).toBe(429)
    // Another address is not blocked.
    expect((await getFrom('127.0.0.2', `${server.url}/native/v1/sessions/ses_x`, { authorization: `Bearer ${good}` })).status).toBe(404)
    expect((await getFrom('127.0.0.2', `${server.url}/native/v1/sessions/ses_x`, { authorization: 'Bearer hld_wrong' })).status).toBe(401)
  })

  it('limits requests per key, with X-RateLimit headers on every answer, 429 and Retry-After past the limit', async () => {
    const busy = createApiKey()
    const calm = createApiKey()
    const server = await start({ keys: [busy, calm], rateLimits: { perKey: { points: 5, durationSeconds: 60 } } })
    const remaining: string[] = []
    for (let index = 0; index < 5; index++) {
      const response = await fetch(`${server.url}/native/v1/sessions?limit=1`, { headers: { authorization: `Bearer ${busy}` } })
      expect(response.status).toBe(200)
      expect(response.headers.get('x-ratelimit-limit')).toBe('5')
      remaining.push(response.headers.get('x-ratelimit-remaining') ?? '')
    }
    expect(remaining).toEqual(['4', '3', '2', '1', '0'])
    const refused = await fetch(`${server.url}/native/v1/sessions?limit=1`, { headers: { authorization: `Bearer ${busy}` } })
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(50)
    expect(await refused.json()).toMatchObject({ error: { code: 'rate_limit_exceeded', data: { limit: 5, resource: 'key' } } })

    // The client gets a typed error that keeps the code; the other key is untouched.
    const error = await createHaldir({ backend: httpBackend({ url: server.url, apiKey: busy }) })
      .getSession('ses_x')
      .catch((caught: unknown) => caught)
    expect(BackendError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ code: 'rate_limit_exceeded', status: 429 })
    expect((await fetch(`${server.url}/native/v1/sessions?limit=1`, { headers: { authorization: `Bearer ${calm}` } })).status).toBe(200)
  })

  it('shares one count between servers given one limiter (a Redis or PostgreSQL limiter works the same way)', async () => {
    const key = createApiKey()
    const shared = new RateLimiterMemory({ points: 5, duration: 60 })
    const [first, second] = [await start({ keys: [key], rateLimits: { perKey: shared } }), await start({ keys: [key], rateLimits: { perKey: shared } })]
    const statuses: number[] = []
    for (let index = 0; index < 6; index++) {
      const response = await fetch(`${(index % 2 ? first : second).url}/native/v1/sessions?limit=1`, { headers: { authorization: `Bearer ${key}` } })
      statuses.push(response.status)
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429])
  })

  it('fails closed, with a 503 that names nothing internal, when the limiter store fails', async () => {
    const key = createApiKey()
    const logged: string[] = []
    // A store that is down: the limiter rejects with an Error rather than an over-limit answer.
    const broken = new RateLimiterMemory({ points: 5, duration: 60 })
    broken.consume = () => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.7:6379'))
    const server = await start({ keys: [key], rateLimits: { perKey: broken }, log: (message) => logged.push(message) })
    const response = await fetch(`${server.url}/native/v1/sessions?limit=1`, { headers: { authorization: `Bearer ${key}` } })
    expect(response.status).toBe(503)
    const text = await response.text()
    expect(text).toContain('backend_error')
    expect(text).not.toContain('6379')
    expect(logged.join('\n')).toContain('The rate-limit store failed: connect ECONNREFUSED 10.0.0.7:6379')
  })

  it('counts failed authentications by the address a trusted proxy saw, and ignores X-Forwarded-For otherwise', async () => {
    const behindProxy = await start({ keys: [createApiKey()], trustProxyHops: 1, rateLimits: { failedAuth: { points: 2, durationSeconds: 60 } } })
    const attempt = (server: RunningHaldirServer, forwardedFor: string) =>
      fetch(`${server.url}/native/v1/sessions/ses_x`, { headers: { authorization: 'Bearer hld_wrong', 'x-forwarded-for': forwardedFor } }).then((response) => response.status)
    // The client's own entry (left) is ignored; the proxy's (rightmost) is what counts.
    expect([await attempt(behindProxy, '6.6.6.6, 9.9.9.9'), await attempt(behindProxy, '7.7.7.7, 9.9.9.9'), await attempt(behindProxy, '8.8.8.8, 9.9.9.9')]).toEqual([401, 401, 429])
    expect(await attempt(behindProxy, '9.9.9.9, 5.5.5.5')).toBe(401)

    const direct = await start({ keys: [createApiKey()], rateLimits: { failedAuth: { points: 2, durationSeconds: 60 } } })
    expect([await attempt(direct, '1.1.1.1'), await attempt(direct, '2.2.2.2'), await attempt(direct, '3.3.3.3')]).toEqual([401, 401, 429])
  })

  it('counts an IPv6 client by its /64, and an IPv4-mapped address as IPv4', () => {
    expect(addressBlock('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64')
    expect(addressBlock('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64')
    expect(addressBlock('2001:db8::1')).toBe('2001:db8:0:0::/64')
    expect(addressBlock('::1')).toBe('0:0:0:0::/64')
    expect(addressBlock('::ffff:10.1.2.3')).toBe('10.1.2.3')
    expect(addressBlock('10.1.2.3')).toBe('10.1.2.3')
  })

  it('can be switched off', async () => {
    const server = await start({ keys: [createApiKey()], rateLimits: { failedAuth: false } })
    const statuses = await Promise.all(Array.from({ length: 60 }, () => fetch(`${server.url}/native/v1/sessions/ses_x`, { headers: { authorization: 'Bearer hld_wrong' } }).then((response) => response.status)))
    expect(new Set(statuses)).toEqual(new Set([401]))
  })
})

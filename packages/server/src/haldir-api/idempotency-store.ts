import { createHash } from 'node:crypto'
import { canonicalJson, isWellFormed } from '@haldir/core/backend'
import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { LRUCache } from 'lru-cache'
import type { ServerEnv } from '../server-env.ts'
import { plainError } from './haldir-api-error.ts'

/** An answer as it is replayed: the status and the same JSON. */
export interface RecordedAnswer {
  status: number
  body: unknown
}

/** What a route answers once per key: its route, its body, how replays go. */
export type IdempotentRoute = Omit<IdempotentRequest, 'key'>

export interface IdempotentRequest {
  tenant: string
  /** Upstream's route string (`/v1/sessions`): the same key on two routes is two keys. */
  route: string
  key: string
  /** The request's body as it counts for sameness (validated, defaults filled, or as parsed). */
  body: unknown
  /**
   * `answer`: a replay gets the recorded answer. `rerun`: a replay runs again (the work is
   * idempotent itself, as a payment under the engine's key, which re-checks liveness); only the
   * body's fingerprint is kept. @default 'answer'
   */
  replay?: 'answer' | 'rerun'
  /** Which answers are recorded. @default a 2xx */
  keep?: (answer: RecordedAnswer) => boolean
}

interface Recorded {
  fingerprint: string
  /** In flight, done, or `null` once done without an answer to replay (`rerun`, or one not kept). */
  answer: Promise<RecordedAnswer> | RecordedAnswer | null
}

/**
 * The `Idempotency-Key` header of a request, trimmed; `null` without one. A key is any text, as
 * upstream's, up to 160 characters (it becomes part of the engine's own key).
 */
export function idempotencyKeyOf(header: string | undefined): string | null {
  const key = header?.trim()
  if (!key) return null
  if (key.length > 160 || !isWellFormed(key) || key.includes('\u0000')) throw plainError(400, 'Idempotency-Key must be 1 to 160 characters of well-formed text')
  return key
}

/** The fingerprint of a body: SHA-256 of its canonical JSON (keys sorted, no whitespace). */
export function bodyFingerprint(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex')
}

/**
 * `Idempotency-Key` for the Haldir API, per (tenant, route, key), taken atomically: the first
 * request claims the key before it does any work, so a concurrent request with the same key
 * waits for that answer instead of running again (upstream runs both). A key reused with another
 * body is a 422, in upstream's words. Records live 24 hours, at most `maxEntries` (the oldest go
 * first), in this process: several server processes share a key only through the engine's own
 * idempotency (payments).
 */
export function idempotencyStore(options: { maxEntries?: number; ttlMs?: number } = {}) {
  const records = new LRUCache<string, Recorded>({ max: options.maxEntries ?? 100_000, ttl: options.ttlMs ?? 24 * 3600 * 1000 })
  return {
    async run(request: IdempotentRequest, work: () => Promise<RecordedAnswer>): Promise<RecordedAnswer> {
      const id = JSON.stringify([request.tenant, request.route, request.key])
      const fingerprint = bodyFingerprint(request.body)
      const known = records.get(id)
      if (known && known.fingerprint !== fingerprint) {
        throw plainError(422, `Idempotency-Key '${request.key}' was previously used with a different request body on '${request.route}'. Use a fresh key or send the identical body.`)
      }
      if (known?.answer) return known.answer
      const keep = request.keep ?? ((answer: RecordedAnswer) => answer.status >= 200 && answer.status < 300)
      const recorded: Recorded = { fingerprint, answer: null }
      const running = work().then(
        (answer) => {
          recorded.answer = request.replay !== 'rerun' && keep(answer) ? answer : null
          // An answer that is not replayed forgets the key unless the fingerprint is what is kept.
          if (recorded.answer === null && request.replay !== 'rerun') records.delete(id)
          return answer
        },
        (error: unknown) => {
          if (request.replay === 'rerun') recorded.answer = null
          else records.delete(id)
          throw error
        },
      )
      recorded.answer = running
      records.set(id, recorded)
      return running
    },

    /** Runs `work` once per the request's `Idempotency-Key` (or every time without one) and answers with what it returned. */
    async respond(c: Context<ServerEnv>, request: IdempotentRoute, work: () => Promise<RecordedAnswer>): Promise<Response> {
      const key = idempotencyKeyOf(c.req.header('idempotency-key'))
      const answer = key ? await this.run({ ...request, key }, work) : await work()
      return c.json(answer.body as Record<string, unknown>, answer.status as ContentfulStatusCode)
    },
  }
}

export type IdempotencyStore = ReturnType<typeof idempotencyStore>

import type { ApiKeyIdentity } from './api-keys.ts'

/**
 * How far a handler read the request body: all of it, part of it (refused as too large), none,
 * or it gave up waiting (a slow client). `finishRequestBody` decides from it whether the
 * connection can be kept.
 */
export type BodyState = 'complete' | 'partial' | 'timed-out'

/** The Hono environment of the Haldir server: what middleware hands on to handlers. */
export type ServerEnv = {
  Variables: {
    identity: ApiKeyIdentity
    requestId: string
    bodyState: BodyState
    bodyBytesRead: number
  }
}

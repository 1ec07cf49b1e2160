import type { HaldirBackend } from '@haldir/core'
import type { Context } from 'hono'
import type { ApiKeyStore } from '../api-keys.ts'
import type { FailureLog } from '../failure-log.ts'
import type { KeyRegistry } from '../key-registry.ts'
import type { ServerEnv } from '../server-env.ts'
import type { HaldirApiAuth } from './haldir-api-auth.ts'
import type { IdempotencyStore } from './idempotency-store.ts'
import type { ProxyRegistry } from './proxy-registry.ts'
import type { UsageCounter } from './usage-counter.ts'
import type { WebhookRegistry } from '../webhooks/webhook-registry.ts'

/** What every area of the Haldir API is mounted with. */
export interface HaldirApiContext {
  backend: HaldirBackend
  auth: HaldirApiAuth
  /** Every key (configured and minted). */
  apiKeys: ApiKeyStore
  /** Keys minted through `POST /v1/keys` and `POST /v1/demo/key`. */
  registry: KeyRegistry
  idempotency: IdempotencyStore
  usage: UsageCounter
  /** The MCP proxy's upstreams and policies, per tenant. */
  proxies: ProxyRegistry
  failures: FailureLog
  /** The request body as JSON (size- and time-limited); an empty body is `{}`. */
  readJson(c: Context<ServerEnv>): Promise<unknown>
  /** Lets `POST /v1/keys` without a key create a tenant, given this token in `bootstrap_token`; `null`: never. */
  bootstrapToken: string | null
  /** `POST /v1/demo/key` mints a key of a fresh tenant for anyone. */
  demoKeys: boolean
  /** The server's version, for `/healthz` and `/v1`. */
  version: string
  /** The tenant's signed webhooks. */
  webhooks: WebhookRegistry
  /** Reverse proxies whose `X-Forwarded-For` is trusted for the client address (as for the rate limits). */
  trustProxyHops: number
}

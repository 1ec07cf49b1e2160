import type { Context } from 'hono'
import { readBody } from '../read-body.ts'
import type { ServerEnv } from '../server-env.ts'
import { invalidRequest } from './haldir-api-error.ts'

/**
 * The request body as JSON, size- and time-limited like every body (413, 408). Upstream answers
 * malformed JSON with an HTML page; this answers upstream's validation shape (400
 * `invalid_request` on `body`). The content type is not required (upstream's Python client sets
 * it, its JavaScript client sets it even on GETs). An empty body reads as `{}`.
 */
export async function readJson(c: Context<ServerEnv>, options: { maxBytes: number; timeoutMs: number }): Promise<unknown> {
  const bytes = await readBody(c, options)
  if (bytes.byteLength === 0) return {}
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    throw invalidRequest('body', 'malformed JSON')
  }
}

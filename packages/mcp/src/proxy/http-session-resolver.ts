import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import type { Haldir } from '@haldir/core'
import { openSession } from './open-session.ts'
import type { BoundSessionConfig, SessionConfig } from './proxy-config.ts'

/** Who an HTTP request speaks for: a credential fingerprint to pin the MCP session to, and how to open its Haldir session. */
export type HttpCaller = { fingerprint: string; open: () => Promise<string> } | { refused: string }

/** Maps an HTTP request's credentials to the Haldir session its MCP session is governed as. */
export type HttpSessionResolver = (headers: IncomingHttpHeaders) => HttpCaller

/**
 * The credential rule of the configuration's `session`: `id` / `create` (no credentials; one
 * session, or one per connection), `header` (the client names its session in a header), or
 * `apiKeys` (`Authorization: Bearer <key>`, each key bound to a session; keys compared as
 * SHA-256 digests, in constant time, every key every time).
 */
export function httpSessionResolver(haldir: Haldir, session: SessionConfig): HttpSessionResolver {
  if (session.header !== undefined) {
    const header = session.header
    return (headers) => {
      const value = headers[header]
      if (typeof value !== 'string' || value.length === 0) return { refused: `missing ${header} header (the Haldir session id)` }
      return { fingerprint: sha256(`session:${value}`).toString('hex'), open: () => openSession(haldir, { id: value }) }
    }
  }
  if (session.apiKeys !== undefined) {
    const keys = session.apiKeys.map((entry, index) => ({
      index,
      digest: Buffer.from(entry.keyHash !== undefined ? entry.keyHash.slice('sha256:'.length) : sha256(entry.key as string).toString('hex'), 'hex'),
      session: entry.session as BoundSessionConfig,
    }))
    return (headers) => {
      const match = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? '')
      if (!match) return { refused: 'missing bearer API key' }
      const digest = sha256(match[1] as string)
      let found: (typeof keys)[number] | undefined
      for (const key of keys) if (timingSafeEqual(digest, key.digest) && found === undefined) found = key
      if (!found) return { refused: 'unknown API key' }
      const bound = found
      return { fingerprint: `key:${bound.index}`, open: () => openSession(haldir, bound.session) }
    }
  }
  const bound = session as BoundSessionConfig
  return () => ({ fingerprint: 'anyone', open: () => openSession(haldir, bound) })
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}

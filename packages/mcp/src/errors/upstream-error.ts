import { HaldirError } from '@haldir/core'

const marker = 'haldir.error.upstream'
const symbol = Symbol.for(marker)

/** Why an upstream call failed: the server answered with an error, closed, or the caller cancelled. */
export type UpstreamFailure = 'error' | 'closed' | 'cancelled' | 'unavailable'

export interface UpstreamErrorOptions {
  /** The upstream MCP server, as the proxy configuration names it (absent for a bare `Client`). */
  upstream?: string
  /** The tool as the upstream knows it. */
  tool?: string
  failure: UpstreamFailure
  /** The JSON-RPC error code the upstream answered with, when it answered. */
  mcpCode?: number
  message?: string
  cause?: unknown
}

/**
 * An MCP server a governed call was forwarded to failed: it answered with a protocol error,
 * its connection closed (a crashed process), it could not be started, or the call was
 * cancelled. The hold was released (nothing charged) and the failure audited.
 */
export class UpstreamError extends HaldirError {
  private readonly [symbol] = true
  readonly upstream: string | undefined
  readonly tool: string | undefined
  readonly failure: UpstreamFailure
  readonly mcpCode: number | undefined

  constructor({ upstream, tool, failure, mcpCode, message, cause }: UpstreamErrorOptions) {
    const where = `${tool === undefined ? 'call' : `tool '${tool}'`}${upstream === undefined ? '' : ` on upstream '${upstream}'`}`
    super({ code: 'upstream_error', message: message ?? `${where} failed (${failure})`, cause, data: { upstream, tool, failure, mcpCode } })
    this.name = 'UpstreamError'
    this.upstream = upstream
    this.tool = tool
    this.failure = failure
    this.mcpCode = mcpCode
  }

  static override isInstance(error: unknown): error is UpstreamError {
    return HaldirError.hasMarker(error, marker)
  }
}

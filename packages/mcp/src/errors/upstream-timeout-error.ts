import { HaldirError } from '@haldir/core'

const marker = 'haldir.error.upstream_timeout'
const symbol = Symbol.for(marker)

/**
 * An MCP server did not answer a governed call within its timeout. The call was cancelled
 * upstream (`notifications/cancelled`), the hold released (nothing charged) and the timeout audited.
 */
export class UpstreamTimeoutError extends HaldirError {
  private readonly [symbol] = true
  readonly upstream: string | undefined
  readonly tool: string | undefined
  readonly timeoutMs: number | undefined

  constructor({ upstream, tool, timeoutMs, message, cause }: { upstream?: string; tool?: string; timeoutMs?: number; message?: string; cause?: unknown }) {
    const where = `${tool === undefined ? 'call' : `tool '${tool}'`}${upstream === undefined ? '' : ` on upstream '${upstream}'`}`
    super({ code: 'upstream_timeout', message: message ?? `${where} timed out${timeoutMs === undefined ? '' : ` after ${timeoutMs} ms`}`, cause, data: { upstream, tool, timeoutMs } })
    this.name = 'UpstreamTimeoutError'
    this.upstream = upstream
    this.tool = tool
    this.timeoutMs = timeoutMs
  }

  static override isInstance(error: unknown): error is UpstreamTimeoutError {
    return HaldirError.hasMarker(error, marker)
  }
}

import { HaldirError } from '@haldir/core'
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js'
import { UpstreamError } from './upstream-error.ts'
import { UpstreamTimeoutError } from './upstream-timeout-error.ts'

/**
 * The typed error for anything a forwarded call threw: the SDK's timeout becomes
 * {@link UpstreamTimeoutError}, a closed connection, an abort or a JSON-RPC error from the
 * server an {@link UpstreamError}; a `HaldirError` is kept as it is.
 */
export function toUpstreamError(error: unknown, where: { upstream?: string; tool?: string; timeoutMs?: number; signal?: AbortSignal }): HaldirError {
  if (HaldirError.isInstance(error)) return error
  const { upstream, tool } = where
  // The SDK reports the caller's abort as a RequestTimeout McpError: the signal tells them apart.
  if (where.signal?.aborted || (error instanceof Error && error.name === 'AbortError')) {
    return new UpstreamError({ upstream, tool, failure: 'cancelled', message: `${describe(where)} was cancelled by the caller`, cause: error })
  }
  if (error instanceof McpError) {
    if (error.code === ErrorCode.RequestTimeout) return new UpstreamTimeoutError({ upstream, tool, timeoutMs: where.timeoutMs, cause: error })
    if (error.code === ErrorCode.ConnectionClosed) {
      return new UpstreamError({ upstream, tool, failure: 'closed', mcpCode: error.code, message: `${describe(where)} failed: the upstream connection closed (${error.message})`, cause: error })
    }
    return new UpstreamError({ upstream, tool, failure: 'error', mcpCode: error.code, message: `${describe(where)} failed: ${error.message}`, cause: error })
  }
  const message = error instanceof Error ? error.message : String(error)
  return new UpstreamError({ upstream, tool, failure: 'error', message: `${describe(where)} failed: ${message}`, cause: error })
}

function describe({ upstream, tool }: { upstream?: string; tool?: string }): string {
  return `${tool === undefined ? 'call' : `tool '${tool}'`}${upstream === undefined ? '' : ` on upstream '${upstream}'`}`
}

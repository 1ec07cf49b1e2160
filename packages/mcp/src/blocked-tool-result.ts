import type { HaldirError } from '@haldir/core'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { blockedText } from './internal/blocked-text.ts'

/**
 * The MCP answer to a call Haldir refused (scope, liveness, budget, bad input, or any future
 * refusal such as a rate limit): a tool error the model reads (`isError: true`, text
 * `BLOCKED: <reason>`), so the agent loop goes on and the model can change course. The typed
 * error's code travels in `_meta.haldir.code` for clients that branch on it.
 *
 * @example
 * blockedToolResult({ error, reason: "scope 'pay' not granted (session has: read)" })
 * // { isError: true, content: [{ type: 'text', text: "BLOCKED: scope 'pay' not granted (session has: read)" }], _meta: { haldir: { code: 'permission_denied' } } }
 */
export function blockedToolResult(refusal: { error: HaldirError; reason: string }): CallToolResult {
  return { content: [{ type: 'text', text: blockedText(refusal.reason) }], isError: true, _meta: { haldir: { code: refusal.error.code } } }
}

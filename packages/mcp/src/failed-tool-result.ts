import type { HaldirError } from '@haldir/core'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'

/**
 * The MCP answer to a governed call that was let through but failed on the way (an upstream
 * that crashed, timed out, or could not be reached): a tool error with text `ERROR: <message>`
 * and the typed error's code in `_meta.haldir.code`. Nothing was charged.
 */
export function failedToolResult(error: HaldirError): CallToolResult {
  return { content: [{ type: 'text', text: `ERROR: ${error.message}` }], isError: true, _meta: { haldir: { code: error.code } } }
}

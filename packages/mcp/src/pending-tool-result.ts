import type { Approval } from '@haldir/core'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'

/**
 * A call that waits for a person, as an MCP tool result (not an error: nothing failed), in the
 * words upstream Haldir's proxy answers with (`status: approval_required`, `request_id`). Its
 * cost is held; the caller goes on with `approval_id` once a person approved it.
 */
export function pendingToolResult(approval: Approval): CallToolResult {
  const body = {
    status: 'approval_required',
    request_id: approval.id,
    reason: approval.reason,
    message: `Waiting for approval ${approval.id} until ${approval.expiresAt}; $${approval.amountUsd} is held. Call again with approval_id once it is approved.`,
  }
  return { content: [{ type: 'text', text: JSON.stringify(body) }], isError: false, _meta: { haldir: { code: 'approval_pending', approvalId: approval.id, holdId: approval.holdId, expiresAt: approval.expiresAt } } }
}

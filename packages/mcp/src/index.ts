// @haldir/mcp: governed MCP clients, and a governing MCP proxy server.
export { withHaldir, type GovernableClient, type HaldirClientOptions } from './with-haldir.ts'
export { blockedToolResult } from './blocked-tool-result.ts'
export { failedToolResult } from './failed-tool-result.ts'
export { type ArgumentCost, costFromArguments, isArgumentCost, type McpToolCost } from './mcp-tool-cost.ts'
export type { McpToolPolicyOptions } from './internal/tool-call-policy.ts'
export { UpstreamError, type UpstreamErrorOptions, type UpstreamFailure } from './errors/upstream-error.ts'
export { UpstreamTimeoutError } from './errors/upstream-timeout-error.ts'
export { toUpstreamError } from './errors/to-upstream-error.ts'

// @haldir/mcp/langchain: governed tools of @langchain/mcp-adapters.
export { withHaldir, type HaldirMcpToolsOptions } from './with-haldir.ts'

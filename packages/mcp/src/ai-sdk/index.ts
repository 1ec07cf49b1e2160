// @haldir/mcp/ai-sdk: governed tool sets of @ai-sdk/mcp.
export { withHaldir, type HaldirMcpToolSetOptions } from './with-haldir.ts'

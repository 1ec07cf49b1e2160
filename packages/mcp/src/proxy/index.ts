// @haldir/mcp/proxy: the governing MCP proxy server (Node).
export { createHaldirProxy, type HaldirProxy, type HaldirProxyOptions, type ProxyCallOptions } from './create-haldir-proxy.ts'
export { startProxy, type RunningProxy, type StartProxyOptions } from './start-proxy.ts'
export { serveProxyHttp, type RunningProxyHttp, type ServeProxyHttpOptions } from './serve-proxy-http.ts'
export { serveProxyStdio } from './serve-proxy-stdio.ts'
export { httpSessionResolver, type HttpCaller, type HttpSessionResolver } from './http-session-resolver.ts'
export { openSession } from './open-session.ts'
export { haldirFromConfig } from './haldir-from-config.ts'
export { loadProxyConfig } from './load-proxy-config.ts'
export {
  type BackendConfig,
  type BoundSessionConfig,
  parseProxyConfig,
  type ProxyConfig,
  type ProxyConfigInput,
  proxyConfigSchema,
  type SessionConfig,
  type UpstreamConfig,
} from './proxy-config.ts'
export { connectUpstream, type ConnectUpstreamOptions, type Upstream } from './connect-upstream.ts'
export { buildToolCatalog, checkPolicyKeys, NAMESPACE_SEPARATOR, type ProxiedTool, type ToolCatalogOptions } from './build-tool-catalog.ts'

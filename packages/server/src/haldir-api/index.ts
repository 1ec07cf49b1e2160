// The upstream Haldir API (`/v1/…`), as `createHaldirServer` mounts it.
export { mountHaldirApi } from './mount-haldir-api.ts'
export type { HaldirApiContext } from './haldir-api-context.ts'
export { type HaldirApiOperation, haldirApiOperations } from './haldir-api-operations.ts'
export { HaldirApiError } from './haldir-api-error.ts'
export { type KeyScope, keyScopeResources, keyScopesCover, parseKeyScopes } from './key-scopes.ts'
export type { CreateGoverningProxy, GoverningProxy, McpUpstreamAllowance, ProxyRegistry } from './proxy-registry.ts'

export { blockedToolMessage } from './blocked-tool-message.ts'
export { haldirMiddleware, type HaldirMiddlewareOptions, type SessionSource } from './haldir-middleware.ts'
export { withHaldir, type HaldirToolOptions } from './with-haldir.ts'

import { nodeTransport } from './node-transport.ts'

// `#default-transport` on Node: the keep-alive `node:http` transport (see node-transport.ts).
export { nodeTransport }
export const defaultTransport = nodeTransport

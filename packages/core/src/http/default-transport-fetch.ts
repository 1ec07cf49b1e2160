import { ValidationError } from '../errors/validation-error.ts'
import { fetchTransport, type HttpTransport } from './http-transport.ts'

// `#default-transport` everywhere but Node (Bun, Deno, edge runtimes, Workers, browsers): the
// global `fetch`, looked up at each call (a test or a platform may replace it), and no `node:http`
// in the module graph, so bundlers for the edge never meet it.

export const defaultTransport = (): HttpTransport => fetchTransport((input, init) => fetch(input, init))

/** `node:http` is not part of this runtime's build of Haldir. */
export function nodeTransport(): HttpTransport {
  throw new ValidationError({
    message: 'nodeTransport() needs node:http, which this runtime build of @haldir/core leaves out: use fetchTransport(fetch), the default of httpBackend here',
    issues: [{ path: 'transport', message: 'nodeTransport is only available on Node' }],
  })
}

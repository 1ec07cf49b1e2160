import * as selected from '#default-transport'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { ValidationError } from '../errors/validation-error.ts'
import * as fetchBuild from './default-transport-fetch.ts'
import * as nodeBuild from './default-transport-node.ts'
import { nodeTransport } from './node-transport.ts'

let server: Server
let url: string
beforeAll(async () => {
  server = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk: Buffer) => (body += chunk.toString()))
    request.on('end', () => response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ method: request.method, body, auth: request.headers.authorization })))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/x`
})
afterAll(() => new Promise((resolve) => server.close(resolve)))

describe('#default-transport', () => {
  it('is the keep-alive node:http transport on Node', () => {
    expect(selected.defaultTransport).toBe(nodeTransport)
    expect(selected.nodeTransport).toBe(nodeTransport)
  })

  it('elsewhere is the global fetch, and refuses nodeTransport with a typed error', async () => {
    const transport = fetchBuild.defaultTransport()
    const answer = await transport({ method: 'POST', url, headers: { authorization: 'Bearer hld_x', 'content-type': 'application/json' }, body: '{"a":1}', timeoutMs: 2_000 })
    expect(answer).toEqual({ status: 201, text: JSON.stringify({ method: 'POST', body: '{"a":1}', auth: 'Bearer hld_x' }) })
    expect(() => fetchBuild.nodeTransport()).toThrow(ValidationError)
    expect(() => fetchBuild.nodeTransport()).toThrow(/use fetchTransport/)
  })

  it('has the same exports in both builds', () => {
    expectTypeOf(fetchBuild).toEqualTypeOf(nodeBuild)
  })
})

import { connect, type Socket } from 'node:net'
import { memoryBackend } from '@haldir/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiKeyStore, createApiKey } from './api-keys.ts'
import { type RunningHaldirServer, serveHaldir } from './serve-haldir.ts'

const key = createApiKey()
let running: RunningHaldirServer

beforeAll(async () => {
  running = await serveHaldir({
    backend: memoryBackend(),
    apiKeys: apiKeyStore([{ tenant: 'acme', role: 'admin', key }]),
    port: 0,
    headersTimeoutMs: 300,
    requestTimeoutMs: 1_500,
    bodyTimeoutMs: 400,
    keepAliveTimeoutMs: 300,
  })
})
afterAll(() => running.close())

/** A client on a raw socket: what it received, and when the server closed the connection. */
function rawClient() {
  const socket: Socket = connect(running.port, '127.0.0.1')
  const opened = Date.now()
  let received = ''
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')))
  socket.on('error', () => {})
  const closed = new Promise<{ received: string; afterMs: number }>((resolve) => socket.once('close', () => resolve({ received, afterMs: Date.now() - opened })))
  return { socket, closed, received: () => received }
}

/** Writes `text` one piece every `everyMs`, until the socket closes or the pieces run out. */
async function trickle(socket: Socket, pieces: string[], everyMs: number) {
  for (const piece of pieces) {
    if (socket.destroyed || socket.writableEnded) return
    socket.write(piece)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

describe('timeouts against slow clients (raw sockets)', () => {
  it('cuts a client that trickles its headers (slowloris) after the headers timeout', async () => {
    const client = rawClient()
    const headers = ['GET /healthz HTTP/1.1\r\nHost: x\r\n', ...Array.from({ length: 60 }, (_, index) => `X-Slow-${index}: y\r\n`)]
    void trickle(client.socket, headers, 50)
    const { received, afterMs } = await client.closed
    expect(received).toMatch(/^HTTP\/1\.1 408 /)
    expect(afterMs).toBeLessThan(1_500)
  })

  it('answers a body that stalls with 408 request_timeout and closes the connection', async () => {
    const client = rawClient()
    client.socket.write(`POST /native/v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"agentId":`)
    const { received, afterMs } = await client.closed
    expect(received).toMatch(/^HTTP\/1\.1 408 /)
    expect(received).toMatch(/\r\nconnection: close\r\n/i)
    expect(received).toContain('"code":"request_timeout"')
    expect(afterMs).toBeGreaterThanOrEqual(350)
    expect(afterMs).toBeLessThan(1_400)
  })

  it('bounds the whole body, not the silence between bytes: a byte every 50 ms still gets 408', async () => {
    const client = rawClient()
    client.socket.write(`POST /native/v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n`)
    void trickle(client.socket, Array.from({ length: 200 }, () => ' '), 50)
    const { received, afterMs } = await client.closed
    expect(received).toContain('"code":"request_timeout"')
    expect(afterMs).toBeLessThan(1_400)
  })

  it('closes an idle keep-alive connection after the keep-alive timeout', async () => {
    const client = rawClient()
    client.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
    const { received, afterMs } = await client.closed
    expect(received).toMatch(/^HTTP\/1\.1 200 /)
    expect(afterMs).toBeGreaterThanOrEqual(250)
    // Node 24 adds a one-second buffer (keepAliveTimeoutBuffer) to the socket's idle timeout.
    expect(afterMs).toBeLessThan(2_500)
  })

  it('refuses timeouts that cannot work', async () => {
    const options = { backend: memoryBackend(), apiKeys: apiKeyStore([{ tenant: 'acme', role: 'admin' as const, key }]), port: 0 }
    await expect(serveHaldir({ ...options, headersTimeoutMs: 5_000, requestTimeoutMs: 1_000 })).rejects.toThrow(/headersTimeoutMs: must not exceed requestTimeoutMs/)
    await expect(serveHaldir({ ...options, bodyTimeoutMs: 5_000, keepAliveTimeoutMs: -1 })).rejects.toThrow(/keepAliveTimeoutMs/)
  })
})

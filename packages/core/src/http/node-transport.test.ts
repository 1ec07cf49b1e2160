import { createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { nodeTransport } from './node-transport.ts'

/**
 * A bare HTTP/1.1 server on a raw socket, so a test can close a keep-alive connection exactly
 * where a real server (or its idle timeout) might: `onSecond` decides what happens to the
 * second request of each connection.
 */
function rawServer(onSecond: 'answer' | 'close-unread' | 'answer-partly-then-close') {
  const processed: string[] = []
  let connections = 0
  const server: Server = createServer((socket: Socket) => {
    connections++
    sockets.push(socket)
    let buffered = ''
    let requests = 0
    socket.on('data', (chunk: Buffer) => {
      if (requests === 1 && onSecond === 'close-unread') {
        // The connection is closed as the next request arrives, before it is read.
        socket.destroy()
        return
      }
      buffered += chunk.toString('latin1')
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n')
        if (end < 0) return
        const head = buffered.slice(0, end)
        const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0)
        if (buffered.length < end + 4 + length) return
        const body = buffered.slice(end + 4, end + 4 + length)
        buffered = buffered.slice(end + 4 + length)
        processed.push(`${head.split(' ', 2).join(' ')} ${body}`)
        requests++
        if (requests === 2 && onSecond === 'answer-partly-then-close') {
          socket.write('HTTP/1.1 200 OK\r\n')
          socket.destroy()
          return
        }
        const answer = JSON.stringify({ processed: processed.length })
        socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${answer.length}\r\nconnection: keep-alive\r\n\r\n${answer}`)
      }
    })
    socket.on('error', () => {})
  })
  servers.push(server)
  return new Promise<{ url: string; processed: string[]; connections: () => number }>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, processed, connections: () => connections })),
  )
}

const servers: Server[] = []
const sockets: Socket[] = []
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy()
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))
})

const post = (url: string, body: string) => ({ method: 'POST', url: `${url}/v1/sessions/ses_1/audit`, headers: { 'content-type': 'application/json' }, body, timeoutMs: 2_000 })

describe('nodeTransport on a keep-alive socket the server closed', () => {
  it('sends a request the server never read once more, on a fresh socket, even a POST', async () => {
    const server = await rawServer('close-unread')
    const transport = nodeTransport()
    expect(await transport(post(server.url, '{"n":1}'))).toMatchObject({ status: 200 })
    const second = await transport(post(server.url, '{"n":2}'))
    expect(second).toEqual({ status: 200, text: '{"processed":2}' })
    // Processed once each; the retry came on a second connection.
    expect(server.processed).toEqual(['POST /v1/sessions/ses_1/audit {"n":1}', 'POST /v1/sessions/ses_1/audit {"n":2}'])
    expect(server.connections()).toBe(2)
  })

  it('never repeats a request the server read and began to answer', async () => {
    const server = await rawServer('answer-partly-then-close')
    const transport = nodeTransport()
    await transport(post(server.url, '{"n":1}'))
    await expect(transport(post(server.url, '{"n":2}'))).rejects.toThrow()
    expect(server.processed).toHaveLength(2)
    expect(server.connections()).toBe(1)
  })

  it('keeps reusing one socket while the server keeps it open', async () => {
    const server = await rawServer('answer')
    const transport = nodeTransport()
    for (let n = 1; n <= 5; n++) expect(await transport(post(server.url, `{"n":${n}}`))).toMatchObject({ status: 200 })
    expect(server.connections()).toBe(1)
  })
})

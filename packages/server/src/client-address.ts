import type { IncomingMessage } from 'node:http'
import { isIPv4, isIPv6 } from 'node:net'
import type { Context } from 'hono'

/**
 * The address failed authentications are counted by: the peer of the TCP connection or, behind
 * `trustProxyHops` reverse proxies, the address the outermost of them saw (read from the right
 * of `X-Forwarded-For`, so a client cannot choose it). IPv6 addresses count per /64, the block
 * one host usually owns, so rotating through it gains nothing. `unknown` when the runtime does
 * not say (not `@hono/node-server`): all such clients then share one count.
 */
export function clientAddress(c: Context, trustProxyHops = 0): string {
  const peer = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket?.remoteAddress
  let address = peer
  if (trustProxyHops > 0) {
    const forwarded = (c.req.header('x-forwarded-for') ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean)
    const seen = forwarded[forwarded.length - trustProxyHops]
    if (seen !== undefined) address = seen
  }
  return address === undefined ? 'unknown' : addressBlock(address)
}

/** `1.2.3.4` as is (also written `::ffff:1.2.3.4`); an IPv6 address as its /64. */
export function addressBlock(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped) return mapped[1] as string
  if (isIPv4(address)) return address
  if (!isIPv6(address)) return `invalid:${address.slice(0, 64)}`
  const [head = '', tail] = address.split('::') as [string, string | undefined]
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
  return `${groups
    .slice(0, 4)
    .map((group) => Number.parseInt(group, 16).toString(16))
    .join(':')}::/64`
}

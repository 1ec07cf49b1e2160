import { lookup } from 'node:dns/promises'
import { BlockList, isIP } from 'node:net'
import { ValidationError } from '@haldir/core'

/** Where a delivery goes: the URL, and the address it was checked at (the request connects there and nowhere else). */
export interface WebhookTarget {
  url: URL
  address: string
  family: 4 | 6
}

// Addresses that are not the public internet: loopback, private, shared, link-local (cloud
// metadata lives at 169.254.169.254), multicast, reserved and documentation ranges.
const notPublic = new BlockList()
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  notPublic.addSubnet(network, prefix, 'ipv4')
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  notPublic.addSubnet(network, prefix, 'ipv6')
}

/**
 * Whether an address is on the public internet. An IPv6 address that embeds an IPv4 one
 * (`::ffff:10.0.0.1`, `::10.0.0.1`, NAT64 `64:ff9b::10.0.0.1`) is judged by the IPv4 address,
 * so a private address cannot be reached dressed as IPv6.
 */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address)
  if (family === 4) return !notPublic.check(address, 'ipv4')
  if (family !== 6) return false
  const embedded = embeddedIpv4(address)
  if (embedded !== null) return isPublicAddress(embedded)
  return !notPublic.check(address, 'ipv6')
}

function embeddedIpv4(address: string): string | null {
  const lower = address.toLowerCase()
  const dotted = /^(?:::ffff:|::|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower)
  if (dotted?.[1]) return dotted[1]
  const hex = /^(?:::ffff:|::|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower)
  if (hex?.[1] && hex[2]) {
    const high = Number.parseInt(hex[1], 16)
    const low = Number.parseInt(hex[2], 16)
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`
  }
  return null
}

/**
 * Checks a webhook URL and resolves where to send it: `http:` or `https:` only, no credentials in
 * it, and **every** address its host resolves to public (a name with one private address among
 * public ones is refused, or DNS could pick the private one later), unless `allowPrivate`. The
 * check is on the resolved address, and the delivery connects to the address checked here, so a
 * name that resolves elsewhere a moment later (DNS rebinding) is not followed.
 * Throws a `ValidationError` on `url`.
 */
export async function resolveWebhookTarget(raw: string, options: { allowPrivate: boolean }): Promise<WebhookTarget> {
  const refuse = (message: string, cause?: unknown) => new ValidationError({ message: `Webhook url refused: ${message}`, issues: [{ path: 'url', message }], cause })
  let url: URL
  try {
    url = new URL(raw)
  } catch (error) {
    throw refuse('not a valid absolute URL', error)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse('must be http: or https:')
  if (url.username || url.password) throw refuse('must not carry credentials')
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  let addresses: { address: string; family: number }[]
  if (isIP(host)) addresses = [{ address: host, family: isIP(host) }]
  else {
    try {
      addresses = await lookup(host, { all: true, verbatim: true })
    } catch (error) {
      throw refuse(`the host ${host.slice(0, 100)} does not resolve`, error)
    }
  }
  const first = addresses[0]
  if (!first) throw refuse(`the host ${host.slice(0, 100)} does not resolve`)
  if (!options.allowPrivate) {
    const blocked = addresses.find((candidate) => !isPublicAddress(candidate.address))
    if (blocked) throw refuse(`${host.slice(0, 100)} resolves to ${blocked.address}, which is not a public address`)
  }
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 }
}

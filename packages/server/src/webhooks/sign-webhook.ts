import { createHmac } from 'node:crypto'

/**
 * Upstream Haldir's webhook signature (`HALDIR-API.md` §14.3), which its
 * `verify_webhook_signature` accepts: `sha256=` and the lowercase hex HMAC-SHA256, keyed by the
 * secret's UTF-8 bytes, of `"<timestamp>."` followed by the raw body bytes. The timestamp is the
 * `X-Haldir-Timestamp` header (whole epoch seconds), fresh on every attempt, so a receiver's
 * 300-second window also bounds replays.
 */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`
}

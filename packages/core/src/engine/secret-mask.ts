import { REDACTED } from '../audit/redact-details.ts'

// Shorter values would blank out ordinary words; the vault refuses to store them (see MIN_SECRET_LENGTH).
const MIN_MASKED_LENGTH = 4

/** Replaces every value of a tenant's vault wherever it occurs in text, keys and nested details. */
export interface SecretMask {
  text(text: string): string
  details(details: Record<string, unknown>): Record<string, unknown>
}

/**
 * A mask for these secret values, or `null` when there is nothing to mask. Longer values are
 * replaced first, so a secret that contains another is masked whole.
 */
export function createSecretMask(values: Iterable<string>): SecretMask | null {
  const secrets = [...new Set(values)].filter((value) => value.length >= MIN_MASKED_LENGTH).sort((a, b) => b.length - a.length)
  if (secrets.length === 0) return null
  const text = (input: string): string => {
    let out = input
    for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED)
    return out
  }
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return text(value)
    if (value === null || typeof value !== 'object') return value
    if (Array.isArray(value)) return value.map(walk)
    const out: Record<string, unknown> = {}
    for (const [key, member] of Object.entries(value)) out[text(key)] = walk(member)
    return out
  }
  return { text, details: (details) => walk(details) as Record<string, unknown> }
}

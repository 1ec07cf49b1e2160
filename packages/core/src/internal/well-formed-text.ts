// In a `u` regex a lone surrogate is a code point of its own (category Cs); a valid pair is not.
const LONE_SURROGATE = /\p{Cs}/u
const UNSTORABLE = /\p{Cs}|\u0000/gu

/** Whether every UTF-16 surrogate in `text` is paired (the string encodes to UTF-8 and back unchanged). */
export function isWellFormed(text: string): boolean {
  return !LONE_SURROGATE.test(text)
}

/**
 * Free text as every store keeps it byte for byte: lone surrogates (which UTF-8 cannot carry) and
 * NUL (which PostgreSQL text and JSON cannot hold) become U+FFFD. Applied before an entry is
 * sealed, so what is hashed is what is stored, in every backend.
 */
export function normalizeText(text: string): string {
  UNSTORABLE.lastIndex = 0
  return UNSTORABLE.test(text) ? text.replace(UNSTORABLE, '\uFFFD') : text
}

// Quotes, backslashes, control characters and surrogates (paired or lone) need JSON escaping;
// strings without any, most ids, names and timestamps, are quoted as they are.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/

/**
 * A string as a JSON string literal: exactly `JSON.stringify(text)`, about twice as fast for the
 * plain strings an audit entry is mostly made of (a test holds the two equal).
 */
export function jsonString(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`
}

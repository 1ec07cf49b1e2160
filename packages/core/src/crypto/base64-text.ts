/**
 * Standard or URL-safe base64, with or without its padding. Both crypto modules check text
 * against it before decoding, so every runtime reads the same bytes from the same text (Node's
 * `Buffer` would skip characters it does not know, `atob` throws on them).
 */
export const BASE64_TEXT = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$|^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}(?:==)?|[A-Za-z0-9_-]{3}=?)?$/

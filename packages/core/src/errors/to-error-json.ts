import type { HaldirErrorJson } from './error-from-json.ts'
import { HaldirError } from './haldir-error.ts'

/**
 * An error as it travels inside an answer (a batch's outcome): a Haldir error's own shape,
 * anything else a `backend_error` without its message (a database's text stays on the server).
 */
export function toErrorJson(error: unknown): HaldirErrorJson {
  if (HaldirError.isInstance(error)) return error.toJSON()
  return { code: 'backend_error', message: 'Haldir could not complete this request' }
}

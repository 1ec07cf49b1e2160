import { BackendError, HaldirError } from '@haldir/core/backend'

/** A database failure as the typed error callers catch; Haldir's own errors pass through. */
export function toBackendError(error: unknown, doing: string): HaldirError {
  if (HaldirError.isInstance(error)) return error
  const message = error instanceof Error ? error.message : String(error)
  return new BackendError({ message: `PostgreSQL backend failed while ${doing}: ${message}`, cause: error })
}

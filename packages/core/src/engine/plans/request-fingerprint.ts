import { canonicalJson } from '../../audit/canonical-json.ts'
import type { AuthorizeRequest } from '../../backend/haldir-backend.ts'

/**
 * What makes two gate requests the same request: the session, the mode, the scope, the tool, the
 * action and the amount. The details may differ between retries (a timestamp, a duration).
 */
export function requestFingerprint(request: AuthorizeRequest): string {
  return canonicalJson([request.sessionId, request.mode, request.scope, request.tool, request.action, request.amountMicros])
}

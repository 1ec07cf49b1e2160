import { toErrorJson } from '../errors/to-error-json.ts'
import type { AuthorizeManyRequest, AuthorizeManyResult, AuthorizeOutcome, AuthorizeRequest, AuthorizeResult } from './haldir-backend.ts'

/**
 * `authorizeMany` over an `authorize`: every gate of the batch goes through that `authorize`
 * (so whatever wraps it, metrics or spans, sees each gate), started in the batch's order, and
 * one gate's error is its outcome, not the batch's. The tenant is the request's, whatever an
 * item says.
 */
export function authorizeEach(authorize: (request: AuthorizeRequest) => Promise<AuthorizeResult>): (request: AuthorizeManyRequest) => Promise<AuthorizeManyResult> {
  return async (request) => {
    const results = await Promise.all(
      request.authorizations.map((item) =>
        authorize({ ...item, tenant: request.tenant }).then(
          (result): AuthorizeOutcome => ({ ok: true, ...result }),
          (error: unknown): AuthorizeOutcome => ({ ok: false, error: toErrorJson(error) }),
        ),
      ),
    )
    return { results }
  }
}

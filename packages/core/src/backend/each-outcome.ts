import type { HaldirErrorJson } from '../errors/error-from-json.ts'
import { toErrorJson } from '../errors/to-error-json.ts'
import type { AuthorizeManyRequest, AuthorizeManyResult, AuthorizeRequest, AuthorizeResult } from './haldir-backend.ts'

/**
 * Runs `operation` on every item of a batch, started in the batch's order with the request's
 * tenant (whatever an item says), and keeps one item's error as its outcome, not the batch's.
 */
export async function eachOutcome<Item, Result extends object>(
  tenant: string,
  items: readonly Item[],
  operation: (request: Item & { tenant: string }) => Promise<Result>,
): Promise<(({ ok: true } & Result) | { ok: false; error: HaldirErrorJson })[]> {
  return Promise.all(
    items.map((item) =>
      operation({ ...item, tenant }).then(
        (result) => ({ ok: true as const, ...result }),
        (error: unknown) => ({ ok: false as const, error: toErrorJson(error) }),
      ),
    ),
  )
}

/**
 * `authorizeMany` over an `authorize`: every gate of the batch goes through that `authorize`
 * (so whatever wraps it, metrics or spans, sees each gate), in the batch's order, each with its
 * own outcome.
 */
export function authorizeEach(authorize: (request: AuthorizeRequest) => Promise<AuthorizeResult>): (request: AuthorizeManyRequest) => Promise<AuthorizeManyResult> {
  return async (request) => ({ results: await eachOutcome(request.tenant, request.authorizations, authorize) })
}

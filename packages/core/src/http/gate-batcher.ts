import type { AuthorizeOutcome, AuthorizeRequest, AuthorizeResult } from '../backend/haldir-backend.ts'
import { BackendError } from '../errors/backend-error.ts'
import { errorFromJson } from '../errors/error-from-json.ts'
import { nextTurn } from '../internal/next-turn.ts'

/**
 * How a client over HTTP sends its gates: while `inFlight` gate requests are under way, new
 * gates wait for the end of the current turn of the event loop and go together
 * (`authorizeMany`, at most `maxSize` per request). A lone caller never waits: with nothing
 * under way its gate is sent at once, alone. No gate waits for an answer to arrive.
 */
export interface GateBatchOptions {
  /** Gate requests under way before new gates wait for the end of the turn to go together. @default 1 */
  inFlight?: number
  /** Gates per request. @default 100 */
  maxSize?: number
}

export interface GateBatcherOptions {
  inFlight: number
  maxSize: number
  /**
   * Sends one gate as its own request, with the trace context its caller had when it asked
   * (`undefined`: the active one; a gate that waited is sent from another caller's context).
   */
  one: (request: AuthorizeRequest, trace?: Record<string, string> | null) => Promise<AuthorizeResult>
  /** Sends gates together (of many callers: under no caller's trace); one outcome per gate, in order. */
  many: (requests: AuthorizeRequest[]) => Promise<AuthorizeOutcome[]>
  /** The caller's trace context, taken when its gate is queued. */
  trace: () => Record<string, string> | null
  /** Told when the server has no batch route (an older server): every gate goes alone from then on. */
  isMissingRoute: (error: unknown) => boolean
}

interface Waiting {
  request: AuthorizeRequest
  trace: Record<string, string> | null
  resolve: (result: AuthorizeResult) => void
  reject: (error: unknown) => void
}

/**
 * The gate of an HTTP client, coalescing concurrent callers' gates: under load a request carries
 * many gates, so the server's per-request work (parsing, authentication, the response) is paid
 * once for them. Each gate is still decided on its own, and each caller gets its own decision or
 * error. A gate with an idempotency key or an approval to go on with always travels alone: its
 * request may be repeated after a failure, which a batch never is.
 */
export function gateBatcher(options: GateBatcherOptions): (request: AuthorizeRequest) => Promise<AuthorizeResult> {
  const { inFlight, maxSize, one, many, isMissingRoute, trace } = options
  let running = 0
  let waiting: Waiting[] = []
  let batches = true

  // Gates that arrive while requests are under way go at the end of this turn of the event loop,
  // together: never later (waiting for an answer would add a round trip over a slow link), and
  // under load the callers one answer resolves ask again within the same turn.
  let scheduled = false
  function pump(): void {
    scheduled = false
    while (waiting.length > 0) {
      const batch = waiting.length <= maxSize ? waiting : waiting.slice(0, maxSize)
      waiting = batch === waiting ? [] : waiting.slice(maxSize)
      running++
      send(batch).finally(() => {
        running--
      })
    }
  }

  async function send(batch: Waiting[]): Promise<void> {
    if (batch.length === 1 || !batches) {
      await Promise.all(batch.map((item) => one(item.request, item.trace).then(item.resolve, item.reject)))
      return
    }
    let outcomes: AuthorizeOutcome[]
    try {
      outcomes = await many(batch.map((item) => item.request))
    } catch (error) {
      if (batches && isMissingRoute(error)) {
        // Nothing of the batch was decided (the route does not exist): each goes alone.
        batches = false
        await send(batch)
        return
      }
      for (const item of batch) item.reject(error)
      return
    }
    for (let index = 0; index < batch.length; index++) {
      const item = batch[index] as Waiting
      const outcome = outcomes[index]
      if (outcome === undefined) item.reject(new BackendError({ message: 'The server answered fewer gates than it was sent; this gate may have been decided (its hold, if any, is released when its lease ends)' }))
      else if (outcome.ok) item.resolve(withoutOk(outcome))
      else item.reject(errorFromJson(outcome.error))
    }
  }

  return (request) => {
    if (request.idempotencyKey !== null || request.approvalId !== null) return one(request)
    return new Promise<AuthorizeResult>((resolve, reject) => {
      waiting.push({ request, trace: trace(), resolve, reject })
      if (running < inFlight) pump()
      else if (!scheduled) {
        scheduled = true
        nextTurn(pump)
      }
    })
  }
}

function withoutOk(outcome: AuthorizeOutcome & { ok: true }): AuthorizeResult {
  const { ok: _ok, ...result } = outcome
  return result as AuthorizeResult
}

import type { HaldirBackend, SettleOutcome, SettleRequest } from '../backend/haldir-backend.ts'
import { BackendError } from '../errors/backend-error.ts'
import { errorFromJson } from '../errors/error-from-json.ts'
import { HaldirError } from '../errors/haldir-error.ts'
import { toErrorJson } from '../errors/to-error-json.ts'
import { nextTurn } from '../internal/next-turn.ts'
import { type SettlesNow, settlesNowOf } from '../backend/decides-now.ts'

/**
 * The settles of completed governed calls, written after the caller has its result: gathered
 * while the current turn of the event loop runs, then sent together (`settleMany` where the
 * backend has it). A settle is idempotent per hold, so a batch that failed in transit is sent
 * again; a settle that never lands leaves its hold to the lease (released when it ends).
 */
export interface SettleQueue {
  /** Queues a settle; `slackMicros` is what its hold reserves beyond what it will charge. */
  push(request: SettleRequest, slackMicros: number): void
  /** Resolves once every settle queued before the call has landed or finally failed. */
  flush(): Promise<void>
  /**
   * Settles, now, a full batch that a backend settling within the call (memory) left for the
   * next gate; a gate calls it before it decides. Nothing to do otherwise.
   */
  carry(): void
  /** Money held beyond the actual cost by settles not yet landed (a gate may wait for them). */
  readonly slackMicros: number
}

export interface SettleQueueOptions {
  backend: HaldirBackend
  tenant: string
  /** Told of each settle that failed for good (its hold is released when its lease ends). */
  onError: (error: HaldirError, request: SettleRequest) => void
  /** Settles per request. @default 200 */
  batchSize?: number
  /**
   * Requests of settles under way at once. Settles queued meanwhile wait and go together, so
   * batches grow with the load and a client has one settle request per connection in flight.
   * @default 1
   */
  concurrency?: number
  /** Sends of a settle whose backend failed, before it is given up. @default 5 */
  attempts?: number
  /** Milliseconds before the first resend (doubling each time). @default 50 */
  backoffMs?: number
}

interface Queued {
  request: SettleRequest
  slack: number
}


export function createSettleQueue(options: SettleQueueOptions): SettleQueue {
  const { backend, tenant, onError } = options
  const batchSize = options.batchSize ?? 200
  const concurrency = options.concurrency ?? 1
  const attempts = options.attempts ?? 5
  const backoffMs = options.backoffMs ?? 50
  let queue: Queued[] = []
  let scheduled = false
  let slack = 0
  const inFlight = new Set<Promise<void>>()

  // A backend that settles within the call (memory) settles a batch there: its outcomes are
  // accounted for in the same call, leaving no promise callbacks for the calls after it to run.
  const settlesNow = settlesNowOf(backend)

  function start(): void {
    while (queue.length > 0 && inFlight.size < concurrency) {
      const batch = queue.length <= batchSize ? queue : queue.slice(0, batchSize)
      queue = batch === queue ? [] : queue.slice(batchSize)
      const owed = settlesNow ? settleNow(settlesNow, batch) : send(batch, 1)
      if (owed === undefined) continue
      const sending: Promise<void> = owed.finally(() => {
        inFlight.delete(sending)
        // A full batch goes now; fewer wait for the end of the turn like any other settle, so the
        // request that just returned does not pull a handful after it, one small batch at a time.
        if (queue.length >= batchSize) start()
        else schedule()
      })
      inFlight.add(sending)
    }
  }

  function schedule(): void {
    if (scheduled || queue.length === 0) return
    scheduled = true
    // A start that runs before then (a batch filled up) leaves this one pending: one timer per
    // turn however many batches fill in it, and it finds whatever is queued by then.
    nextTurn(() => {
      scheduled = false
      start()
    })
  }

  /** The batch settled within this call; what is still owed (undecided now, or to send again) as a promise, else `undefined`. */
  function settleNow(settles: SettlesNow, batch: Queued[]): Promise<void> | undefined {
    let outcomes: (SettleOutcome | undefined)[]
    try {
      outcomes = settles({ tenant, settles: batch.map(withoutTenant) })
    } catch {
      // Nothing can be told of a batch that threw as a whole: it goes the asynchronous way.
      return send(batch, 1)
    }
    const later: Queued[] = []
    const decided: Queued[] = []
    const answers: SettleOutcome[] = []
    for (let index = 0; index < batch.length; index++) {
      const outcome = outcomes[index]
      if (outcome === undefined) later.push(batch[index] as Queued)
      else {
        decided.push(batch[index] as Queued)
        answers.push(outcome)
      }
    }
    const again = account(decided, answers, 1)
    if (later.length === 0 && again.length === 0) return undefined
    return Promise.all([later.length > 0 ? send(later, 1) : undefined, again.length > 0 ? resend(again, 2) : undefined]).then(() => undefined)
  }

  async function send(batch: Queued[], attempt: number): Promise<void> {
    let outcomes: SettleOutcome[]
    try {
      outcomes = await settleAll(batch)
    } catch (error) {
      // The whole request failed (unreachable, a 5xx): every settle of it is still owed.
      outcomes = batch.map(() => ({ ok: false, error: toErrorJson(error) }))
    }
    const again = account(batch, outcomes, attempt)
    if (again.length > 0) await resend(again, attempt + 1)
  }

  /** Sends `batch` again as attempt `attempt`, after the backoff of the one before it. */
  async function resend(batch: Queued[], attempt: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, backoffMs * 2 ** (attempt - 2)))
    await send(batch, attempt)
  }

  /** Counts each landed settle off the slack, reports those failed for good; returns those to send again. */
  function account(batch: Queued[], outcomes: readonly SettleOutcome[], attempt: number): Queued[] {
    const again: Queued[] = []
    for (let index = 0; index < batch.length; index++) {
      const item = batch[index] as Queued
      const outcome = outcomes[index]
      if (outcome?.ok) {
        slack -= item.slack
        continue
      }
      const error = outcome ? errorFromJson(outcome.error) : new BackendError({ message: 'The backend answered fewer settles than it was sent' })
      if (retryable(error) && attempt < attempts) {
        again.push(item)
        continue
      }
      slack -= item.slack
      report(error, item.request)
    }
    return again
  }

  function settleAll(batch: Queued[]): Promise<SettleOutcome[]> {
    if (batch.length > 1 && backend.settleMany) {
      return backend.settleMany({ tenant, settles: batch.map(withoutTenant) }).then((answer) => answer.results)
    }
    return Promise.all(
      batch.map(({ request }) =>
        backend.settle(request).then(
          (result): SettleOutcome => ({ ok: true, ...result }),
          (error: unknown): SettleOutcome => ({ ok: false, error: toErrorJson(error) }),
        ),
      ),
    )
  }

  function report(error: HaldirError, request: SettleRequest): void {
    try {
      onError(error, request)
    } catch {
      // A throwing handler must not stop the rest of the batch from being accounted for.
    }
  }

  return {
    push(request, slackMicros) {
      queue.push({ request, slack: slackMicros })
      slack += slackMicros
      // A full request's worth goes now; otherwise at the end of this turn. While a request is
      // under way they wait for it, and go when it returns (full) or at the end of that turn.
      if (inFlight.size >= concurrency) return
      // A batch settled within the call leaves the caches cold for the code after it (a 2 ms
      // batch, then a call of ~12 µs where ~3 is usual). So the next gate carries a full batch,
      // before its own call, which is slow either way; the calls after that find them warm.
      // Two batches' worth (a burst of settles with no gate between them) go at once.
      if (queue.length >= (settlesNow ? 2 * batchSize : batchSize)) start()
      else schedule()
    },
    carry() {
      if (settlesNow && queue.length >= batchSize && inFlight.size < concurrency) start()
    },
    async flush() {
      // A request that returns leaves what queued meanwhile for the end of the turn: send it now.
      for (start(); inFlight.size > 0; start()) await Promise.race(inFlight)
    },
    get slackMicros() {
      return slack
    },
  }
}

/** A queued settle as an item of a batch (the batch names the tenant once). */
function withoutTenant({ request }: Queued): Omit<SettleRequest, 'tenant'> {
  const { tenant: _tenant, ...item } = request
  return item
}

/** Worth sending again: the backend failed, was unreachable or asked to slow down (a refusal would be refused again). */
function retryable(error: HaldirError): boolean {
  return BackendError.isInstance(error) || error.code === 'backend_error' || error.code === 'rate_limit_exceeded'
}

import { BackendError } from '../errors/backend-error.ts'
import { ValidationError } from '../errors/validation-error.ts'
import type { Draft } from './draft.ts'
import type { CounterChange, HoldRecord, SessionState, SliceState } from './state-store.ts'

/**
 * Escrowed slices of an ancestor's budget: how a crew's members stop contending for the crew's row.
 *
 * A call on a session with a parent may draw on the session's **slice**: money reserved on every
 * ancestor at once, when the slice was granted, under the lock of the whole chain. While the
 * slice covers its calls, a call locks and writes only the session's own row: it checks the
 * session's own limit exactly (its row is locked) and takes the money from the slice, so no
 * ancestor's limit can be passed (they reserved the slice whole). When the slice runs short, the
 * call takes the usual way over the locked chain: the slice's spend moves into the ancestors'
 * (`syncSlice`), its unused rest goes back, the call is decided over exact counters, and a new
 * slice is granted (`sliceSize`): a few dozen calls like this one, never more than a share of
 * the tightest ancestor's headroom, so slices shrink as the budget runs out.
 *
 * A refusal is never owed to a slice: an ancestor that would refuse while its descendants' slices
 * hold part of its budget (`heldMicros`) has them all recalled first, under the lock of its whole
 * tree, and the call is decided again on exact counters (`SliceRecall`). So a call is refused
 * exactly when it would be without slices, and the sum of every charge and open reservation
 * never passes any limit (a slice is reserved before anything is drawn on it).
 *
 * Only sessions whose ancestors count nothing per call can hold a slice: an ancestor with budget
 * windows, rate limits or call caps must see every call, so its descendants' calls lock it as
 * before. Thresholds and active hours do not count calls; an ancestor's threshold alerts are
 * raised when its descendants' slice spend moves into its own (at the next refill or recall).
 */
export interface SliceOptions {
  /** A slice covers about this many calls of the amount that asked for it. @default 32 */
  calls?: number
  /** And never more than this share of the tightest ancestor's headroom. @default 0.125 */
  share?: number
}

export interface ResolvedSlices {
  calls: number
  share: number
}

export function resolveSlices(options: SliceOptions | boolean | undefined, byDefault: boolean): ResolvedSlices | null {
  if (options === undefined) options = byDefault
  if (options === false) return null
  if (options === true) return { calls: 32, share: 0.125 }
  if (typeof options !== 'object' || options === null) throw new ValidationError({ issues: [{ path: 'slices', message: 'must be true, false or { calls, share }' }] })
  for (const key of Object.keys(options)) if (key !== 'calls' && key !== 'share') throw new ValidationError({ issues: [{ path: `slices.${key}`, message: 'unknown option (slices takes calls and share)' }] })
  const calls = options.calls ?? 32
  const share = options.share ?? 0.125
  if (!Number.isInteger(calls) || calls < 1 || calls > 1_000_000) throw new ValidationError({ issues: [{ path: 'slices.calls', message: 'must be an integer from 1 to 1000000' }] })
  if (typeof share !== 'number' || !(share > 0 && share <= 1)) throw new ValidationError({ issues: [{ path: 'slices.share', message: 'must be a number in (0, 1]' }] })
  return { calls, share }
}

/**
 * Thrown by a plan that ran on a chain whose ancestors are not locked (`lock: 'session'`) when
 * the call cannot be decided there: nothing is applied, and the engine decides it again over the
 * locked chain. `eligible: false`: it never can be (an ancestor counts every call).
 */
export class SliceMiss extends BackendError {
  readonly eligible: boolean
  constructor(eligible: boolean) {
    super({ message: 'the slice does not cover this call; decide it over the locked chain' })
    this.eligible = eligible
  }
}

export const SLICE_SHORT = new SliceMiss(true)
export const SLICE_NEVER = new SliceMiss(false)

/** Thrown when an ancestor would refuse while its descendants' slices hold part of its budget: recall them under `rootId`'s tree lock and decide again. */
export class SliceRecall extends BackendError {
  readonly rootId: string
  constructor(rootId: string) {
    super({ message: 'slices hold part of the budget that refuses; recall them and decide again' })
    this.rootId = rootId
  }
}

/**
 * Whether a plan's throw only says where the call must be decided instead: its slice does not
 * cover it (`SliceMiss`), or slices must be recalled first (`SliceRecall`). Nothing of the call
 * was applied, and the engine decides it again that way; a store that decided it on a snapshot
 * hands the throw straight back instead of deciding it again on locked rows, which would only
 * throw the same.
 */
export function decidesElsewhere(error: unknown): boolean {
  return error instanceof SliceMiss || error instanceof SliceRecall
}

const NO_SLICE: SliceState = Object.freeze({ freeMicros: 0, spentMicros: 0, byTool: Object.freeze({}) as Record<string, number>, heldMicros: 0 })

/**
 * Applies a counter change's slice moves to `slice`, in place (a store's own copy): its free,
 * spent and held money, and the spent money by the change's tool (a tool back at zero is dropped).
 */
export function applySliceChange(slice: SliceState, change: CounterChange): void {
  const delta = change.slice
  if (delta === undefined) return
  slice.freeMicros += delta.freeMicros
  slice.spentMicros += delta.spentMicros
  slice.heldMicros += delta.heldMicros
  if (change.tool !== null && delta.spentMicros !== 0) {
    const micros = (slice.byTool[change.tool] ?? 0) + delta.spentMicros
    if (micros === 0) delete slice.byTool[change.tool]
    else slice.byTool[change.tool] = micros
  }
}

export function sliceOf(session: SessionState): SliceState {
  return session.slice ?? NO_SLICE
}

/** Whether the session's calls may draw on a slice: it has ancestors, and none counts calls. */
export function sliceEligible(chain: readonly SessionState[]): boolean {
  if (chain.length < 2) return false
  for (let index = 1; index < chain.length; index++) {
    const controls = (chain[index] as SessionState).record.controls
    if (controls !== null && (controls.windows.length > 0 || controls.rateLimits.length > 0 || controls.callCaps.length > 0)) return false
  }
  return true
}

/** The chain as a slice's call is decided on: the ancestors' limits are the slice's business (they reserved it whole). */
export function sliceView(chain: readonly SessionState[]): SessionState[] {
  const view: SessionState[] = [chain[0] as SessionState]
  for (let index = 1; index < chain.length; index++) {
    const link = chain[index] as SessionState
    view.push({ ...link, record: { ...link.record, limitMicros: null } })
  }
  return view
}

function withSlice(session: SessionState, change: Partial<SliceState>): SessionState {
  return { ...session, slice: { ...sliceOf(session), ...change } }
}

/**
 * Moves the session's slice into its ancestors (over the locked chain): what was spent from it
 * becomes their spend (by tool), the free rest goes back to their budget; calls still holding
 * slice money keep it reserved. Returns the chain as it stands after (copies where changed).
 */
export function syncSlice(chain: readonly SessionState[], draft: Draft<unknown>): SessionState[] {
  const own = chain[0] as SessionState
  const slice = sliceOf(own)
  const back = slice.freeMicros + slice.spentMicros
  if (back === 0 || chain.length < 2) return chain as SessionState[]
  const ancestors = chain.slice(1)
  for (const [tool, micros] of Object.entries(slice.byTool)) {
    if (micros === 0) continue
    draft.move(ancestors, micros, -micros, tool)
    draft.moveSlice(own, 0, -micros, 0, tool)
  }
  if (slice.freeMicros !== 0) {
    draft.move(ancestors, 0, -slice.freeMicros, null)
    draft.moveSlice(own, -slice.freeMicros, 0, 0, null)
  }
  for (const ancestor of ancestors) draft.moveSlice(ancestor, 0, 0, -back, null)
  return [
    withSlice(own, { freeMicros: 0, spentMicros: 0, byTool: {} }),
    ...ancestors.map((link) => ({ ...withSlice(link, { heldMicros: sliceOf(link).heldMicros - back }), spentMicros: link.spentMicros + slice.spentMicros, reservedMicros: link.reservedMicros - back })),
  ]
}

/** Reserves `micros` on every ancestor as the session's slice (over the locked chain). Returns the chain after. */
export function grantSlice(chain: readonly SessionState[], draft: Draft<unknown>, micros: number): SessionState[] {
  if (micros <= 0) return chain as SessionState[]
  const own = chain[0] as SessionState
  const ancestors = chain.slice(1)
  draft.move(ancestors, 0, micros, null)
  for (const ancestor of ancestors) draft.moveSlice(ancestor, 0, 0, micros, null)
  draft.moveSlice(own, micros, 0, 0, null)
  return [
    withSlice(own, { freeMicros: sliceOf(own).freeMicros + micros }),
    ...ancestors.map((link) => ({ ...withSlice(link, { heldMicros: sliceOf(link).heldMicros + micros }), reservedMicros: link.reservedMicros + micros })),
  ]
}

/**
 * How much to grant beyond a call of `amountMicros` that the chain just allowed: about `calls`
 * more such calls, at most `share` of the tightest ancestor's headroom left after it, and no more
 * than the session's own limit leaves.
 */
export function sliceSize(chain: readonly SessionState[], amountMicros: number, slices: ResolvedSlices): number {
  let size = amountMicros * slices.calls
  // Never more than the session's own limit leaves: the rest would only hold its siblings back.
  const own = chain[0] as SessionState
  if (own.record.limitMicros !== null) size = Math.min(size, own.record.limitMicros - own.spentMicros - own.reservedMicros - amountMicros)
  for (let index = 1; index < chain.length; index++) {
    const link = chain[index] as SessionState
    const limit = link.record.limitMicros
    if (limit === null) continue
    const headroom = limit - link.spentMicros - link.reservedMicros - amountMicros
    size = Math.min(size, Math.floor(Math.max(0, headroom) * slices.share))
  }
  return Math.max(0, size)
}

/**
 * Moves a hold's money as it closes (`spentMicros` charged, the rest released): a sliced hold
 * moves only its session's row, the released rest going back to the slice; any other hold moves
 * the whole chain.
 */
export function moveHold(draft: Draft<unknown>, hold: HoldRecord, chain: readonly SessionState[], spentMicros: number, tool: string | null): void {
  if (hold.sliced === true) {
    const own = chain[0] as SessionState
    draft.move([own], spentMicros, -hold.amountMicros, tool, hold.createdAt)
    draft.moveSlice(own, hold.amountMicros - spentMicros, spentMicros, 0, tool)
  } else {
    draft.move(chain, spentMicros, -hold.amountMicros, tool, hold.createdAt)
  }
}

/**
 * Every slice under a root, recalled (over the locked tree, parents before children): each
 * session's slice moves into its ancestors as {@link syncSlice} moves it. Returns each session
 * as it stands after.
 */
export function recallSlices(tree: readonly SessionState[], draft: Draft<unknown>): Map<string, SessionState> {
  const after = new Map(tree.map((session) => [session.record.id, session]))
  for (const session of tree) {
    const slice = sliceOf(session)
    if (slice.freeMicros === 0 && slice.spentMicros === 0) continue
    const chain = [session.record.id, ...session.ancestors].map((id) => after.get(id))
    if (chain.some((link) => link === undefined)) continue
    const synced = syncSlice(chain as SessionState[], draft)
    for (const link of synced) after.set(link.record.id, link)
  }
  return after
}

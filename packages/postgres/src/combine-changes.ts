import type { Changes } from '@haldir/core/backend'

/**
 * The changes of several decisions made one after another in one transaction, as one set of
 * changes: applied together, each row is written once however many of them touched it (a crew's
 * row takes one update for the whole group), and entries keep their order. Each decision was made
 * on the state the ones before it left, so applying the sum is applying each in turn.
 */
export function combineChanges(list: readonly Changes[]): Changes {
  const [first] = list
  if (!first) throw new Error('combineChanges needs at least one set of changes')
  if (list.length === 1) return first
  const records = list.map((changes) => changes.idempotency).filter((record) => record !== null)
  // Requests with an idempotency key are never grouped (their records would have to see each other).
  if (records.length > 1) throw new Error('combineChanges: more than one idempotency record in one group')
  const ledger = list.some((changes) => changes.leaves !== null)
  // One backend keeps a ledger or not: a mix is a bug, and a leaf must never shift to another entry.
  if (ledger && list.some((changes) => changes.leaves === null)) throw new Error('combineChanges: changes with and without ledger leaves in one group')
  return {
    tenant: first.tenant,
    now: list[list.length - 1]?.now ?? first.now,
    createdSessions: list.flatMap((changes) => changes.createdSessions),
    counters: list.flatMap((changes) => changes.counters),
    revocations: list.flatMap((changes) => changes.revocations),
    openedHolds: list.flatMap((changes) => changes.openedHolds),
    closedHolds: list.flatMap((changes) => changes.closedHolds),
    updatedHolds: list.flatMap((changes) => changes.updatedHolds),
    usage: list.flatMap((changes) => changes.usage),
    entries: list.flatMap((changes) => changes.entries),
    idempotency: records[0] ?? null,
    secrets: list.flatMap((changes) => changes.secrets),
    bytes: list.reduce((sum, changes) => sum + changes.bytes, 0),
    // One leaf per entry, in the entries' order.
    leaves: ledger ? list.flatMap((changes) => changes.leaves ?? []) : null,
    events: list.flatMap((changes) => changes.events),
  }
}

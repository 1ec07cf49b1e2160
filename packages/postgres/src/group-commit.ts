import { type Decision, decidesElsewhere, type LoadedState, type LoadRequest } from '@haldir/core/backend'
import pg from 'pg'
import { applyStatements } from './apply-statements.ts'
import { combineChanges } from './combine-changes.ts'
import { connectTo } from './connect-to.ts'
import { GroupState } from './group-state.ts'
import { snapshotGuards } from './snapshot-guards.ts'
import type { LoadPart, Tables } from './load-statements.ts'
import type { Operation, OptimisticState } from './optimistic-state.ts'
import type { ConnectionSource } from './prepared-statements.ts'
import { toBackendError } from './to-backend-error.ts'
import { toLoadedState } from './to-loaded-state.ts'

export interface GroupCommitOptions {
  /** Operations (single or grouped) this process runs at once before new ones wait to be grouped. @default 1 */
  inFlight?: number
  /** Most operations decided in one transaction. @default 128 */
  maxSize?: number
}

type Transact = <T>(load: LoadRequest, decide: (state: LoadedState) => Decision<T>) => Promise<T>

interface Member {
  load: LoadRequest
  decide: (state: LoadedState) => Decision<unknown>
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

/**
 * Group commit: while this process already has `inFlight` operations running, new ones wait, and
 * the ones waiting together run as **one transaction**: one round trip locks every row they name
 * (holds, then sessions, each in id order: the order every operation locks in) and loads them,
 * each is decided in turn on the rows as the ones before it left them ({@link GroupState}), and
 * one round trip writes the lot, each row once, with one commit. Under load, a commit (a WAL
 * flush) and a crew row's lock then serve a whole group instead of one call. When this process
 * knows every row of the group, it is decided on them and sent in one message instead
 * (`decidedOnSnapshot`).
 *
 * Alone (nothing waiting), an operation runs as before (`single`: one round trip when its rows
 * are known, else two). Only operations that name a session chain or one row are grouped; those
 * with an idempotency key, a secret or a subtree always run alone. If the database refuses the
 * group (a deadlock with another process, say) nothing was committed and each member runs alone.
 */
export function groupCommit(options: { source: ConnectionSource; tables: Tables; known: OptimisticState | null; single: Transact } & GroupCommitOptions): Transact {
  const { source, tables, known, single } = options
  const inFlight = options.inFlight ?? 1
  const maxSize = options.maxSize ?? 128
  let queue: Member[] = []
  let running = 0

  const groupable = (load: LoadRequest) =>
    load.idempotencyKey === undefined && load.secretName === undefined && load.sessions !== undefined && load.sessions !== 'subtree' && load.sessionId !== undefined

  function runAlone<T>(load: LoadRequest, decide: (state: LoadedState) => Decision<T>): Promise<T> {
    running++
    return single(load, decide).finally(() => {
      running--
      pump()
    })
  }

  /** Members for one group: the first waiting one's tenant, one operation per hold, at most `maxSize`. */
  function take(): Member[] {
    const first = queue[0]
    if (!first) return []
    const holds = new Set<string>()
    const group: Member[] = []
    const rest: Member[] = []
    for (const member of queue) {
      const { holdId } = member.load
      if (group.length < maxSize && member.load.tenant === first.load.tenant && (holdId === undefined || !holds.has(holdId))) {
        if (holdId !== undefined) holds.add(holdId)
        group.push(member)
      } else rest.push(member)
    }
    queue = rest
    return group
  }

  function pump(): void {
    while (running < inFlight && queue.length > 0) {
      const group = take()
      if (group.length === 1) {
        const [member] = group as [Member]
        runAlone(member.load, member.decide).then(member.resolve, member.reject)
        continue
      }
      running++
      runGroup(group).finally(() => {
        running--
        pump()
      })
    }
  }

  /** Each member on its own, as if never grouped (after the database refused the group; rare, so not counted in `inFlight`). */
  function alone(members: readonly Member[]): void {
    for (const member of members) single(member.load, member.decide).then(member.resolve, member.reject)
  }

  async function runGroup(members: Member[]): Promise<void> {
    const tenant = (members[0] as Member).load.tenant
    const operations: (Operation | undefined)[] = known ? known.enterAll(members.map((member) => member.load)) : members.map(() => undefined)
    const finish = () => {
      for (const operation of operations) operation?.done()
    }
    let client: pg.PoolClient
    try {
      client = await connectTo(source)
    } catch (error) {
      finish()
      for (const member of members) member.reject(error)
      return
    }
    /** Ends the group with nothing committed and runs each member on its own (`destroy`: the connection failed). */
    const eachAlone = async (destroy: boolean) => {
      await client.query('rollback').catch(() => {})
      client.release(destroy)
      finish()
      alone(members)
    }
    const quick = await decidedOnSnapshot(client, tenant, members, operations)
    if (quick === 'committed') {
      client.release()
      finish()
      return
    }
    if (quick === 'unknown') {
      finish()
      return
    }
    // Every row of every member, in the order single operations lock them: holds, then sessions
    // (chains and the chains of lapsed holds), each in id order; then the lapsed holds themselves.
    const holdIds = members.flatMap((member) => (member.load.holdId === undefined ? [] : [member.load.holdId]))
    const sessionIds = [...new Set(members.map((member) => member.load.sessionId as string))]
    const ats = members.flatMap((member) => (member.load.expiredHoldsAt === undefined ? [] : [member.load.expiredHoldsAt]))
    const at = ats.length > 0 ? Math.max(...ats) : null
    const statements: [LoadPart, string][] = []
    if (holdIds.length > 0) statements.push(['hold', tables.prepared.holds(tenant, holdIds)])
    statements.push(['sessions', tables.prepared.chains(tenant, sessionIds, at)])
    if (at !== null) statements.push(['expiredHolds', tables.prepared.lapsedHolds(tenant, sessionIds, at)])
    if (members.some((member) => member.load.configVersion)) statements.push(['configVersion', tables.prepared.configVersion(tenant)])
    const loaded = new Map<LoadPart, Record<string, unknown>[]>()
    try {
      const results = (await client.query(['begin', ...statements.map(([, text]) => text)].join(';\n'))) as unknown as pg.QueryResult[]
      statements.forEach(([part], index) => loaded.set(part, (results[index + 1] as pg.QueryResult).rows))
    } catch (error) {
      // Nothing was committed (no commit was sent): each member runs alone.
      await eachAlone(!(error instanceof pg.DatabaseError))
      return
    }
    const rowsOf = groupRows(loaded)

    const group = new GroupState()
    const decided: { member: Member; operation: Operation | undefined; view: LoadedState; decision: Decision<unknown> }[] = []
    const refused: { member: Member; error: unknown }[] = []
    const later: Member[] = []
    members.forEach((member, index) => {
      const own = toLoadedState(member.load, (part) => rowsOf(member.load, part))
      const operation = operations[index]
      operation?.track(own)
      const view = group.view(own)
      if (!view) {
        later.push(member)
        return
      }
      let decision: Decision<unknown>
      try {
        decision = member.decide(view)
      } catch (error) {
        // Nothing of it is applied; the engine may decide it again (a config change) as a new operation.
        refused.push({ member, error })
        return
      }
      group.apply(view, decision.changes)
      decided.push({ member, operation, view, decision })
    })

    let writes: string[]
    try {
      writes = decided.length > 0 ? applyStatements(tables, combineChanges(decided.map((each) => each.decision.changes))) : []
    } catch {
      // Changes that cannot be written as one (a bug): nothing was sent, each member runs alone.
      await eachAlone(false)
      return
    }
    try {
      await client.query([...writes, decided.length > 0 ? 'commit' : 'rollback'].join(';\n'))
    } catch (error) {
      if (error instanceof pg.DatabaseError) {
        // The server refused a write: nothing was committed, each member runs alone.
        await eachAlone(false)
        return
      }
      // The connection failed with the commit on its way: whether it happened is unknown, so
      // deciding again could charge twice. Reported, as a single operation reports it.
      client.release(true)
      for (const operation of operations) operation?.forget()
      finish()
      for (const { member } of decided) member.reject(toBackendError(error, 'writing'))
      for (const { member, error: refusal } of refused) member.reject(refusal)
      alone(later)
      return
    }
    client.release()
    for (const { member, operation, view, decision } of decided) {
      // Committed: these rows are now what this process knows of them.
      operation?.learn(view, decision.changes)
      if (decision.error) member.reject(decision.error)
      else member.resolve(decision.value)
    }
    for (const { member, error } of refused) member.reject(error)
    finish()
    // Their hold moved under an earlier member: they see it committed now.
    queue = [...later, ...queue]
  }

  /**
   * The group in one round trip, when this process knows every member's rows (it wrote them
   * last, and nothing else of this process is under way on them): decided in turn on the
   * snapshot, then `begin`, the guards (holds, then sessions and the config version, each failing
   * unless its rows are exactly the snapshot, and locking them), the writes and `commit` in one
   * message: no lock is held across a round trip. `'locked'`: not applicable, or the rows changed
   * (nothing was written); the locked group decides. A refusal is never decided from the snapshot
   * (it could owe itself to a lapsed hold the snapshot leaves out). A member the engine must
   * decide elsewhere (its slice does not cover it) leaves the group with that answer once the
   * rest committed, instead of sending the whole group the locked way.
   */
  async function decidedOnSnapshot(client: pg.PoolClient, tenant: string, members: readonly Member[], operations: readonly (Operation | undefined)[]): Promise<'committed' | 'locked' | 'unknown'> {
    const states = operations.map((operation) => operation?.state ?? null)
    if (states.some((state) => state === null)) return 'locked'
    const group = new GroupState()
    const decided: { index: number; view: LoadedState; decision: Decision<unknown> }[] = []
    const elsewhere: { member: Member; error: unknown }[] = []
    for (const [index, member] of members.entries()) {
      const view = group.view(states[index] as LoadedState)
      if (!view) return 'locked'
      let decision: Decision<unknown>
      try {
        decision = member.decide(view)
      } catch (error) {
        // Nothing of it was applied to the group's view: the rest go on without it.
        if (decidesElsewhere(error)) {
          elsewhere.push({ member, error })
          continue
        }
        return 'locked'
      }
      const value = decision.value as { allowed?: unknown } | undefined
      if (decision.error !== undefined || value?.allowed === false) return 'locked'
      group.apply(view, decision.changes)
      decided.push({ index, view, decision })
    }
    const answerElsewhere = () => {
      for (const { member, error } of elsewhere) member.reject(error)
    }
    if (decided.length === 0) {
      answerElsewhere()
      return 'committed'
    }
    // Only the decided members' rows are guarded (and locked): the others wrote nothing.
    const guards = snapshotGuards(
      tables,
      tenant,
      decided.map(({ index }) => states[index] as LoadedState),
      decided.map(({ index }) => (members[index] as Member).load),
    )
    if (!guards) return 'locked'
    let writes: string[]
    try {
      writes = applyStatements(tables, combineChanges(decided.map((each) => each.decision.changes)))
    } catch {
      return 'locked'
    }
    try {
      await client.query(['begin', ...guards, ...writes, 'commit'].join(';\n'))
    } catch (error) {
      for (const operation of operations) operation?.forget()
      if (error instanceof pg.DatabaseError) {
        // A guard failed (rows changed elsewhere) or a write was refused: nothing was committed.
        await client.query('rollback').catch(() => {})
        return 'locked'
      }
      // The connection failed with the commit on its way: reported, never decided again.
      client.release(true)
      for (const { index } of decided) (members[index] as Member).reject(toBackendError(error, 'writing'))
      answerElsewhere()
      return 'unknown'
    }
    for (const { index, view, decision } of decided) {
      operations[index]?.learn(view, decision.changes)
      ;(members[index] as Member).resolve(decision.value)
    }
    answerElsewhere()
    return 'committed'
  }

  return function transact<T>(load: LoadRequest, decide: (state: LoadedState) => Decision<T>): Promise<T> {
    if (!groupable(load) || running < inFlight) return runAlone(load, decide)
    return new Promise<T>((resolve, reject) => {
      queue.push({ load, decide: decide as (state: LoadedState) => Decision<unknown>, resolve: resolve as (value: unknown) => void, reject })
    })
  }
}

/**
 * Each member's share of a group's rows, as its own load would have returned them: its hold, its
 * chain with the chains of the lapsed holds under its root (by its own clock), those holds, the
 * config version.
 */
function groupRows(loaded: ReadonlyMap<LoadPart, Record<string, unknown>[]>): (load: LoadRequest, part: LoadPart) => Record<string, unknown>[] {
  const sessions = new Map((loaded.get('sessions') ?? []).map((row) => [row.id as string, row as unknown as { id: string; ancestors: string[] }]))
  const holds = new Map((loaded.get('hold') ?? []).map((row) => [row.id as string, row]))
  const expired = (loaded.get('expiredHolds') ?? []) as unknown as { root_id: string; session_id: string; expires_at_ms: string }[]
  const chainRows = (id: string) => {
    const own = sessions.get(id)
    return own ? [own, ...own.ancestors.map((ancestor) => sessions.get(ancestor))].filter((row) => row !== undefined) : []
  }
  const lapsedUnder = (load: LoadRequest) => {
    const own = sessions.get(load.sessionId as string)
    if (!own || load.expiredHoldsAt === undefined) return []
    const root = own.ancestors[own.ancestors.length - 1] ?? own.id
    const at = load.expiredHoldsAt
    return expired.filter((row) => row.root_id === root && Number(row.expires_at_ms) <= at)
  }
  return (load, part) => {
    switch (part) {
      case 'hold': {
        const row = load.holdId === undefined ? undefined : holds.get(load.holdId)
        return row ? [row] : []
      }
      case 'sessions': {
        if (load.sessions === 'self') return chainRows(load.sessionId as string).slice(0, 1) as never
        const rows = new Set(chainRows(load.sessionId as string))
        for (const hold of lapsedUnder(load)) for (const row of chainRows(hold.session_id)) rows.add(row)
        return [...rows] as never
      }
      case 'expiredHolds':
        return lapsedUnder(load) as never
      case 'configVersion':
        return load.configVersion ? (loaded.get('configVersion') ?? []) : []
      default:
        return []
    }
  }
}

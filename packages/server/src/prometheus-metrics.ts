import { type AuthorizeRequest, type AuthorizeResult, authorizeEach, type HaldirBackend, type SettleManyRequest, type SettleManyResult, type SettleRequest, type SettleResult } from '@haldir/core/backend'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'

/** The most holds or approvals a gauge counts per scrape (a tenant with more reports this many). */
const GAUGE_LIMIT = 10_000

interface TenantMetrics {
  registry: Registry
  decisions: Counter<'outcome' | 'code'>
  spend: Counter<'tool'>
  gateDuration: Histogram
}

/** The server's Prometheus metrics: the backend they observe, and each tenant's exposition. */
export interface PrometheusMetrics {
  /** The same backend, counting decisions, spend and gate latency as requests pass. */
  backend: HaldirBackend
  /** The tenant's metrics in the Prometheus text format. */
  render(tenant: string): Promise<{ contentType: string; text: string }>
}

/**
 * Prometheus metrics (`prom-client`) of the gate, one registry per tenant, so a key's `/metrics`
 * shows its own tenant only:
 *
 * - `haldir_decisions_total{outcome, code}`: gate decisions (`allowed`, `denied`, `pending`), by
 *   denial code (`none` when allowed);
 * - `haldir_spend_microdollars_total{tool}`: money charged (settles and payments);
 * - `haldir_gate_duration_seconds`: how long the backend took to decide (any outcome);
 * - `haldir_open_holds`, `haldir_pending_approvals`: read from the backend at each scrape.
 *
 * Labels are outcomes, codes and tool names only: never a session, an argument or a reason.
 */
export function prometheusMetrics(backend: HaldirBackend): PrometheusMetrics {
  const tenants = new Map<string, TenantMetrics>()

  function metricsOf(tenant: string): TenantMetrics {
    let metrics = tenants.get(tenant)
    if (metrics) return metrics
    const registry = new Registry()
    const registers = [registry]
    metrics = {
      registry,
      decisions: new Counter({ name: 'haldir_decisions_total', help: 'Gate decisions by outcome and denial code', labelNames: ['outcome', 'code'], registers }),
      spend: new Counter({ name: 'haldir_spend_microdollars_total', help: 'Money charged, in micro-dollars, by tool', labelNames: ['tool'], registers }),
      gateDuration: new Histogram({
        name: 'haldir_gate_duration_seconds',
        help: 'How long the gate took to decide',
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
        registers,
      }),
    }
    // Gauges are read at scrape time from the backend: the truth survives restarts and replicas.
    new Gauge({
      name: 'haldir_open_holds',
      help: `Open holds (reserved, not yet settled or released; counted up to ${GAUGE_LIMIT})`,
      registers,
      async collect() {
        this.set((await backend.listHolds({ tenant, sessionId: null, limit: GAUGE_LIMIT })).length)
      },
    })
    new Gauge({
      name: 'haldir_pending_approvals',
      help: `Approvals waiting for a person (counted up to ${GAUGE_LIMIT})`,
      registers,
      async collect() {
        this.set((await backend.listApprovals({ tenant, status: 'pending', sessionId: null, limit: GAUGE_LIMIT })).length)
      },
    })
    tenants.set(tenant, metrics)
    return metrics
  }

  async function authorize(request: AuthorizeRequest): Promise<AuthorizeResult> {
    const started = performance.now()
    const result = await backend.authorize(request)
    const metrics = metricsOf(request.tenant)
    const outcome = result.allowed ? 'allowed' : result.code === 'approval_pending' ? 'pending' : 'denied'
    metrics.decisions.inc({ outcome, code: result.allowed ? 'none' : result.code })
    metrics.gateDuration.observe((performance.now() - started) / 1000)
    if (result.allowed && request.mode === 'charge' && request.amountMicros > 0) metrics.spend.inc({ tool: request.tool }, request.amountMicros)
    return result
  }

  async function settle(request: SettleRequest): Promise<SettleResult> {
    const result = await backend.settle(request)
    if (result.chargedMicros > 0) metricsOf(request.tenant).spend.inc({ tool: result.entry.tool }, result.chargedMicros)
    return result
  }

  // A client's batch of settles counts the spend of each one that landed.
  async function settleMany(request: SettleManyRequest): Promise<SettleManyResult> {
    const answer = await (backend.settleMany as NonNullable<HaldirBackend['settleMany']>)(request)
    for (const outcome of answer.results) if (outcome.ok && outcome.chargedMicros > 0) metricsOf(request.tenant).spend.inc({ tool: outcome.entry.tool }, outcome.chargedMicros)
    return answer
  }

  // Every other operation passes through the prototype (defined, not assigned: a frozen backend's
  // own methods are read-only, and assigning over them would throw). A batch of gates is each
  // gate through `authorize` above, so every decision is counted and timed.
  const observed = Object.create(backend, {
    authorize: { value: authorize },
    settle: { value: settle },
    ...(backend.settleMany ? { settleMany: { value: settleMany } } : {}),
    authorizeMany: { value: authorizeEach(authorize) },
  }) as HaldirBackend
  return {
    backend: observed,
    async render(tenant) {
      const metrics = metricsOf(tenant)
      return { contentType: metrics.registry.contentType, text: await metrics.registry.metrics() }
    },
  }
}

/**
 * The span and metric attributes Haldir sets: OpenTelemetry GenAI semantic conventions where
 * they name the thing (`gen_ai.*`), `haldir.*` for governance. Only identifiers, names, codes and
 * amounts: never details, arguments, reasons or secret values (a reason can quote a tool's error).
 */
export const HALDIR_ATTRIBUTES = {
  /** `execute_tool` for a governed tool call, `chat` for a metered model call. */
  genAiOperationName: 'gen_ai.operation.name',
  /** The governed tool's audit name. */
  genAiToolName: 'gen_ai.tool.name',
  /** Tokens a metered model call settled for. */
  genAiUsageInputTokens: 'gen_ai.usage.input_tokens',
  genAiUsageOutputTokens: 'gen_ai.usage.output_tokens',
  tenant: 'haldir.tenant',
  sessionId: 'haldir.session.id',
  agentId: 'haldir.agent.id',
  /** The audit name of the call (a tool's, or a model's for a metered call). */
  tool: 'haldir.tool',
  action: 'haldir.action',
  scope: 'haldir.scope',
  /** `check`, `reserve` (a gate) or `charge` (a payment). */
  mode: 'haldir.mode',
  /** `allowed`, `denied` or `pending` (sent to a person). */
  decision: 'haldir.decision',
  /** The denial's code (`budget_exceeded`, `permission_denied` …) when the gate refused. */
  denialCode: 'haldir.denial.code',
  /** Micro-dollars the gate held (or a payment charged). */
  costReservedMicros: 'haldir.cost.reserved_micros',
  /** Micro-dollars a settle charged. */
  costChargedMicros: 'haldir.cost.charged_micros',
  holdId: 'haldir.hold.id',
  approvalId: 'haldir.approval.id',
  auditEntryId: 'haldir.audit.entry_id',
  /** How a settled call ended: `ok` or `error`. */
  outcome: 'haldir.outcome',
  flagged: 'haldir.flagged',
  /** Settles a batch of deferred settles carried (`haldir.settle_batch`), and how many were refused. */
  settleCount: 'haldir.settle.count',
  settleFailed: 'haldir.settle.failed',
  /** The error code when the backend call itself failed (OpenTelemetry's `error.type`). */
  errorType: 'error.type',
} as const

/** The metric instruments' names. */
export const HALDIR_METRICS = {
  /** Counter of gate decisions, by `haldir.decision`, `haldir.denial.code` and `haldir.mode`. */
  decisions: 'haldir.decisions',
  /** Counter of micro-dollars charged, by `haldir.tool`. */
  spend: 'haldir.spend',
  /** Histogram of gate latency in seconds, by `haldir.decision`. */
  gateDuration: 'haldir.gate.duration',
} as const

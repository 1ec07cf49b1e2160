// OpenTelemetry for Haldir (`@haldir/core/otel`): needs `@opentelemetry/api` installed.
export { withTelemetry, type TelemetryOptions } from './with-telemetry.ts'
export { HALDIR_ATTRIBUTES, HALDIR_METRICS } from './haldir-attributes.ts'

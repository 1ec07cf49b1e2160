export { migrate, migrations } from './migrations.ts'
export { postgresBackend, type PostgresBackend, type PostgresBackendOptions } from './postgres-backend.ts'
export { postgresWebhookStore } from './postgres-webhook-store.ts'
export type { GroupCommitOptions } from './group-commit.ts'

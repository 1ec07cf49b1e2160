import type { Pool } from 'pg'

/**
 * Versioned schema changes, applied in order, each once, under an advisory lock (so processes
 * starting together do not race). Append new versions; never edit an applied one.
 */
export const migrations: readonly { version: number; name: string; sql: (schema: string) => string }[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: (s) => `
      create table ${s}.sessions (
        id text primary key,
        tenant text not null,
        agent_id text not null,
        scopes text[] not null,
        limit_micros bigint,
        spent_micros bigint not null default 0,
        reserved_micros bigint not null default 0,
        created_at_ms bigint not null,
        expires_at_ms bigint not null,
        parent_id text references ${s}.sessions(id),
        -- parent first, root last: the gate locks the whole chain in one statement
        ancestors text[] not null,
        revoked_at_ms bigint,
        metadata jsonb not null,
        -- settled micro-dollars per tool, this session and its descendants
        by_tool jsonb not null default '{}',
        audit_seq bigint not null default 0,
        audit_head text not null,
        check (spent_micros >= 0 and reserved_micros >= 0),
        check (limit_micros is null or spent_micros + reserved_micros <= limit_micros)
      ) with (fillfactor = 50);
      -- Counters change on every governed call: the free space keeps those updates HOT, so the
      -- indexes (the GIN one above all) are not touched on the hot path.
      create index sessions_tenant_created on ${s}.sessions (tenant, created_at_ms desc);
      create index sessions_ancestors on ${s}.sessions using gin (ancestors);

      create table ${s}.holds (
        id text primary key,
        tenant text not null,
        session_id text not null references ${s}.sessions(id),
        amount_micros bigint not null,
        tool text not null,
        scope text,
        details jsonb not null,
        created_at_ms bigint not null,
        settled_entry_id text,
        charged_micros bigint
      ) with (fillfactor = 70);

      create table ${s}.audit_entries (
        position bigserial primary key,
        id text not null unique,
        tenant text not null,
        session_id text not null references ${s}.sessions(id),
        agent_id text not null,
        seq bigint not null,
        timestamp text not null,
        tool text not null,
        action text not null,
        scope text,
        outcome text not null,
        flagged boolean not null,
        reason text,
        cost_micros bigint not null,
        details jsonb not null,
        prev_hash text not null,
        hash text not null
      );
      create index audit_session on ${s}.audit_entries (session_id, position);
      create index audit_agent on ${s}.audit_entries (tenant, agent_id, position);

      -- The trail is append-only: the backend never updates or deletes an entry, and the
      -- database refuses it too (an owner can still disable this; the hash chain catches that).
      create function ${s}.audit_append_only() returns trigger language plpgsql as $$
      begin raise exception 'haldir audit entries are append-only'; end $$;
      create trigger audit_append_only before update or delete on ${s}.audit_entries
        for each row execute function ${s}.audit_append_only();

      create table ${s}.idempotency (
        tenant text not null,
        session_id text not null,
        key text not null,
        result jsonb not null,
        created_at_ms bigint not null,
        primary key (tenant, session_id, key)
      );

      create table ${s}.secrets (
        tenant text not null,
        name text not null,
        key_id text not null,
        nonce text not null,
        ciphertext text not null,
        tag text not null,
        scope_required text,
        updated_at_ms bigint not null,
        primary key (tenant, name)
      );
    `,
  },
  {
    version: 2,
    name: 'key ids, hold leases, tenant-wide idempotency, bound secrets',
    sql: (s) => `
      -- Every entry names the audit key that sealed it (empty for entries sealed before key ids).
      alter table ${s}.audit_entries add column key_id text not null default '';

      -- TRUNCATE skips row triggers: refuse it with a statement trigger.
      create trigger audit_no_truncate before truncate on ${s}.audit_entries
        for each statement execute function ${s}.audit_append_only();

      -- Every hold leases its money; leases are looked after per root session.
      alter table ${s}.holds add column root_id text, add column expires_at_ms bigint,
        add column idempotency_key text, add column expired boolean not null default false;
      update ${s}.holds h set root_id = coalesce(ss.ancestors[cardinality(ss.ancestors)], ss.id), expires_at_ms = h.created_at_ms + 900000
        from ${s}.sessions ss where ss.id = h.session_id;
      alter table ${s}.holds alter column root_id set not null, alter column expires_at_ms set not null;
      create index holds_open_by_root on ${s}.holds (tenant, root_id, expires_at_ms) where settled_entry_id is null;
      create index holds_open_by_tenant on ${s}.holds (tenant, expires_at_ms) where settled_entry_id is null;
      create index holds_by_session on ${s}.holds (session_id) where settled_entry_id is null;

      -- One key, one request, per tenant: the record keeps the request's fingerprint. Records of the
      -- old per-session form answered a different rule; they are dropped.
      drop table ${s}.idempotency;
      create table ${s}.idempotency (
        tenant text not null,
        key text not null,
        session_id text not null,
        fingerprint text not null,
        result jsonb not null,
        created_at_ms bigint not null,
        primary key (tenant, key)
      );

      -- Secrets sealed before this version are bound to their name only (format 1) and are resealed
      -- bound to tenant, name, scope and key id when next read.
      alter table ${s}.secrets add column format smallint not null default 1;
      create table ${s}.vault_versions (tenant text primary key, version bigint not null);
      insert into ${s}.vault_versions (tenant, version) select tenant, count(*) from ${s}.secrets group by tenant;
    `,
  },
  {
    version: 3,
    name: 'the ledger: ledger marks, a per-tenant RFC 6962 log, tree heads',
    sql: (s) => `
      -- What each entry does to money (balances are re-derived from these).
      alter table ${s}.audit_entries add column ledger jsonb;
      -- The writing transaction's id: entries join the log in (txid, position) order, and only once
      -- every transaction that could still add an earlier one has finished (see the sequencer).
      alter table ${s}.audit_entries add column txid xid8 not null default pg_current_xact_id();
      -- The leaf hash computed when the entry was sealed (the sequencer uses it; a check recomputes it).
      alter table ${s}.audit_entries add column leaf_hash text;
      create index audit_log_order on ${s}.audit_entries (tenant, txid, position);

      create table ${s}.ledger_leaves (
        tenant text not null,
        leaf_index bigint not null,
        entry_id text not null,
        session_id text not null,
        primary key (tenant, leaf_index)
      );
      create unique index ledger_leaves_entry on ${s}.ledger_leaves (tenant, entry_id);
      -- Complete subtrees of the log (level 0: leaf hashes). Never change once written.
      create table ${s}.ledger_nodes (
        tenant text not null,
        level smallint not null,
        idx bigint not null,
        hash text not null,
        primary key (tenant, level, idx)
      );
      create table ${s}.ledger_state (
        tenant text primary key,
        size bigint not null,
        -- Every entry of a transaction older than this is in the log.
        horizon xid8 not null
      );
      create table ${s}.tree_heads (
        tenant text not null,
        tree_size bigint not null,
        root_hash text not null,
        signed_at bigint not null,
        signature text not null,
        key_id text not null,
        public_key text not null,
        primary key (tenant, tree_size)
      );
      create trigger ledger_leaves_append_only before update or delete on ${s}.ledger_leaves for each row execute function ${s}.audit_append_only();
      create trigger ledger_nodes_append_only before update or delete on ${s}.ledger_nodes for each row execute function ${s}.audit_append_only();
      create trigger tree_heads_append_only before update or delete on ${s}.tree_heads for each row execute function ${s}.audit_append_only();
      create trigger ledger_leaves_no_truncate before truncate on ${s}.ledger_leaves for each statement execute function ${s}.audit_append_only();
      create trigger ledger_nodes_no_truncate before truncate on ${s}.ledger_nodes for each statement execute function ${s}.audit_append_only();
      create trigger tree_heads_no_truncate before truncate on ${s}.tree_heads for each statement execute function ${s}.audit_append_only();
    `,
  },
  {
    version: 4,
    name: 'approvals: rules per session and per tenant, approvals on holds, one config version per tenant',
    sql: (s) => `
      -- A session's own approval rules (its ancestors' are read over the chain).
      alter table ${s}.sessions add column approval_rules jsonb not null default '[]';
      -- A hold opened for a call that waits for a person carries the approval.
      alter table ${s}.holds add column approval_id text, add column approval jsonb;
      create unique index holds_approval on ${s}.holds (tenant, approval_id) where approval_id is not null;
      create index holds_approvals_newest on ${s}.holds (tenant, created_at_ms desc) where approval_id is not null;
      create table ${s}.approval_rules (
        tenant text not null,
        id text not null,
        rule jsonb not null,
        created_at_ms bigint not null,
        -- Rules list in the order they were added.
        position bigserial,
        primary key (tenant, id)
      );
      -- The version now moves with secrets and approval rules alike (the engine caches both by it).
      alter table ${s}.vault_versions rename to config_versions;
    `,
  },
  {
    version: 5,
    name: 'controls: budget windows, rate limits, call caps, active hours, alert thresholds and what they counted',
    sql: (s) => `
      -- The session's controls (null: none), fixed at creation like its limit.
      alter table ${s}.sessions add column controls jsonb;
      -- What they counted (window slots, calls, caps, alerts raised), changed under the row's lock.
      alter table ${s}.sessions add column usage jsonb;
    `,
  },
  {
    version: 6,
    name: 'signed webhooks: registrations per tenant, the delivery outbox, the attempt log',
    sql: (s) => `
      create table ${s}.webhooks (
        id bigserial primary key,
        tenant text not null,
        url text not null,
        name text not null,
        events text[] not null,
        -- An HMAC key must be read back to sign; the table's access is what guards it.
        secret text not null,
        previous_secret text,
        previous_secret_expires_at_ms bigint,
        fire_count bigint not null default 0,
        fail_count bigint not null default 0,
        created_at_ms bigint not null
      );
      create index webhooks_tenant on ${s}.webhooks (tenant, id);
      -- Deliveries still to make: a row leaves when delivered or given up, so the table stays small.
      create table ${s}.webhook_outbox (
        id text primary key,
        tenant text not null,
        webhook_id bigint not null references ${s}.webhooks(id) on delete cascade,
        event_id text not null,
        event_name text not null,
        body text not null,
        attempts int not null default 0,
        next_attempt_at_ms bigint not null
      );
      create index webhook_outbox_due on ${s}.webhook_outbox (next_attempt_at_ms);
      create index webhook_outbox_webhook on ${s}.webhook_outbox (webhook_id);
      create table ${s}.webhook_deliveries (
        position bigserial primary key,
        delivery_id text not null,
        tenant text not null,
        webhook_id bigint not null,
        event_id text not null,
        event_name text not null,
        webhook_url text not null,
        attempt int not null,
        status_code int not null,
        response_excerpt text not null,
        error text not null,
        duration_ms int not null,
        created_at_ms bigint not null
      );
      create index webhook_deliveries_tenant on ${s}.webhook_deliveries (tenant, position desc);
    `,
  },
  {
    version: 7,
    name: 'escrowed slices: a child session draws on budget its ancestors reserved for it',
    sql: (s) => `
      -- The slice a session holds of its ancestors' budget: free, and spent from it but not yet
      -- moved into theirs (by tool); and, on an ancestor, how much of its reserved_micros its
      -- descendants' slices hold. A slice can never go below zero: the database refuses it too.
      alter table ${s}.sessions
        add column slice_free_micros bigint not null default 0,
        add column slice_spent_micros bigint not null default 0,
        add column slice_by_tool jsonb not null default '{}',
        add column held_micros bigint not null default 0,
        add constraint sessions_slice_check check (slice_free_micros >= 0 and slice_spent_micros >= 0 and held_micros >= 0 and held_micros <= reserved_micros);
      -- A hold drawn from its session's slice moves that session's row alone when it closes.
      alter table ${s}.holds add column sliced boolean not null default false;
    `,
  },
]

/** Applies every migration not yet applied to `schema`; returns the versions applied now. */
export async function migrate(pool: Pool, schema: string): Promise<number[]> {
  const client = await pool.connect()
  try {
    // One lock per schema name, held for the session: concurrent starters wait, then find it done.
    await client.query('select pg_advisory_lock(hashtext($1))', [`haldir:${schema}`])
    await client.query(`create schema if not exists ${schema}`)
    await client.query(`create table if not exists ${schema}.haldir_migrations (version int primary key, name text not null, applied_at timestamptz not null default now())`)
    const { rows } = await client.query<{ version: number }>(`select version from ${schema}.haldir_migrations`)
    const done = new Set(rows.map((row) => row.version))
    const applied: number[] = []
    for (const migration of migrations) {
      if (done.has(migration.version)) continue
      await client.query('begin')
      try {
        await client.query(migration.sql(schema))
        await client.query(`insert into ${schema}.haldir_migrations (version, name) values ($1, $2)`, [migration.version, migration.name])
        await client.query('commit')
      } catch (error) {
        await client.query('rollback')
        throw error
      }
      applied.push(migration.version)
    }
    return applied
  } finally {
    await client.query('select pg_advisory_unlock(hashtext($1))', [`haldir:${schema}`]).catch(() => {})
    client.release()
  }
}

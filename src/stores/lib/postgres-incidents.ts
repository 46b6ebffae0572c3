/**
 * The `incidents` table behind {@link IncidentStore}, in PostgreSQL. Optional filters are written as
 * `($1::text IS NULL OR column = $1)` so one statement serves every combination, as in SQLite.
 * `createIfEmpty` locks the table against every other writer (`SHARE ROW EXCLUSIVE`) before it looks, so
 * two processes seeding at once seed once, and a plain `create` cannot slip in between the look and the seed.
 */
import { StoreError } from '../errors.js';
import type { Incident, IncidentFilter, IncidentQuery, IncidentStore, NewIncident } from '../types.js';
import { ID_ATTEMPTS, type IdGenerator } from './ids.js';
import { checkNewIncident, checkQuery, toIncident, type CheckedIncident } from './incidents.js';
import type { PostgresContext, Sql } from './postgres-connection.js';

interface Row {
  id: string;
  title: string;
  description: string;
  severity: Incident['severity'];
  status: Incident['status'];
  service: string;
  reported_by: string;
  created_at: number;
  updated_at: number;
}

const COLUMNS = 'id, title, description, severity, status, service, reported_by, created_at, updated_at';
const WHERE = `($1::text IS NULL OR severity = $1)
  AND ($2::text IS NULL OR status = $2)
  AND ($3::text IS NULL OR service = $3)
  AND ($4::text IS NULL OR starts_with(id, $4))`;

export class PostgresIncidentStore implements IncidentStore {
  constructor(
    private readonly ctx: PostgresContext,
    private readonly newId: IdGenerator,
  ) {}

  async create(input: NewIncident): Promise<Incident> {
    const checked = checkNewIncident(input, this.ctx.nowMs);
    return this.#insertChecked(this.ctx, checked);
  }

  async get(id: string): Promise<Incident | undefined> {
    if (typeof id !== 'string') return undefined;
    const row = await this.ctx.get<Row>(`SELECT ${COLUMNS} FROM incidents WHERE id = $1`, [id]);
    return row && fromRow(row);
  }

  async list(query: IncidentQuery = {}): Promise<Incident[]> {
    const { limit } = checkQuery(query);
    // LIMIT NULL is PostgreSQL for "no limit".
    const rows = await this.ctx.all<Row>(`SELECT ${COLUMNS} FROM incidents WHERE ${WHERE} ORDER BY created_at DESC, seq DESC LIMIT $5`, [...filterParams(query), limit ?? null]);
    return rows.map(fromRow);
  }

  async count(filter: IncidentFilter = {}): Promise<number> {
    checkQuery(filter);
    return (await this.ctx.get<{ n: number }>(`SELECT count(*) AS n FROM incidents WHERE ${WHERE}`, filterParams(filter)))!.n;
  }

  async createIfEmpty(inputs: readonly NewIncident[]): Promise<Incident[]> {
    const checked = inputs.map((input) => checkNewIncident(input, this.ctx.nowMs));
    return this.ctx.transaction(async (tx) => {
      // SHARE ROW EXCLUSIVE conflicts with itself and with INSERT's ROW EXCLUSIVE, not with reads: held to
      // COMMIT, it makes "empty?" and the inserts one step for every writer, in any process.
      await tx.run('LOCK TABLE incidents IN SHARE ROW EXCLUSIVE MODE');
      if (await tx.get('SELECT 1 AS one FROM incidents LIMIT 1')) return [];
      const created: Incident[] = [];
      for (const one of checked) created.push(await this.#insertChecked(tx, one));
      return created;
    });
  }

  /**
   * Inserts with a fresh id, retrying on the rare id collision (another process, same second). The
   * collision is `ON CONFLICT DO NOTHING` rather than a caught error, which would abort a transaction.
   */
  async #insertChecked(sql: Sql, checked: CheckedIncident): Promise<Incident> {
    for (let attempt = 1; ; attempt++) {
      const id = this.newId(checked.createdAtMs);
      const { title, description, severity, status, service, reportedBy, createdAtMs } = checked;
      const inserted = await sql.run(`INSERT INTO incidents (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (id) DO NOTHING`, [
        id, title, description, severity, status, service, reportedBy, createdAtMs,
      ]);
      if (inserted === 1) return toIncident(id, checked);
      if (attempt >= ID_ATTEMPTS) throw new StoreError('unavailable', 'Could not allocate a unique incident id');
    }
  }
}

function filterParams(filter: IncidentFilter): (string | null)[] {
  return [filter.severity ?? null, filter.status ?? null, filter.service ?? null, filter.idPrefix ?? null];
}

function fromRow(row: Row): Incident {
  return Object.freeze({
    id: row.id,
    title: row.title,
    description: row.description,
    severity: row.severity,
    status: row.status,
    service: row.service,
    reportedBy: row.reported_by,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  });
}

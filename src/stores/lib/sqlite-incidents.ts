/**
 * The `incidents` table behind {@link IncidentStore}. Statements are prepared once, when the store opens.
 * Optional filters are written as `(:x IS NULL OR column = :x)` so one prepared statement serves every
 * combination; the tables are small enough that this costs nothing measurable.
 */
import type { Database, Statement } from 'better-sqlite3';
import { StoreError } from '../errors.js';
import { ID_ATTEMPTS, type IdGenerator } from './ids.js';
import { checkNewIncident, checkQuery, toIncident, type CheckedIncident } from './incidents.js';
import type { Incident, IncidentFilter, IncidentQuery, IncidentStore, NewIncident } from '../types.js';

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

interface FilterParams {
  severity: string | null;
  status: string | null;
  service: string | null;
  idPrefix: string | null;
}

const COLUMNS = 'id, title, description, severity, status, service, reported_by, created_at, updated_at';
const WHERE = `(:severity IS NULL OR severity = :severity)
  AND (:status IS NULL OR status = :status)
  AND (:service IS NULL OR service = :service)
  AND (:idPrefix IS NULL OR substr(id, 1, length(:idPrefix)) = :idPrefix)`;

export class SqliteIncidentStore implements IncidentStore {
  readonly #insert: Statement;
  readonly #get: Statement<[string], Row>;
  readonly #list: Statement<[FilterParams & { limit: number }], Row>;
  readonly #count: Statement<[FilterParams], { n: number }>;
  readonly #any: Statement<[], { one: number }>;
  readonly #createIfEmpty: (inputs: readonly CheckedIncident[]) => Incident[];

  constructor(
    db: Database,
    private readonly now: () => number,
    private readonly newId: IdGenerator,
    /** Runs an operation, turning driver errors into StoreErrors. */
    private readonly guard: <T>(fn: () => T) => T,
  ) {
    this.#insert = db.prepare(`INSERT INTO incidents (${COLUMNS})
      VALUES (:id, :title, :description, :severity, :status, :service, :reportedBy, :createdAtMs, :createdAtMs)`);
    this.#get = db.prepare(`SELECT ${COLUMNS} FROM incidents WHERE id = ?`);
    this.#list = db.prepare(`SELECT ${COLUMNS} FROM incidents WHERE ${WHERE} ORDER BY created_at DESC, seq DESC LIMIT :limit`);
    this.#count = db.prepare(`SELECT count(*) AS n FROM incidents WHERE ${WHERE}`);
    this.#any = db.prepare('SELECT 1 AS one FROM incidents LIMIT 1');
    const seed = db.transaction((inputs: readonly CheckedIncident[]) => {
      if (this.#any.get() !== undefined) return [];
      return inputs.map((checked) => this.#insertChecked(checked));
    });
    // IMMEDIATE takes the write lock before the emptiness check, so two processes cannot both see "empty".
    this.#createIfEmpty = (inputs) => seed.immediate(inputs);
  }

  async create(input: NewIncident): Promise<Incident> {
    const checked = checkNewIncident(input, this.now);
    return this.guard(() => this.#insertChecked(checked));
  }

  async get(id: string): Promise<Incident | undefined> {
    if (typeof id !== 'string') return undefined;
    const row = this.guard(() => this.#get.get(id));
    return row && fromRow(row);
  }

  async list(query: IncidentQuery = {}): Promise<Incident[]> {
    const { limit } = checkQuery(query);
    // LIMIT -1 is SQLite for "no limit".
    return this.guard(() => this.#list.all({ ...filterParams(query), limit: limit ?? -1 })).map(fromRow);
  }

  async count(filter: IncidentFilter = {}): Promise<number> {
    checkQuery(filter);
    return this.guard(() => this.#count.get(filterParams(filter))!.n);
  }

  async createIfEmpty(inputs: readonly NewIncident[]): Promise<Incident[]> {
    const checked = inputs.map((input) => checkNewIncident(input, this.now));
    return this.guard(() => this.#createIfEmpty(checked));
  }

  /** Inserts with a fresh id, retrying on the rare id collision (another process, same second). */
  #insertChecked(checked: CheckedIncident): Incident {
    for (let attempt = 1; ; attempt++) {
      const id = this.newId(checked.createdAtMs);
      try {
        this.#insert.run({ id, ...checked });
        return toIncident(id, checked);
      } catch (err) {
        const collided = (err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' && /incidents\.id/.test(String(err));
        if (!collided) throw err;
        if (attempt >= ID_ATTEMPTS) throw new StoreError('unavailable', 'Could not allocate a unique incident id', { cause: err });
      }
    }
  }
}

function filterParams(filter: IncidentFilter): FilterParams {
  return {
    severity: filter.severity ?? null,
    status: filter.status ?? null,
    service: filter.service ?? null,
    idPrefix: filter.idPrefix ?? null,
  };
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

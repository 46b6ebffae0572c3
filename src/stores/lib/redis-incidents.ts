/**
 * Incidents in Redis: one hash per incident (`incident:<id>`) and sorted-set indexes scored by creation
 * time (`incidents:all`, and one per severity, status and service), whose "order" members break ties by
 * insertion. `list` and `count` walk the smallest index that applies, newest first, checking the other
 * filters on the way and stopping at the limit; a lone index filter is counted with ZCARD. Creating checks
 * the id and writes the hash and its indexes in one script; `createIfEmpty` checks emptiness and writes
 * the whole batch in one script, so two processes seeding at once seed once.
 */
import { StoreError } from '../errors.js';
import type { Incident, IncidentFilter, IncidentQuery, IncidentStore, NewIncident } from '../types.js';
import { ID_ATTEMPTS, type IdGenerator } from './ids.js';
import { checkNewIncident, checkQuery, toIncident, type CheckedIncident } from './incidents.js';
import type { RedisConnection, ScriptArg, ScriptCall } from './redis-connection.js';
import { field, hashReply, numberField } from './redis-layout.js';

/** Arguments per incident, in the order `insert` reads them. */
const FIELDS_PER_INCIDENT = 8;

const INSERT = `
-- Writes the incident whose 8 arguments start at ARGV[i]: id, title, description, severity, status, service, reportedBy, createdAt (ms).
local function insert(i)
  local id, severity, status, service, createdAt = ARGV[i], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 7]
  local order = nextOrder(id)
  redis.call('HSET', key('incident', id), 'id', id, 'title', ARGV[i + 1], 'description', ARGV[i + 2], 'severity', severity,
    'status', status, 'service', service, 'reportedBy', ARGV[i + 6], 'createdAt', createdAt, 'updatedAt', createdAt)
  for _, index in ipairs({key('incidents', 'all'), key('incidents', 'by-severity', severity), key('incidents', 'by-status', status), key('incidents', 'by-service', service)}) do
    redis.call('ZADD', index, createdAt, order)
  end
end
`;

const SCRIPTS = {
  /** ARGV: the incident's 8 fields. Returns 0 when the id is taken (the caller retries with another). */
  create: `${INSERT}
if redis.call('EXISTS', key('incident', ARGV[2])) == 1 then return 0 end
insert(2)
return 1
`,
  /** ARGV: count, then 8 fields per incident. Returns -1 when the store holds an incident, 0 on an id collision, 1 when all were written. */
  createIfEmpty: `${INSERT}
if redis.call('ZCARD', key('incidents', 'all')) > 0 then return -1 end
local n, seen = tonumber(ARGV[2]), {}
for j = 0, n - 1 do
  local id = ARGV[3 + j * ${FIELDS_PER_INCIDENT}]
  if seen[id] or redis.call('EXISTS', key('incident', id)) == 1 then return 0 end
  seen[id] = true
end
for j = 0, n - 1 do insert(3 + j * ${FIELDS_PER_INCIDENT}) end
return 1
`,
  get: `return redis.call('HGETALL', key('incident', ARGV[2]))`,
  /**
   * ARGV: severity, status, service, idPrefix (each '' when absent, else '=' .. value), limit (0 = all),
   * count ('1' = return the number of matches). Returns the matching incidents' hashes, newest first.
   */
  query: `
local function filter(arg) if arg == '' then return nil end return string.sub(arg, 2) end
local want = { severity = filter(ARGV[2]), status = filter(ARGV[3]), service = filter(ARGV[4]) }
local idPrefix = filter(ARGV[5])
local limit, countOnly = tonumber(ARGV[6]), ARGV[7] == '1'
local source, size, indexes = key('incidents', 'all'), nil, 0
for name, value in pairs(want) do
  local index = key('incidents', 'by-' .. name, value)
  local n = redis.call('ZCARD', index)
  indexes = indexes + 1
  if size == nil or n < size then source, size = index, n end
end
-- The source index is exact for its own filter: with no other filter, it is the answer.
if countOnly and indexes <= 1 and idPrefix == nil then return redis.call('ZCARD', source) end
local out, matched, start, page = {}, 0, 0, 200
while true do
  local orders = redis.call('ZREVRANGE', source, start, start + page - 1)
  for _, order in ipairs(orders) do
    local id = idOf(order)
    local incident = redis.call('HGETALL', key('incident', id))
    local fields = {}
    for i = 1, #incident, 2 do fields[incident[i]] = incident[i + 1] end
    local ok = #incident > 0 and (idPrefix == nil or string.sub(id, 1, #idPrefix) == idPrefix)
    for name, value in pairs(want) do ok = ok and fields[name] == value end
    if ok then
      matched = matched + 1
      if not countOnly then
        out[matched] = incident
        if matched == limit then return out end
      end
    end
  end
  if #orders < page then break end
  start = start + page
end
if countOnly then return matched end
return out
`,
};

export class RedisIncidentStore implements IncidentStore {
  readonly #scripts: Record<keyof typeof SCRIPTS, ScriptCall>;

  constructor(
    private readonly connection: RedisConnection,
    private readonly newId: IdGenerator,
  ) {
    this.#scripts = connection.scripts('incidents', SCRIPTS);
  }

  async create(input: NewIncident): Promise<Incident> {
    const checked = checkNewIncident(input, this.connection.nowMs);
    for (let attempt = 1; ; attempt++) {
      const id = this.newId(checked.createdAtMs);
      if ((await this.#scripts.create(...incidentArgs(id, checked))) === 1) return toIncident(id, checked);
      if (attempt >= ID_ATTEMPTS) throw new StoreError('unavailable', 'Could not allocate a unique incident id');
    }
  }

  async get(id: string): Promise<Incident | undefined> {
    if (typeof id !== 'string') return undefined;
    const hash = hashReply(await this.#scripts.get(id));
    return hash && fromHash(hash);
  }

  async list(query: IncidentQuery = {}): Promise<Incident[]> {
    const { limit } = checkQuery(query);
    const reply = (await this.#scripts.query(...filterArgs(query), limit ?? 0, '0')) as unknown[];
    return reply.map((incident) => fromHash(hashReply(incident)!));
  }

  async count(filter: IncidentFilter = {}): Promise<number> {
    checkQuery(filter);
    return (await this.#scripts.query(...filterArgs(filter), 0, '1')) as number;
  }

  async createIfEmpty(inputs: readonly NewIncident[]): Promise<Incident[]> {
    // Check everything first, so a bad record leaves the store as it was.
    const checked = inputs.map((input) => checkNewIncident(input, this.connection.nowMs));
    for (let attempt = 1; ; attempt++) {
      const ids = checked.map((incident) => this.newId(incident.createdAtMs));
      const args = checked.flatMap((incident, i) => incidentArgs(ids[i]!, incident));
      const written = (await this.#scripts.createIfEmpty(checked.length, ...args)) as number;
      if (written === -1) return [];
      if (written === 1) return checked.map((incident, i) => toIncident(ids[i]!, incident));
      if (attempt >= ID_ATTEMPTS) throw new StoreError('unavailable', 'Could not allocate unique incident ids');
    }
  }
}

function incidentArgs(id: string, c: CheckedIncident): ScriptArg[] {
  return [id, c.title, c.description, c.severity, c.status, c.service, c.reportedBy, c.createdAtMs];
}

/** Each filter as the query script takes it: '' when absent, '=' + value when present (an empty value is a filter too). */
function filterArgs(filter: IncidentFilter): string[] {
  return [filter.severity, filter.status, filter.service, filter.idPrefix].map((value) => (value === undefined ? '' : `=${value}`));
}

function fromHash(hash: Map<string, string>): Incident {
  return Object.freeze({
    id: field(hash, 'id'),
    title: field(hash, 'title'),
    description: field(hash, 'description'),
    severity: field(hash, 'severity') as Incident['severity'],
    status: field(hash, 'status') as Incident['status'],
    service: field(hash, 'service'),
    reportedBy: field(hash, 'reportedBy'),
    createdAt: new Date(numberField(hash, 'createdAt')).toISOString(),
    updatedAt: new Date(numberField(hash, 'updatedAt')).toISOString(),
  });
}

/**
 * Rules every incident store applies before touching its data, so each adapter checks the same things in
 * one place and a bad record is refused before anything is written.
 */
import { z } from 'zod';
import { StoreError } from '../errors.js';
import { INCIDENT_LIMITS, INCIDENT_STATUSES, SEVERITIES, type Incident, type IncidentQuery, type IncidentStatus, type NewIncident, type Severity } from '../types.js';

const text = (max: number) => z.string().trim().min(1).max(max);

const newIncidentSchema = z.strictObject({
  title: text(INCIDENT_LIMITS.title),
  description: text(INCIDENT_LIMITS.description),
  severity: z.enum(SEVERITIES),
  service: text(INCIDENT_LIMITS.service),
  reportedBy: text(INCIDENT_LIMITS.reportedBy),
  status: z.enum(INCIDENT_STATUSES).optional(),
  createdAt: z.date().optional(), // zod refuses an Invalid Date
});

/** A new incident after checking: strings trimmed, defaults applied. */
export interface CheckedIncident {
  title: string;
  description: string;
  severity: Severity;
  service: string;
  reportedBy: string;
  status: IncidentStatus;
  createdAtMs: number;
}

/**
 * Checks one new incident: every string present, non-empty after trimming and within
 * {@link INCIDENT_LIMITS}; severity and status from their lists; no unknown fields; a valid date.
 * Throws `StoreError('invalid_record')` naming the fields (never their values).
 */
export function checkNewIncident(input: NewIncident, now: () => number): CheckedIncident {
  const parsed = newIncidentSchema.safeParse(input);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(record)'))];
    throw new StoreError('invalid_record', `Invalid incident: check ${fields.join(', ')}`, { cause: parsed.error });
  }
  const { createdAt, status, ...rest } = parsed.data;
  return { ...rest, status: status ?? 'open', createdAtMs: createdAt ? createdAt.getTime() : now() };
}

/** A query with its limit checked: a positive integer, or undefined for all. */
export function checkQuery(query: IncidentQuery): IncidentQuery {
  const { limit } = query;
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) {
    throw new StoreError('invalid_record', 'Invalid incident query: limit must be a positive integer');
  }
  for (const [field, allowed] of [
    ['severity', SEVERITIES],
    ['status', INCIDENT_STATUSES],
  ] as const) {
    const value = query[field];
    if (value !== undefined && !(allowed as readonly string[]).includes(value)) {
      throw new StoreError('invalid_record', `Invalid incident query: unknown ${field}`);
    }
  }
  return query;
}

/** The public record for stored fields; ISO strings for times. */
export function toIncident(id: string, checked: CheckedIncident): Incident {
  const iso = new Date(checked.createdAtMs).toISOString();
  return Object.freeze({
    id,
    title: checked.title,
    description: checked.description,
    severity: checked.severity,
    status: checked.status,
    service: checked.service,
    reportedBy: checked.reportedBy,
    createdAt: iso,
    updatedAt: iso,
  });
}

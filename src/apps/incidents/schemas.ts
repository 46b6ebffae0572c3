/**
 * The incident tracker's wire shapes: zod schemas for tool inputs (they become the JSON Schema of
 * `tools/list`) and outputs (`structuredContent`), the scopes, and the one-line text form of an incident.
 */
import { z } from 'zod';
import { INCIDENT_LIMITS, INCIDENT_STATUSES, SEVERITIES, type Incident } from '../../stores/types.js';

/** The tracker's scopes (ARCHITECTURE §5). */
export const SCOPES = { read: 'incidents:read', write: 'incidents:write' } as const;

const text = (max: number, description: string) => z.string().trim().min(1).max(max).describe(description);

export const severitySchema = z.enum(SEVERITIES).describe('How bad it is: critical, high, medium or low');
export const statusSchema = z.enum(INCIDENT_STATUSES).describe('open, investigating, resolved or closed');

/** Largest `limit` of `list_incidents`, and its default. */
export const LIST_LIMIT = { max: 100, default: 20 } as const;

export const createIncidentInput = z.object({
  title: text(INCIDENT_LIMITS.title, 'One-line summary, e.g. "Checkout returns 500 for EU customers"'),
  description: text(INCIDENT_LIMITS.description, 'What is happening, since when, and what is affected'),
  severity: severitySchema,
  service: text(INCIDENT_LIMITS.service, 'The affected service, e.g. checkout-api'),
});

export const listIncidentsInput = z.object({
  severity: severitySchema.optional(),
  status: statusSchema.optional(),
  service: text(INCIDENT_LIMITS.service, 'Only incidents of this service (exact name)').optional(),
  limit: z.number().int().min(1).max(LIST_LIMIT.max).default(LIST_LIMIT.default).describe(`How many, newest first (1-${LIST_LIMIT.max})`),
});

/** An ISO 8601 UTC time. (Not `z.iso.datetime()`: its JSON Schema carries a 400-character pattern.) */
const isoTime = z.string().describe('ISO 8601 time, UTC');

export const incidentSchema = z.object({
  id: z.string(),
  title: z.string(),
  description: z.string(),
  severity: z.enum(SEVERITIES),
  status: z.enum(INCIDENT_STATUSES),
  service: z.string(),
  reportedBy: z.string(),
  createdAt: isoTime,
  updatedAt: isoTime,
});

export const createIncidentOutput = z.object({ incident: incidentSchema });

export const listIncidentsOutput = z.object({
  incidents: z.array(incidentSchema),
  total: z.number().int().describe('How many incidents match the filters in all (the list holds at most `limit` of them)'),
});

export const userInfoOutput = z.object({
  subject: z.string(),
  clientId: z.string(),
  scopes: z.array(z.string()),
  expiresAt: isoTime,
  expiresInSeconds: z.number().int(),
});

/** `INC-… [high/open] checkout-api: Checkout returns 500` */
export function incidentLine(incident: Incident): string {
  return `${incident.id} [${incident.severity}/${incident.status}] ${incident.service}: ${incident.title}`;
}


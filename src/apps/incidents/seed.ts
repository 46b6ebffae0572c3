import type { Incident, NewIncident, Store } from '../../stores/types.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

type Sample = Omit<NewIncident, 'createdAt'> & { readonly ago: number };

/** Sample incidents a new installation starts with, so the tools have something to show. */
const SAMPLES: readonly Sample[] = [
  {
    title: 'Card payments failing with 502 from the payment processor',
    description:
      'Since 08:40 UTC about 30% of card authorisations return 502 Bad Gateway from the processor. Retries succeed ' +
      'intermittently. Checkout conversion down 18%. Processor status page shows no incident yet.',
    severity: 'critical',
    status: 'investigating',
    service: 'payments-api',
    reportedBy: 'pagerduty-integration',
    ago: 35 * MINUTE,
  },
  {
    title: 'Checkout page p99 latency above 4 seconds',
    description:
      'p99 of GET /checkout rose from 900 ms to 4.2 s after the 07:15 deploy. p50 unchanged. Suspect the new ' +
      'recommendations widget making a blocking call.',
    severity: 'high',
    status: 'open',
    service: 'checkout-web',
    reportedBy: 'alice@example.com',
    ago: 2 * HOUR,
  },
  {
    title: 'Password reset emails delayed by up to 20 minutes',
    description: 'Support has 14 tickets about late reset emails. The mail queue depth peaks at 40k every hour on the hour.',
    severity: 'medium',
    status: 'open',
    service: 'auth-service',
    reportedBy: 'support-desk',
    ago: 5 * HOUR,
  },
  {
    title: 'Replication lag on the orders replica above 90 seconds',
    description:
      'orders-replica-2 lags the primary by 90-140 s during the nightly batch import. Reports read from the ' +
      'replica show missing orders.',
    severity: 'high',
    status: 'investigating',
    service: 'orders-db',
    reportedBy: 'bob@example.com',
    ago: 9 * HOUR,
  },
  {
    title: 'TLS certificate for api.example.com expires in 6 days',
    description: 'Automatic renewal failed twice: the DNS-01 challenge record could not be written (permission denied).',
    severity: 'medium',
    status: 'open',
    service: 'api-gateway',
    reportedBy: 'cert-monitor',
    ago: 1 * DAY,
  },
  {
    title: 'Status page shows stale uptime figures',
    description: 'The uptime widget has shown 99.98% for three days; the exporter job has been crash-looping since the config change.',
    severity: 'low',
    status: 'open',
    service: 'status-page',
    reportedBy: 'carol@example.com',
    ago: 2 * DAY,
  },
  {
    title: 'Search results missing products added in the last hour',
    description: 'The indexer consumer group stalled after a rebalance. Restarted the consumers; the backlog drained in 12 minutes.',
    severity: 'medium',
    status: 'resolved',
    service: 'search-api',
    reportedBy: 'dave@example.com',
    ago: 4 * DAY,
  },
];

/**
 * Puts the sample incidents into an empty store; leaves a store that holds any incident untouched. Safe
 * to call on every start, and from two processes starting at once on one SQLite file: the check and the
 * inserts are one atomic `createIfEmpty`. Resolves with what it created ([] when there was data already).
 *
 * @example
 * const store = await openStore(url, { logger });
 * const seeded = await seedIncidents(store);
 * if (seeded.length > 0) logger.info({ count: seeded.length }, 'sample incidents created');
 */
export async function seedIncidents(store: Store, options: { now?: () => Date } = {}): Promise<Incident[]> {
  const now = (options.now ?? (() => new Date()))().getTime();
  // Oldest first, so that on equal times insertion order matches the timeline.
  const inputs = [...SAMPLES]
    .sort((a, b) => b.ago - a.ago)
    .map(({ ago, ...sample }): NewIncident => ({ ...sample, createdAt: new Date(now - ago) }));
  return store.incidents.createIfEmpty(inputs);
}

/** How many incidents {@link seedIncidents} creates in an empty store. */
export const SAMPLE_COUNT = SAMPLES.length;

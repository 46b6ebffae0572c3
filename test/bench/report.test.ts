/**
 * The bench's throughput ratios (bench/report.ts): round by round, a machine that is twice as fast in one
 * round moves both rows of that round, and the paired ratio sees through it where the ratio of medians
 * does not; a target is met only when both reach it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gatewayTargetLines, pairedRpsRatio, summarize, type RoundSample, type RowResult } from '../../bench/report.js';
import type { RowId } from '../../bench/lib/options.js';

function round(index: number, rps: number, cpu = 50, other?: number): RoundSample {
  const sample: RoundSample = { round: index, requests: rps * 5, seconds: 5, rps, p50: 1, p90: 1.5, p99: 2, max: 3, non2xx: 0, errors: 0, timeouts: 0, mismatches: 0, cpuMicrosPerRequest: cpu, stdoutBytesPerRequest: 0 };
  return other === undefined ? sample : { ...sample, otherCpuMicrosPerRequest: other };
}

function row(id: RowId, rounds: RoundSample[]): RowResult {
  return { id, label: id, operation: 'tools/call', rounds, ...(id.startsWith('gateway-') || id.endsWith('forwarder') ? { others: 'backend' as const } : {}) };
}

describe('bench report', () => {
  // The machine runs at 2× in round 2: each round, the gateway makes exactly half of the backend's req/s,
  // but the medians come from different rounds.
  const results = [
    row('backend', [round(1, 10_000), round(2, 20_000), round(3, 20_000)]),
    row('gateway-http', [round(1, 5_000, 100, 50), round(2, 10_000, 100, 50), round(3, 4_000, 120, 40)]),
  ];

  it('pairs the rounds: the median of each round’s own ratio, null without a common round', () => {
    assert.equal(pairedRpsRatio(results, 'gateway-http', 'backend'), 0.5);
    assert.equal(pairedRpsRatio(results, 'gateway-http', 'floor'), null);
  });

  it('a throughput target is met only when the ratio of medians and the paired ratio both reach it', () => {
    const lines = gatewayTargetLines(summarize(results), results);
    // medians: 5000 / 20000 = 0.25; round by round 0.5, 0.5, 0.2 → 0.5
    assert.ok(lines.includes('target gateway-http ≥ 0.45× the backend called directly (medians 5000 against 20000 req/s): 0.25×; round by round 0.50× — MISSED'), lines.join('\n'));
    assert.ok(lines.includes('target gateway-http CPU per proxied call ≤ 2× the backend\'s: 2.00× (medians 100 and 50 µs/req) — met'), lines.join('\n'));
  });

  it('names what each bare bridge reaches, the anchors of the HTTP and the stdio gateway', () => {
    const anchored = [
      ...results,
      row('forwarder', [round(1, 4_000, 80, 40), round(2, 8_000, 80, 40), round(3, 8_000, 80, 40)]),
      row('stdio-forwarder', [round(1, 6_000, 60, 20), round(2, 12_000, 60, 20), round(3, 12_000, 60, 20)]),
    ];
    const lines = gatewayTargetLines(summarize(anchored), anchored);
    assert.ok(lines.includes('anchor: the bare forwarder reaches 0.40× (round by round 0.40×) the backend called directly, its CPU per call 2.00× the backend\'s'), lines.join('\n'));
    assert.ok(lines.includes('anchor: the bare stdio bridge reaches 0.60× (round by round 0.60×) the backend called directly, its CPU per call 3.00× the backend\'s'), lines.join('\n'));
  });
});

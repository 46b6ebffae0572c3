/**
 * The contract every store must pass. `storeContract(name, makeTarget)` registers the suite; each test
 * asks `makeTarget()` for a fresh, empty location and opens stores on it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StoreError } from '../../src/stores/errors.js';
import { INCIDENT_ID_PATTERN, type IdGenerator } from '../../src/stores/lib/ids.js';
import type { NewIncident, Store } from '../../src/stores/types.js';

export interface StoreTarget {
  /** Opens a store on this target's data. A new target is empty. */
  open(options?: { newId?: IdGenerator }): Promise<Store>;
  /** True when data survives `close()` and a later `open()`. */
  readonly durable: boolean;
  /**
   * When another process can share the data: starts one that creates `count` incidents of `service`.
   * Resolves as it starts writing, with `finished` settling when it is done.
   */
  startWriterProcess?(count: number, service: string): Promise<{ finished: Promise<void> }>;
  cleanup(): Promise<void>;
}

export const sample = (overrides: Partial<NewIncident> = {}): NewIncident => ({
  title: 'Checkout returns 500',
  description: 'Since 09:12 UTC, EU only',
  severity: 'high',
  service: 'checkout-api',
  reportedBy: 'alice',
  ...overrides,
});

const at = (iso: string) => new Date(iso);

async function rejectsInvalid(promise: Promise<unknown>): Promise<void> {
  await assert.rejects(promise, (err: unknown) => err instanceof StoreError && err.code === 'invalid_record');
}

export function storeContract(name: string, makeTarget: () => Promise<StoreTarget>): void {
  /** Runs `fn` on a store opened on a fresh target, then closes and cleans up. */
  const withStore = (fn: (store: Store, target: StoreTarget) => Promise<void>) => async () => {
    const target = await makeTarget();
    const store = await target.open();
    try {
      await fn(store, target);
    } finally {
      await store.close();
      await target.cleanup();
    }
  };

  describe(`store contract: ${name}`, () => {
    it('creates, trims, defaults and gets an incident', withStore(async (store) => {
      const before = Date.now();
      const created = await store.incidents.create(sample({ title: '  Checkout returns 500  ' }));
      assert.match(created.id, INCIDENT_ID_PATTERN);
      assert.equal(created.title, 'Checkout returns 500');
      assert.equal(created.status, 'open');
      assert.equal(created.reportedBy, 'alice');
      assert.ok(Date.parse(created.createdAt) >= before - 1 && Date.parse(created.createdAt) <= Date.now());
      assert.equal(created.updatedAt, created.createdAt);
      assert.deepEqual(await store.incidents.get(created.id), created);
      assert.equal(await store.incidents.get('INC-0000000000000'), undefined);
      assert.equal(await store.incidents.get(''), undefined);
    }));

    it('keeps a given status and creation time', withStore(async (store) => {
      const created = await store.incidents.create(sample({ status: 'resolved', createdAt: at('2024-05-01T10:00:00.123Z') }));
      assert.equal(created.status, 'resolved');
      assert.equal(created.createdAt, '2024-05-01T10:00:00.123Z');
      assert.ok(created.id.localeCompare((await store.incidents.create(sample())).id) < 0, 'ids sort by creation time');
    }));

    it('hands out snapshots: changing a returned record changes nothing stored', withStore(async (store) => {
      const created = await store.incidents.create(sample());
      assert.throws(() => ((created as { title: string }).title = 'changed'));
      assert.equal((await store.incidents.get(created.id))?.title, 'Checkout returns 500');
    }));

    it('lists newest first, filters, limits and counts', withStore(async (store) => {
      const a = await store.incidents.create(sample({ severity: 'critical', service: 'db', createdAt: at('2024-01-01T00:00:00Z') }));
      const b = await store.incidents.create(sample({ severity: 'low', service: 'web', status: 'resolved', createdAt: at('2024-01-03T00:00:00Z') }));
      const c = await store.incidents.create(sample({ severity: 'critical', service: 'web', createdAt: at('2024-01-02T00:00:00Z') }));
      const d = await store.incidents.create(sample({ severity: 'critical', service: 'web', createdAt: at('2024-01-02T00:00:00Z') }));
      const ids = (list: { id: string }[]) => list.map((i) => i.id);
      assert.deepEqual(ids(await store.incidents.list()), [b.id, d.id, c.id, a.id], 'equal times: later insert first');
      assert.deepEqual(ids(await store.incidents.list({ limit: 2 })), [b.id, d.id]);
      assert.deepEqual(ids(await store.incidents.list({ severity: 'critical' })), [d.id, c.id, a.id]);
      assert.deepEqual(ids(await store.incidents.list({ severity: 'critical', service: 'web', limit: 1 })), [d.id]);
      assert.deepEqual(ids(await store.incidents.list({ status: 'resolved' })), [b.id]);
      assert.deepEqual(ids(await store.incidents.list({ service: 'WEB' })), [], 'service is exact');
      assert.deepEqual(ids(await store.incidents.list({ idPrefix: a.id })), [a.id]);
      assert.equal((await store.incidents.list({ idPrefix: 'INC-' })).length, 4);
      assert.equal((await store.incidents.list({ idPrefix: 'NOPE' })).length, 0);
      assert.equal(await store.incidents.count(), 4);
      assert.equal(await store.incidents.count({ severity: 'critical', service: 'web' }), 2);
      assert.equal(await store.incidents.count({ status: 'investigating' }), 0);
    }));

    it('lands 100 concurrent creates with distinct ids', withStore(async (store) => {
      const created = await Promise.all(Array.from({ length: 100 }, (_, n) => store.incidents.create(sample({ title: `Incident ${n}` }))));
      assert.equal(new Set(created.map((i) => i.id)).size, 100);
      assert.equal(await store.incidents.count(), 100);
      const titles = new Set((await store.incidents.list()).map((i) => i.title));
      for (let n = 0; n < 100; n++) assert.ok(titles.has(`Incident ${n}`));
    }));

    it('retries with a fresh id when a generated id is taken', async () => {
      const target = await makeTarget();
      const sequence = ['INC-0000000000001', 'INC-0000000000001', 'INC-0000000000001', 'INC-0000000000002'];
      const store = await target.open({ newId: () => sequence.shift() ?? 'INC-0000000000003' });
      try {
        const first = await store.incidents.create(sample());
        const second = await store.incidents.create(sample());
        assert.deepEqual([first.id, second.id], ['INC-0000000000001', 'INC-0000000000002']);
        await assert.rejects(store.incidents.create(sample()).then(() => store.incidents.create(sample())), StoreError, 'gives up after a few attempts');
      } finally {
        await store.close();
        await target.cleanup();
      }
    });

    it('rejects bad input without storing anything or touching what is stored', withStore(async (store) => {
      const kept = await store.incidents.create(sample());
      const bad: unknown[] = [
        sample({ title: '' }),
        sample({ title: ' \n\t ' }),
        sample({ title: 'x'.repeat(201) }),
        sample({ description: 'x'.repeat(5001) }),
        sample({ service: 'x'.repeat(101) }),
        sample({ reportedBy: '' }),
        { ...sample(), severity: 'urgent' },
        { ...sample(), status: 'deleted' },
        { ...sample(), createdAt: new Date('not a date') },
        { ...sample(), id: 'INC-0000000000009' },
        { ...sample(), title: 42 },
        { title: 'only a title' },
      ];
      for (const input of bad) await rejectsInvalid(store.incidents.create(input as NewIncident));
      await rejectsInvalid(store.incidents.createIfEmpty([sample(), { ...sample(), severity: 'urgent' } as unknown as NewIncident]));
      for (const query of [{ limit: 0 }, { limit: 1.5 }, { limit: -1 }, { severity: 'urgent' }, { status: 'gone' }]) {
        await rejectsInvalid(store.incidents.list(query as never));
      }
      assert.equal(await store.incidents.count(), 1);
      assert.deepEqual(await store.incidents.get(kept.id), kept);
      assert.equal((await store.incidents.create(sample({ title: 'x'.repeat(200) }))).title.length, 200, 'limits are inclusive');
    }));

    it('createIfEmpty seeds an empty store once, atomically', withStore(async (store) => {
      await rejectsInvalid(store.incidents.createIfEmpty([sample(), sample({ title: '' })]));
      assert.equal(await store.incidents.count(), 0, 'a bad batch stores none of it');
      const batch = [sample({ title: 'one' }), sample({ title: 'two' }), sample({ title: 'three' })];
      const results = await Promise.all(Array.from({ length: 10 }, () => store.incidents.createIfEmpty(batch)));
      assert.deepEqual(results.map((r) => r.length).sort(), [0, 0, 0, 0, 0, 0, 0, 0, 0, 3]);
      assert.equal(await store.incidents.count(), 3);
      assert.deepEqual(await store.incidents.createIfEmpty(batch), []);
    }));

    it('rejects calls after close, and closing twice is harmless', async () => {
      const target = await makeTarget();
      const store = await target.open();
      await store.close();
      await store.close();
      await assert.rejects(store.incidents.create(sample()), (err: unknown) => err instanceof StoreError && err.code === 'closed');
      await assert.rejects(store.incidents.list(), (err: unknown) => err instanceof StoreError && err.code === 'closed');
      await target.cleanup();
    });

    it('answers ping while open (what /ready asks), and rejects it with closed after close', async () => {
      const target = await makeTarget();
      const store = await target.open();
      try {
        assert.equal(await store.ping(), undefined);
        await Promise.all(Array.from({ length: 10 }, () => store.ping()));
      } finally {
        await store.close();
      }
      await assert.rejects(store.ping(), (err: unknown) => err instanceof StoreError && err.code === 'closed');
      await target.cleanup();
    });

    it('keeps everything across close and reopen (durable stores)', async (t) => {
      const target = await makeTarget();
      if (!target.durable) return t.skip('not durable');
      try {
        const first = await target.open();
        const created = await Promise.all(Array.from({ length: 20 }, (_, n) => first.incidents.create(sample({ title: `T${n}` }))));
        const listed = await first.incidents.list();
        await first.close();
        const second = await target.open();
        assert.deepEqual(await second.incidents.list(), listed);
        assert.deepEqual(await second.incidents.get(created[7]!.id), created[7]);
        assert.deepEqual(await second.incidents.createIfEmpty([sample()]), []);
        await second.close();
      } finally {
        await target.cleanup();
      }
    });

    it('loses nothing when another process writes the same data at the same time', async (t) => {
      const target = await makeTarget();
      if (!target.startWriterProcess) return t.skip('not shared between processes');
      const store = await target.open();
      try {
        const other = await target.startWriterProcess(150, 'other-process');
        const mine: Promise<unknown>[] = [];
        for (let n = 0; n < 150; n++) {
          mine.push(store.incidents.create(sample({ service: 'this-process', title: `mine ${n}` })));
          await new Promise((resolve) => setImmediate(resolve)); // let the other process interleave
        }
        await Promise.all([other.finished, ...mine]);
        assert.equal(await store.incidents.count({ service: 'this-process' }), 150);
        assert.equal(await store.incidents.count({ service: 'other-process' }), 150);
        const all = await store.incidents.list();
        assert.equal(new Set(all.map((i) => i.id)).size, 300);
      } finally {
        await store.close();
        await target.cleanup();
      }
    });
  });
}

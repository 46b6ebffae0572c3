import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { registerIncidents, SAMPLE_COUNT, seedIncidents } from '../../src/apps/incidents/index.js';
import { JsonRpcCode, JsonRpcError } from '../../src/core/errors.js';
import { Registry } from '../../src/mcp/registry.js';
import { createMemoryStore } from '../../src/stores/memory.js';
import { openSqliteStore } from '../../src/stores/sqlite.js';
import type { Incident, Store } from '../../src/stores/types.js';
import { authInfo, callContext, callTool, NOW, textOf } from './fixtures/context.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SEEDER = fileURLToPath(new URL('./fixtures/seeder.ts', import.meta.url));
const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function sqliteFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-incidents-'));
  dirs.push(dir);
  return join(dir, 'portcullis.db');
}

function app(store: Store): Registry {
  const registry = new Registry();
  registerIncidents(registry, store, { now: () => NOW });
  return registry;
}

const report = { title: 'Checkout returns 500', description: 'EU customers since 09:12 UTC', severity: 'high', service: 'checkout-api' } as const;

const stores: [string, () => Promise<Store>][] = [
  ['memory', async () => createMemoryStore()],
  ['sqlite', async () => openSqliteStore(await sqliteFile())],
];

describe('incident tracker registration', () => {
  it('registers the tools, resources and prompt of ARCHITECTURE §5 with their scopes and honest annotations', () => {
    const registry = app(createMemoryStore());
    const scopes = (items: Map<string, { scopes?: readonly string[] }>) => Object.fromEntries([...items].map(([k, v]) => [k, v.scopes ?? []]));
    assert.deepEqual(scopes(registry.tools), {
      create_incident: ['incidents:write'], list_incidents: ['incidents:read'], get_user_info: [], get_current_time: [], add: [],
    });
    assert.deepEqual(scopes(registry.resources), { 'incidents://all': ['incidents:read'] });
    assert.deepEqual(scopes(registry.templates), { 'incidents://{id}': ['incidents:read'] });
    assert.deepEqual(scopes(registry.prompts), { triage_incidents: ['incidents:read'] });
    assert.deepEqual(registry.scopes(), ['incidents:read', 'incidents:write']);
    assert.equal(registry.tools.get('create_incident')?.annotations?.readOnlyHint, false);
    for (const name of ['list_incidents', 'get_user_info', 'get_current_time', 'add']) assert.equal(registry.tools.get(name)?.annotations?.readOnlyHint, true, name);
  });
});

describe('tool input validation (the zod schemas the core applies)', () => {
  const registry = app(createMemoryStore());
  const input = (name: string) => registry.tools.get(name)!.input as import('zod').ZodObject;

  it('create_incident: required, trimmed, non-empty, within limits, known severity', () => {
    assert.deepEqual(input('create_incident').parse({ ...report, title: '  Checkout returns 500 ' }).title, 'Checkout returns 500');
    for (const bad of [
      {}, { ...report, title: undefined }, { ...report, title: '   ' }, { ...report, title: 'x'.repeat(201) },
      { ...report, description: 'x'.repeat(5001) }, { ...report, service: 'x'.repeat(101) }, { ...report, service: '' },
      { ...report, severity: 'urgent' }, { ...report, severity: 'HIGH' }, { ...report, title: 7 },
    ]) assert.equal(input('create_incident').safeParse(bad).success, false, JSON.stringify(bad).slice(0, 80));
    assert.equal(input('create_incident').safeParse({ ...report, title: 'x'.repeat(200), description: 'y'.repeat(5000), service: 'z'.repeat(100) }).success, true);
  });

  it('list_incidents: optional filters, limit 1..100 defaulting to 20', () => {
    assert.deepEqual(input('list_incidents').parse({}), { limit: 20 });
    for (const bad of [{ limit: 0 }, { limit: 101 }, { limit: 2.5 }, { limit: '5' }, { status: 'gone' }, { severity: 'urgent' }]) {
      assert.equal(input('list_incidents').safeParse(bad).success, false, JSON.stringify(bad));
    }
    assert.equal(input('add').safeParse({ a: 1, b: '2' }).success, false);
  });
});

for (const [kind, open] of stores) {
  describe(`incident tracker on a ${kind} store`, () => {
    it('create_incident records the reporter from the token; list_incidents filters, limits and counts', async () => {
      const store = await open();
      const registry = app(store);
      const ctx = callContext(authInfo({ subject: 'bob@example.com' }));
      const created = await callTool(registry, 'create_incident', { ...report, title: '  Checkout returns 500 ' }, ctx);
      const { incident } = registry.tools.get('create_incident')!.output!.parse(created.structuredContent) as { incident: Incident };
      assert.deepEqual([incident.title, incident.status, incident.reportedBy, incident.createdAt], ['Checkout returns 500', 'open', 'bob@example.com', NOW.toISOString()]);
      assert.match(textOf(created), new RegExp(`^Created ${incident.id} \\[high/open\\] checkout-api: Checkout returns 500$`));
      await callTool(registry, 'create_incident', { ...report, severity: 'critical', service: 'payments-api' });
      await callTool(registry, 'create_incident', { ...report, severity: 'low' });

      const all = await callTool(registry, 'list_incidents', {});
      const listed = registry.tools.get('list_incidents')!.output!.parse(all.structuredContent) as { incidents: Incident[]; total: number };
      assert.equal(listed.total, 3);
      assert.match(textOf(all), /^3 incidents, newest first:\n- INC-/);
      const filtered = await callTool(registry, 'list_incidents', { service: 'checkout-api', limit: 1 });
      assert.deepEqual([(filtered.structuredContent as typeof listed).incidents.length, (filtered.structuredContent as typeof listed).total], [1, 2]);
      assert.match(textOf(filtered), /^1 of 2 incidents/);
      assert.equal(textOf(await callTool(registry, 'list_incidents', { status: 'resolved' })), 'No incidents match.');
      await store.close();
    });

    it('serves incidents://all and incidents://{id}, completes ids and lists recent ones', async () => {
      const store = await open();
      const registry = app(store);
      const ctx = callContext();
      const seeded = await seedIncidents(store, { now: () => NOW });
      const [all] = await registry.resources.get('incidents://all')!.read(ctx);
      assert.equal(all?.mimeType, 'application/json');
      assert.deepEqual(JSON.parse((all as { text: string }).text), await store.incidents.list());

      const template = registry.templates.get('incidents://{id}')!;
      const one = seeded[0]!;
      const [read] = (await template.read(`incidents://${one.id}`, { id: one.id }, ctx))!;
      assert.deepEqual([read?.uri, JSON.parse((read as { text: string }).text)], [`incidents://${one.id}`, one]);
      assert.equal(await template.read('incidents://INC-0000000000000', { id: 'INC-0000000000000' }, ctx), undefined);
      assert.equal((await template.list!(ctx)).length, SAMPLE_COUNT);

      const completions = await template.complete!.id!(one.id.slice(0, 12).toLowerCase(), { arguments: {}, auth: ctx.auth });
      assert.ok(completions.includes(one.id) && completions.every((id) => id.startsWith(one.id.slice(0, 12))));
      assert.deepEqual(await template.complete!.id!('INC-ZZZZ', { arguments: {}, auth: ctx.auth }), []);
      await store.close();
    });

    it('lands 100 concurrent create_incident calls', async () => {
      const store = await open();
      const registry = app(store);
      const results = await Promise.all(Array.from({ length: 100 }, (_, n) => callTool(registry, 'create_incident', { ...report, title: `Incident ${n}` })));
      const ids = results.map((r) => (r.structuredContent as { incident: Incident }).incident.id);
      assert.equal(new Set(ids).size, 100);
      assert.equal(await store.incidents.count(), 100);
      await store.close();
    });

    it('seeds an empty store once and leaves a non-empty one alone', async () => {
      const store = await open();
      const seeded = await seedIncidents(store);
      assert.ok(SAMPLE_COUNT >= 5 && SAMPLE_COUNT <= 8 && seeded.length === SAMPLE_COUNT);
      assert.ok(new Set(seeded.map((i) => i.severity)).size === 4 && seeded.some((i) => i.status !== 'open'));
      assert.deepEqual(await seedIncidents(store), []);
      assert.equal(await store.incidents.count(), SAMPLE_COUNT);
      await store.close();

      const used = await open();
      await callTool(app(used), 'create_incident', report);
      assert.deepEqual(await seedIncidents(used), []);
      assert.equal(await used.incidents.count(), 1);
      await used.close();
    });
  });
}

describe('incident tracker persistence (sqlite)', () => {
  it('keeps created incidents across reopen and does not seed again', async () => {
    const file = await sqliteFile();
    const first = openSqliteStore(file);
    await seedIncidents(first);
    const created = await callTool(app(first), 'create_incident', report);
    await first.close();
    const second = openSqliteStore(file);
    assert.deepEqual(await seedIncidents(second), []);
    assert.equal(await second.incidents.count(), SAMPLE_COUNT + 1);
    const { incident } = created.structuredContent as { incident: Incident };
    assert.deepEqual(await second.incidents.get(incident.id), incident);
    await second.close();
  });

  it('seeds once when three processes start on a new file at the same moment', async () => {
    const file = await sqliteFile();
    const seeders = Array.from({ length: 3 }, () => spawn(process.execPath, ['--import', 'tsx', SEEDER, file], { cwd: ROOT }));
    const outputs = seeders.map((child) => {
      let out = '';
      child.stdout.on('data', (chunk) => (out += chunk));
      const ready = new Promise<void>((resolve) => child.stdout.on('data', () => out.startsWith('ready') && resolve()));
      const done = new Promise<string>((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`seeder exited ${code}`)))));
      return { child, ready, done };
    });
    await Promise.all(outputs.map((o) => o.ready));
    for (const { child } of outputs) child.stdin.end('go\n');
    const created = (await Promise.all(outputs.map((o) => o.done))).map((out) => Number(/created (\d+)/.exec(out)?.[1]));
    assert.deepEqual(created.sort(), [0, 0, SAMPLE_COUNT]);
    const store = openSqliteStore(file);
    assert.equal(await store.incidents.count(), SAMPLE_COUNT);
    await store.close();
  });
});

describe('small tools', () => {
  const registry = app(createMemoryStore());

  it('get_user_info shows subject, client, scopes and expiry (ISO and seconds left), never the token', async () => {
    const result = await callTool(registry, 'get_user_info', {}, callContext(authInfo({ scopes: ['incidents:read'] })));
    const info = registry.tools.get('get_user_info')!.output!.parse(result.structuredContent);
    assert.deepEqual(info, {
      subject: 'alice@example.com', clientId: 'claude-desktop', scopes: ['incidents:read'],
      expiresAt: '2025-06-01T10:00:00.000Z', expiresInSeconds: 3600,
    });
    assert.equal(textOf(result), 'alice@example.com via claude-desktop; scopes: incidents:read; token expires 2025-06-01T10:00:00.000Z (in 3600 s)');
  });

  it('get_current_time and add', async () => {
    assert.equal(textOf(await callTool(registry, 'get_current_time', {})), '2025-06-01T09:00:00.000Z');
    assert.equal(textOf(await callTool(registry, 'add', { a: 2, b: 3 })), '5');
    assert.equal(textOf(await callTool(registry, 'add', { a: -1.5, b: 0.25 })), '-1.25');
  });
});

describe('triage_incidents prompt', () => {
  const setup = async () => {
    const store = createMemoryStore();
    await seedIncidents(store, { now: () => NOW });
    return { store, prompt: app(store).prompts.get('triage_incidents')! };
  };

  it('embeds the unresolved incidents, most severe first, for focus=severity', async () => {
    const { store, prompt } = await setup();
    const result = await prompt.get({ focus: 'severity' }, callContext());
    const text = (result.messages[0]?.content as { text: string }).text;
    assert.equal(result.messages[0]?.role, 'user');
    assert.match(text, /Triage these unresolved incidents by urgency/);
    assert.match(text, /treat them as data/);
    const unresolved = [...(await store.incidents.list({ status: 'open' })), ...(await store.incidents.list({ status: 'investigating' }))];
    for (const incident of unresolved) assert.ok(text.includes(incident.id), incident.title);
    for (const incident of await store.incidents.list({ status: 'resolved' })) assert.ok(!text.includes(incident.id));
    const embedded = JSON.parse(text.slice(text.indexOf('['))) as Incident[];
    assert.deepEqual(embedded.map((i) => i.severity), [...embedded.map((i) => i.severity)].sort((a, b) => ['critical', 'high', 'medium', 'low'].indexOf(a) - ['critical', 'high', 'medium', 'low'].indexOf(b)));
    assert.match(result.description ?? '', new RegExp(`^Triage of ${unresolved.length} unresolved incidents, focus: severity$`));
  });

  it('groups by service for focus=patterns, completes focus, and refuses an unknown focus as invalid params', async () => {
    const { store, prompt } = await setup();
    await store.incidents.create({ ...report, severity: 'high', reportedBy: 'bob' });
    await store.incidents.create({ ...report, severity: 'low', reportedBy: 'carol' });
    const text = ((await prompt.get({ focus: 'patterns' }, callContext())).messages[0]?.content as { text: string }).text;
    assert.match(text, /Look for patterns/);
    const embedded = JSON.parse(text.slice(text.indexOf('['))) as Incident[];
    const services = embedded.map((i) => i.service);
    assert.deepEqual(services.slice(0, 2), ['checkout-api', 'checkout-api'], 'the service with most incidents first');
    assert.equal(new Set(services).size, services.filter((s, n) => s !== services[n - 1]).length, 'each service in one block');

    const auth = authInfo();
    assert.deepEqual(await prompt.complete!.focus!('', { arguments: {}, auth }), ['severity', 'patterns']);
    assert.deepEqual(await prompt.complete!.focus!('pa', { arguments: {}, auth }), ['patterns']);
    for (const args of [{ focus: 'everything' }, {}] as Record<string, string>[]) {
      await assert.rejects(async () => prompt.get(args, callContext()), (err: unknown) => err instanceof JsonRpcError && err.code === JsonRpcCode.InvalidParams);
    }
  });

  it('says so when nothing is unresolved', async () => {
    const prompt = app(createMemoryStore()).prompts.get('triage_incidents')!;
    const text = ((await prompt.get({ focus: 'severity' }, callContext())).messages[0]?.content as { text: string }).text;
    assert.match(text, /no unresolved incidents/);
  });
});

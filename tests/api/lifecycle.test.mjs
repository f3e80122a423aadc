/* Shutting down cleanly, and finding everything again after a restart. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

import {
	API, COLLECTIONS, bodies, freePort, runCli, sleep, startServer, uniq,
} from './harness.mjs';

const ORGS = `${API}/organizations`;

describe('restart', () => {
	let srv;
	before(async () => { srv = await startServer(); });
	after(async () => { await srv?.kill(); });

	/* Writes one of everything, including an update, a delete and a keyed POST. */
	async function writeSome() {
		const org = await srv.create('organizations', bodies.organization({ tags: ['persisted'], city: 'Kiruna' }));
		const person = await srv.create('people', bodies.person({ emails: ['p@example.test'] }));
		await srv.create('affiliations', bodies.affiliation(person.id, org.id));
		await srv.create('interactions', bodies.interaction({ organization_id: org.id, occurred_at: '2026-02-03T04:05:06+01:00' }));
		await srv.create('custom-fields', bodies.customField());
		assert.equal((await srv.patch(`${ORGS}/${org.id}`, { notes: 'patched' }, { ifMatch: 1 })).status, 200);
		const doomed = await srv.create('organizations', bodies.organization());
		assert.equal((await srv.del(`${ORGS}/${doomed.id}`, { ifMatch: 1 })).status, 204);
		const key = uniq('restart');
		const keyedBody = bodies.organization();
		const keyed = await srv.post(ORGS, keyedBody, { headers: { 'idempotency-key': key } });
		assert.equal(keyed.status, 201);
		return { key, keyedBody, keyed };
	}

	for (const sig of ['SIGTERM', 'SIGINT']) {
		test(`${sig}: exit 0, and after a restart every record, session and idempotency key is still there`, async () => {
			const { key, keyedBody, keyed } = await writeSome();
			const before = await srv.snapshot(COLLECTIONS);
			const token = srv.token;

			await srv.stop({ keepDir: true, sig });
			await srv.start();

			const me = await srv.get(`${API}/me`, { token });
			assert.equal(me.status, 200, `a session survives a restart: ${me.text}`);
			await srv.loginAdmin();
			assert.deepEqual(await srv.snapshot(COLLECTIONS), before, 'the same records');
			const replay = await srv.post(ORGS, keyedBody, { headers: { 'idempotency-key': key } });
			assert.deepEqual([replay.status, replay.json], [keyed.status, keyed.json], 'the first answer again');
			assert.deepEqual(await srv.snapshot(['organizations']), { organizations: before.organizations });
		});
	}

	test('requests in flight at SIGTERM are answered; every 201 is stored', async () => {
		const sent = Array.from({ length: 40 }, () => bodies.organization({ tags: ['in-flight'] }));
		let firstAnswer;
		const answered = new Promise((resolve) => { firstAnswer = resolve; });
		const requests = sent.map((b) => srv.post(ORGS, b).then(
			(res) => { firstAnswer(); return res; },
			(err) => { firstAnswer(); return { status: 0, error: err }; },
		));
		await answered;
		await srv.stop({ keepDir: true });
		const results = await Promise.all(requests);

		const statuses = results.map((r) => r.status);
		assert.ok(statuses.every((s) => [0, 201, 503].includes(s)), `only 201, 503 or no connection: ${statuses}`);
		const created = results.filter((r) => r.status === 201).map((r) => r.json);
		assert.ok(created.length >= 1, 'at least the first answer was a 201');

		await srv.start();
		await srv.loginAdmin();
		const stored = new Map((await srv.listAll('organizations', { tag: 'in-flight' })).map((o) => [o.id, o]));
		for (const rec of created) assert.deepEqual(stored.get(rec.id), rec, `acknowledged record ${rec.id} is stored`);
	});

	test('killed with SIGKILL while creates come in: every 201 is stored', async () => {
		/* No shutdown at all: what was acknowledged must already be on disk
		 * (on SQLite the writer's WAL frames go out in a few large writes
		 * before each commit's sync, src/store/walbuf.c). */
		const sent = Array.from({ length: 200 }, (_, i) => bodies.organization({ tags: ['killed'], notes: `n${i}` }));
		const results = [];
		let next = 0;
		let ok = 0;
		let killAt;
		const killed = new Promise((resolve) => { killAt = resolve; });
		const clients = Array.from({ length: 32 }, async () => {
			while (next < sent.length) {
				const i = next++;
				try {
					results[i] = await srv.post(ORGS, sent[i]);
					if (results[i].status === 201 && ++ok === 100) killAt();
				} catch (err) {
					results[i] = { status: 0, error: err };
				}
			}
			killAt();	/* all answered before the 100th 201: fails below */
		});
		await killed;
		await srv.signal('SIGKILL');
		await Promise.all(clients);
		const created = results.filter((r) => r?.status === 201).map((r) => r.json);
		assert.ok(created.length >= 100, `most writes before the kill were answered: ${created.length}`);

		await srv.start();
		await srv.loginAdmin();
		const stored = new Map((await srv.listAll('organizations', { tag: 'killed' })).map((o) => [o.id, o]));
		for (const rec of created) assert.deepEqual(stored.get(rec.id), rec, `acknowledged record ${rec.id} is stored`);
	});

	test('a final SIGTERM exits 0', async () => {
		await srv.stop();
	});
});

describe('serve on a port that is taken', () => {
	test('fails with a non-zero exit and a reason, instead of serving', async () => {
		const srv = await startServer();
		const port = await freePort();
		const blocker = net.createServer();
		await new Promise((resolve) => blocker.listen(port, '127.0.0.1', resolve));
		try {
			const r = await runCli(['serve', '--db', srv.db, '--listen', `127.0.0.1:${port}`], { timeoutMs: 5000 });
			assert.notEqual(r.code, 0, 'serve must not succeed');
			assert.ok(r.stderr.trim().length > 0, 'a reason on stderr');
		} finally {
			blocker.close();
			await sleep(10);
			await srv.stop();
		}
	});
});

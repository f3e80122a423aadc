/*
 * Faults: while PostgreSQL is down, requests get 503 unavailable quickly
 * (no crash, no hang); once it is back, the same process serves again.
 * PostgreSQL only. The cluster here is one of this file's own, so that
 * stopping it disturbs no other test.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
	ADMIN_EMAIL, ADMIN_PASSWORD, API, NEEDS_PG, Server, bodies, expectError, initStore, parallel, sleep,
	startCluster, tempDir, uniq,
} from './harness.mjs';

const ORGS = `${API}/organizations`;
const ANSWER_MS = 8_000;	/* how long a refusal may take while the database is down */
const BACK_MS = 15_000;		/* how long the server may take to serve again once it is back */

describe('PostgreSQL stopped while the server runs', { skip: NEEDS_PG }, () => {
	let cluster;
	let srv;
	let halted = false;
	let pid;
	let slowest = 0;	/* the longest a refusal took, in ms */

	before(async () => {
		cluster = await startCluster();
		srv = new Server({ dir: tempDir(), db: await cluster.createdb(), ownsDb: false });
		await initStore(srv.db);
		await srv.start();
		await srv.loginAdmin();
		pid = srv.child.pid;
	});

	after(async () => {
		try {
			cluster?.thaw();
			if (halted) await cluster.resume().catch(() => {});
			if (srv?.child) await srv.stop();
		} finally {
			await srv?.kill();
			await cluster?.stop();
		}
	});

	async function halt() {
		halted = true;
		await cluster.halt();
	}
	async function resume() {
		await cluster.resume();
		halted = false;
	}

	/*
	 * Sends a request, asserts 503 unavailable within ANSWER_MS and that the
	 * server still runs. send gets the request options to pass on.
	 */
	async function refusedQuickly(label, send) {
		const started = Date.now();
		let res;
		try {
			res = await send({ timeoutMs: ANSWER_MS + 2000 });
		} catch (err) {
			assert.fail(`${label}: no answer after ${Date.now() - started} ms (limit ${ANSWER_MS} ms): ${err.message.split('; stderr tail')[0]}`);
		}
		const took = Date.now() - started;
		slowest = Math.max(slowest, took);
		assert.ok(took < ANSWER_MS, `${label}: answered after ${took} ms (limit ${ANSWER_MS} ms)`);
		expectError(res, 503, 'unavailable');
		assert.equal(srv.exit, null, `${label}: the server must keep running${srv.describeExit()}`);
		return res;
	}

	/* Polls until GET path answers 200 (bounded); returns how long it took. */
	async function servesAgain(path) {
		const started = Date.now();
		let res;
		for (;;) {
			res = await srv.get(path, { timeoutMs: BACK_MS });
			if (res.status === 200) return Date.now() - started;
			assert.ok(Date.now() - started < BACK_MS,
				`still no 200 for GET ${path} ${BACK_MS} ms after PostgreSQL came back: ${res.status} ${res.text}`);
			assert.equal(srv.exit, null, `the server must keep running${srv.describeExit()}`);
			await sleep(200);
		}
	}

	test('503 unavailable for reads, lists, writes and logins while down; the same process serves again when it is back', async (t) => {
		/* Written before the outage. */
		const org = await srv.create('organizations', bodies.organization({ tags: ['before-outage'] }));
		const key = uniq('key');
		const keyedBody = bodies.organization();
		const keyed = await srv.post(ORGS, keyedBody, { headers: { 'idempotency-key': key } });
		assert.equal(keyed.status, 201, keyed.text);

		await halt();
		const refusedNames = [];
		const failingKey = uniq('key');
		const failingBody = bodies.organization();
		for (let round = 1; round <= 2; round++) {
			await refusedQuickly(`round ${round}: GET one`, (o) => srv.get(`${ORGS}/${org.id}`, o));
			await refusedQuickly(`round ${round}: GET list`, (o) => srv.get(`${ORGS}?limit=5`, o));
			await refusedQuickly(`round ${round}: GET list with q`, (o) => srv.get(`${ORGS}?q=outage`, o));
			const body = bodies.organization();
			refusedNames.push(body.name);
			await refusedQuickly(`round ${round}: POST`, (o) => srv.post(ORGS, body, o));
			refusedNames.push(failingBody.name);
			await refusedQuickly(`round ${round}: keyed POST`,
				(o) => srv.post(ORGS, failingBody, { ...o, headers: { 'idempotency-key': failingKey } }));
			await refusedQuickly(`round ${round}: PATCH`, (o) => srv.patch(`${ORGS}/${org.id}`, { notes: 'during' }, { ...o, ifMatch: 1 }));
			await refusedQuickly(`round ${round}: DELETE`, (o) => srv.del(`${ORGS}/${org.id}`, { ...o, ifMatch: 1 }));
			await refusedQuickly(`round ${round}: login`, (o) => srv.post(`${API}/session`, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD }, { ...o, token: null }));
		}
		const started = Date.now();
		const many = await parallel(16, (i) => (i % 2 ? srv.get(`${ORGS}/${org.id}`) : srv.post(ORGS, bodies.organization())));
		for (const res of many) expectError(res, 503, 'unavailable');
		assert.ok(Date.now() - started < 2 * ANSWER_MS, `16 requests at once took ${Date.now() - started} ms`);
		const health = await srv.get('/healthz', { token: null });
		t.diagnostic(`GET /healthz while PostgreSQL is down: ${health.status} ${health.text.slice(0, 200)}`);
		t.diagnostic(`the slowest 503 took ${slowest} ms`);

		await resume();
		t.diagnostic(`serving again ${await servesAgain(`${ORGS}/${org.id}`)} ms after PostgreSQL came back`);
		assert.equal(srv.child.pid, pid, 'the same process, not a restarted one');
		assert.equal(srv.exit, null);
		assert.deepEqual(srv.crashes, []);

		/* Everything written before is there; nothing refused was written. */
		assert.deepEqual(await srv.read('organizations', org.id), org);
		const all = await srv.listAll('organizations');
		for (const name of refusedNames)
			assert.ok(!all.some((o) => o.name === name), `a POST answered 503 must not be stored (${name})`);
		assert.deepEqual((await srv.listAll('organizations', { tag: 'before-outage' })).map((o) => o.id), [org.id]);
		const replay = await srv.post(ORGS, keyedBody, { headers: { 'idempotency-key': key } });
		assert.deepEqual([replay.status, replay.json], [keyed.status, keyed.json], 'a key from before the outage holds');
		const retried = await srv.post(ORGS, failingBody, { headers: { 'idempotency-key': failingKey } });
		assert.equal(retried.status, 201, `a key whose POST got 503 can be used again: ${retried.text}`);

		/* The session from before, new logins, reads, lists and writes. */
		assert.equal((await srv.get(`${API}/me`)).status, 200, 'the session from before the outage works');
		const login = await srv.login(ADMIN_EMAIL, ADMIN_PASSWORD);
		assert.equal(login.status, 201, login.text);
		assert.equal((await srv.get(`${API}/me`, { token: login.json.token })).status, 200);
		const created = await srv.create('organizations', bodies.organization({ tags: ['after-outage'] }));
		const patched = await srv.patch(`${ORGS}/${org.id}`, { notes: 'after' }, { ifMatch: 1 });
		assert.equal(patched.status, 200, patched.text);
		assert.deepEqual(await srv.listAll('organizations', { tag: 'after-outage' }), [created]);
	});

	test('a second outage: 503 again, and back again', async (t) => {
		const org = await srv.create('organizations', bodies.organization());
		await halt();
		await refusedQuickly('GET one', (o) => srv.get(`${ORGS}/${org.id}`, o));
		await refusedQuickly('POST', (o) => srv.post(ORGS, bodies.organization(), o));
		await resume();
		t.diagnostic(`serving again ${await servesAgain(`${ORGS}/${org.id}`)} ms after PostgreSQL came back`);
		await srv.create('organizations', bodies.organization());
		assert.equal(srv.child.pid, pid, 'the same process, not a restarted one');
	});

	test('a request that arrives while PostgreSQL stops is answered, 2xx or 503', async () => {
		const org = await srv.create('organizations', bodies.organization());
		const inFlight = parallel(20, (i) => (i % 2 ? srv.get(`${ORGS}/${org.id}`) : srv.post(ORGS, bodies.organization())));
		await halt();
		const results = await inFlight;
		for (const res of results)
			assert.ok([200, 201, 503].includes(res.status), `${res.status} ${res.text.slice(0, 300)}`);
		for (const res of results.filter((r) => r.status === 503)) expectError(res, 503, 'unavailable');
		await resume();
		await servesAgain(`${ORGS}/${org.id}`);
		const stored = new Set((await srv.listAll('organizations')).map((o) => o.id));
		for (const res of results.filter((r) => r.status === 201))
			assert.ok(stored.has(res.json.id), `acknowledged record ${res.json.id} is stored`);
		assert.equal(srv.exit, null);
	});

	test('PostgreSQL frozen (SIGSTOP, as behind a dead network): 503 within a few seconds too, and back after', async (t) => {
		const org = await srv.create('organizations', bodies.organization());
		await cluster.freeze();
		try {
			await refusedQuickly('GET one', (o) => srv.get(`${ORGS}/${org.id}`, o));
			await refusedQuickly('GET list', (o) => srv.get(`${ORGS}?limit=5`, o));
			await refusedQuickly('POST', (o) => srv.post(ORGS, bodies.organization(), o));
			await refusedQuickly('login', (o) => srv.post(`${API}/session`, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD }, { ...o, token: null }));
		} finally {
			cluster.thaw();
		}
		t.diagnostic(`serving again ${await servesAgain(`${ORGS}/${org.id}`)} ms after PostgreSQL went on`);
		await srv.create('organizations', bodies.organization());
		assert.equal(srv.child.pid, pid, 'the same process, not a restarted one');
	});
});

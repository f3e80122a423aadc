/* Many clients at once: no lost creates, no lost updates, one winner per version. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
	API, bodies, expectError, parallel, startServer,
} from './harness.mjs';

const ORGS = `${API}/organizations`;
let srv;

before(async () => { srv = await startServer(); });
after(async () => { await srv?.stop(); });

test('64 concurrent POSTs all succeed with distinct ids, and all are stored', async () => {
	const sent = Array.from({ length: 64 }, () => bodies.organization({ kind: 'prospect' }));
	const results = await parallel(64, (i) => srv.post(ORGS, sent[i]));
	for (const res of results) assert.equal(res.status, 201, res.text);
	const ids = results.map((r) => r.json.id);
	assert.equal(new Set(ids).size, 64, 'distinct ids');
	results.forEach((r, i) => assert.equal(r.json.name, sent[i].name, 'each answer is for its own request'));
	const stored = new Map((await srv.listAll('organizations')).map((o) => [o.id, o]));
	for (const r of results) assert.deepEqual(stored.get(r.json.id), r.json);
});

test('10 concurrent PATCHes with the same If-Match: one 200, nine 412', async () => {
	const org = await srv.create('organizations', bodies.organization());
	const results = await parallel(10, (i) =>
		srv.patch(`${ORGS}/${org.id}`, { notes: `writer ${i}` }, { ifMatch: 1 }));
	const statuses = results.map((r) => r.status).sort();
	assert.deepEqual(statuses, [200, ...Array(9).fill(412)], results.map((r) => r.text).join('\n'));
	const winner = results.find((r) => r.status === 200).json;
	const now = await srv.read('organizations', org.id);
	assert.equal(now.version, 2);
	assert.equal(now.notes, winner.notes);
});

test('10 concurrent DELETEs with the same If-Match: one 204, the others 404 or 412', async () => {
	const org = await srv.create('organizations', bodies.organization());
	const results = await parallel(10, () => srv.del(`${ORGS}/${org.id}`, { ifMatch: 1 }));
	const statuses = results.map((r) => r.status);
	assert.equal(statuses.filter((s) => s === 204).length, 1, `statuses ${statuses}`);
	assert.ok(statuses.every((s) => [204, 404, 412].includes(s)), `statuses ${statuses}`);
	assert.equal((await srv.get(`${ORGS}/${org.id}`)).status, 404);
});

test('8 clients x 25 read-modify-write increments with If-Match: no update is lost', async (t) => {
	const CLIENTS = 8;
	const EACH = 25;
	const MAX_ATTEMPTS = 100 * EACH;
	const org = await srv.create('organizations', bodies.organization({ notes: '0' }));
	const path = `${ORGS}/${org.id}`;

	const client = async () => {
		let done = 0;
		let conflicts = 0;
		for (let attempt = 0; done < EACH; attempt++) {
			assert.ok(attempt < MAX_ATTEMPTS, 'a client made no progress');
			const cur = await srv.get(path);
			assert.equal(cur.status, 200, cur.text);
			const next = String(Number(cur.json.notes) + 1);
			const res = await srv.patch(path, { notes: next }, { ifMatch: cur.headers.get('etag') });
			if (res.status === 200) {
				assert.equal(res.json.notes, next);
				done++;
			} else {
				assert.equal(res.status, 412, `only a stale version may refuse: ${res.text}`);
				conflicts++;
			}
		}
		return { done, conflicts };
	};

	const results = await parallel(CLIENTS, client);
	const successes = results.reduce((n, r) => n + r.done, 0);
	t.diagnostic(`${results.reduce((n, r) => n + r.conflicts, 0)} PATCHes were refused with 412 and retried`);
	const final = await srv.read('organizations', org.id);
	assert.equal(successes, CLIENTS * EACH);
	assert.equal(final.notes, String(successes), 'the counter equals the number of successful PATCHes');
	assert.equal(final.version, 1 + successes);
});

/*
 * Races between records: checks that hold for each write alone must hold
 * when two writes that together would break them run at once.
 */
test('two PATCHes at once that together would close a cycle of business units: never both', async () => {
	const both = [];
	for (let round = 0; round < 20; round++) {
		const x = await srv.create('organizations', bodies.organization({ kind: 'business_unit' }));
		const y = await srv.create('organizations', bodies.organization({ kind: 'business_unit' }));
		const results = await Promise.all([
			srv.patch(`${ORGS}/${x.id}`, { parent_id: y.id }, { ifMatch: 1 }),
			srv.patch(`${ORGS}/${y.id}`, { parent_id: x.id }, { ifMatch: 1 }),
		]);
		for (const res of results.filter((r) => r.status !== 200)) {
			assert.ok(res.status >= 400 && res.status < 500, `round ${round}: ${res.status} ${res.text}`);
			assert.ok(Object.hasOwn(res.json?.error?.fields ?? {}, 'parent_id'), `fields names parent_id: ${res.text}`);
		}
		if (results.every((r) => r.status === 200)) both.push(`${x.id} <-> ${y.id}`);
	}
	assert.deepEqual(both, [], 'cycles made by two PATCHes that each succeeded');
});

test('a DELETE at once with a POST that refers to the record: 204 and 422, or 409 and 201; never a dangling reference', async () => {
	const person = await srv.create('people', bodies.person());
	const referrers = {
		affiliation: [(org) => srv.post(`${API}/affiliations`, bodies.affiliation(person.id, org.id)), 'organization_id'],
		interaction: [(org) => srv.post(`${API}/interactions`, bodies.interaction({ organization_id: org.id })), 'organization_id'],
		'business unit': [(org) => srv.post(ORGS, bodies.organization({ kind: 'business_unit', parent_id: org.id })), 'parent_id'],
	};
	const wrong = [];
	for (const [what, [refer, field]] of Object.entries(referrers)) {
		for (let round = 0; round < 10; round++) {
			const org = await srv.create('organizations', bodies.organization({ kind: 'business_unit' }));
			const [del, post] = await Promise.all([srv.del(`${ORGS}/${org.id}`, { ifMatch: 1 }), refer(org)]);
			const pair = `${del.status}/${post.status}`;
			if (pair === '204/422') {
				expectError(post, 422, 'invalid_reference', [field]);
			} else if (pair === '409/201') {
				expectError(del, 409, 'conflict');
				assert.equal((await srv.get(`${ORGS}/${org.id}`)).status, 200, 'the referred record is still there');
			} else {
				wrong.push(`${what}, round ${round}: DELETE ${del.status}, POST ${post.status} ${post.text.slice(0, 200)}`);
			}
		}
	}
	assert.deepEqual(wrong, [], 'only 204 + 422 invalid_reference or 409 conflict + 201');
});

test('256 GETs by id from 64 clients at once, of two kinds of record and of ids that do not exist: each gets its own answer', async () => {
	/* On PostgreSQL reads by id go out together, many to a round trip:
	 * every answer must still be the one its request asked for. */
	const orgs = await parallel(16, () => srv.create('organizations', bodies.organization()));
	const people = await parallel(16, () => srv.create('people', bodies.person()));
	await srv.patch(`${ORGS}/${orgs[0].id}`, { notes: 'changed' }, { ifMatch: 1 });
	const asks = Array.from({ length: 256 }, (_, i) => {
		if (i % 4 === 3) return { collection: 'organizations', id: 900000000 + i, missing: true };
		const list = i % 2 ? people : orgs;
		return { collection: i % 2 ? 'people' : 'organizations', id: list[i % list.length].id };
	});
	/* 64 clients (the per-address connection limit is above that), each
	 * taking the next request as soon as its last one is answered */
	const results = [];
	let next = 0;
	await parallel(64, async () => {
		while (next < asks.length) {
			const i = next++;
			results[i] = await srv.get(`${API}/${asks[i].collection}/${asks[i].id}`);
		}
	});
	results.forEach((res, i) => {
		const ask = asks[i];
		if (ask.missing) {
			expectError(res, 404, 'not_found');
			assert.match(res.json.error.message, new RegExp(`${ask.id}`));
			return;
		}
		assert.equal(res.status, 200, res.text);
		assert.equal(res.json.id, ask.id);
		assert.equal(res.headers.get('etag'), `"${res.json.version}"`);
		if (ask.collection === 'people') assert.ok('family_name' in res.json);
		else assert.ok('kind' in res.json);
		if (ask.id === orgs[0].id) assert.equal(res.json.version, 2);
	});
});

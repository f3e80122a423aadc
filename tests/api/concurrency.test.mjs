/* Many clients at once: no lost creates, no lost updates, one winner per version. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
	API, bodies, parallel, startServer,
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

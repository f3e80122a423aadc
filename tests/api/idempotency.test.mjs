/* Idempotency-Key on POST: a retry returns the first answer and creates nothing. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
	API, bodies, expectError, parallel, startServer, uniq,
} from './harness.mjs';

const ORGS = `${API}/organizations`;
let srv;

before(async () => { srv = await startServer(); });
after(async () => { await srv?.stop(); });

const postKeyed = (key, body, path = ORGS) => srv.post(path, body, { headers: { 'idempotency-key': key } });

async function countNamed(name) {
	return (await srv.listAll('organizations')).filter((o) => o.name === name).length;
}

/* The parts of an answer that a replay must repeat. */
const answer = (res) => ({ status: res.status, json: res.json, location: res.headers.get('location') });

test('the same key and body twice: the first answer again, one record', async () => {
	const key = uniq('key');
	const body = bodies.organization();
	const first = await postKeyed(key, body);
	assert.equal(first.status, 201, first.text);
	assert.equal(first.headers.get('location'), `${ORGS}/${first.json.id}`);
	const second = await postKeyed(key, body);
	assert.deepEqual(answer(second), answer(first));
	assert.equal(await countNamed(body.name), 1);
});

test('a replay after the record changed still returns the first answer', async () => {
	const key = uniq('key');
	const body = bodies.organization();
	const first = await postKeyed(key, body);
	assert.equal(first.status, 201, first.text);
	const patched = await srv.patch(`${ORGS}/${first.json.id}`, { notes: 'changed' }, { ifMatch: 1 });
	assert.equal(patched.status, 200, patched.text);
	assert.deepEqual(answer(await postKeyed(key, body)), answer(first));
	assert.equal(await countNamed(body.name), 1);
	assert.equal((await srv.read('organizations', first.json.id)).version, 2, 'the replay did not write');
});

test('the same key with another body or path: 422 idempotency_key_reused, nothing created', async () => {
	const key = uniq('key');
	const body = bodies.organization();
	assert.equal((await postKeyed(key, body)).status, 201);
	await srv.unchangedBy(['organizations', 'people'], async () => {
		expectError(await postKeyed(key, { ...body, tier: 'key' }), 422, 'idempotency_key_reused');
		expectError(await postKeyed(key, bodies.organization()), 422, 'idempotency_key_reused');
		expectError(await postKeyed(key, bodies.person(), `${API}/people`), 422, 'idempotency_key_reused');
	});
});

test('another key, or no key, with the same body creates another record', async () => {
	const body = bodies.organization();
	const a = await postKeyed(uniq('key'), body);
	const b = await postKeyed(uniq('key'), body);
	const c = await srv.post(ORGS, body);
	assert.deepEqual([a.status, b.status, c.status], [201, 201, 201]);
	assert.equal(new Set([a.json.id, b.json.id, c.json.id]).size, 3);
	assert.equal(await countNamed(body.name), 3);
});

test('20 concurrent POSTs with one key create exactly one record and all get its answer', async () => {
	const key = uniq('key');
	const body = bodies.organization();
	const results = await parallel(20, () => postKeyed(key, body));
	assert.equal(await countNamed(body.name), 1, 'exactly one record');
	const first = answer(results[0]);
	assert.equal(first.status, 201, results[0].text);
	for (const res of results) assert.deepEqual(answer(res), first, 'every caller gets the one answer');
});

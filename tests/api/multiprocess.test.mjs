/*
 * Several processes, one database: two `rapport serve` on one PostgreSQL
 * database share sessions and tokens, lose no update under If-Match, honour
 * an Idempotency-Key across processes, and see each other's writes at once.
 * PostgreSQL only (a SQLite file is one process's); scripts/test.sh runs it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
	ADMIN_EMAIL, API, NEEDS_PG, bodies, expectError, fileTimeout, lines, parallel, runCli, sleep,
	startPeer, startServer, uniq,
} from './harness.mjs';

const ORGS = `${API}/organizations`;

/* 8 x 200 contended read-modify-writes take a while, more so under ASan. */
fileTimeout(600_000);

describe('two serve processes on one PostgreSQL database', { skip: NEEDS_PG }, () => {
	let a;
	let b;

	before(async () => {
		a = await startServer();
		b = await startPeer(a);
	});
	after(async () => {
		try {
			await b?.stop();
		} finally {
			await a?.stop();
		}
	});

	/* The parts of an answer that a replay must repeat. */
	const answer = (res) => ({ status: res.status, json: res.json, location: res.headers.get('location') });

	describe('(a) credentials made through one work on the other', () => {
		test('a session from a login on A works on B, and one from B on A', async () => {
			for (const [from, to] of [[a, b], [b, a]]) {
				const login = await from.login();
				assert.equal(login.status, 201, login.text);
				const me = await to.get(`${API}/me`, { token: login.json.token });
				assert.equal(me.status, 200, `the other process accepts the session: ${me.text}`);
				assert.deepEqual(me.json, login.json.user);
			}
		});

		test('the session cookie from A works on B', async () => {
			const login = await a.login();
			const cookie = login.headers.getSetCookie().find((c) => c.startsWith('rapport_session='));
			assert.ok(cookie, 'a session cookie');
			const me = await b.get(`${API}/me`, { token: null, headers: { cookie: cookie.split(';')[0] } });
			assert.equal(me.status, 200, me.text);
			assert.equal(me.json.email, ADMIN_EMAIL);
		});

		test('an API token made by `rapport token create` on the database works on both', async () => {
			const r = await runCli(['token', 'create', '--db', a.db, '--user', ADMIN_EMAIL, '--name', 'both']);
			assert.equal(r.code, 0, r.stderr);
			const token = lines(r.stdout).pop();
			for (const srv of [a, b]) {
				const me = await srv.get(`${API}/me`, { token });
				assert.equal(me.status, 200, `${srv.base}: ${me.text}`);
				assert.equal(me.json.email, ADMIN_EMAIL);
			}
			const org = await b.create('organizations', bodies.organization(), { token });
			assert.equal(org.owner_id, a.user.id, 'the record belongs to the token\'s user');
		});

		test('a session ended through A is refused by B (within 2 s)', async () => {
			const { token } = (await a.login()).json;
			assert.equal((await b.get(`${API}/me`, { token })).status, 200);
			assert.equal((await a.del(`${API}/session`, { token })).status, 204);
			let res;
			for (const deadline = Date.now() + 2000; ;) {
				res = await b.get(`${API}/me`, { token });
				if (res.status !== 200 || Date.now() > deadline) break;
				await sleep(100);
			}
			expectError(res, 401, 'unauthorized');
			assert.equal((await b.get(`${API}/me`)).status, 200, 'other sessions go on');
		});
	});

	describe('(b) no lost update across processes', () => {
		test('8 clients x 200 read-modify-write PATCHes with If-Match over A and B: the counter equals the successes', async (t) => {
			const CLIENTS = 8;
			const EACH = 200;
			const MAX_ATTEMPTS = 60 * EACH;
			const servers = [a, b];
			const field = await a.create('custom-fields', { entity: 'organization', name: 'counter', type: 'integer' });
			assert.equal(field.type, 'integer');
			const org = await a.create('organizations', bodies.organization({ custom: { counter: 0 } }));
			const path = `${ORGS}/${org.id}`;
			const perServer = [0, 0];

			/*
			 * Attempt k of client c reads through servers[(c + k) % 2] and
			 * writes through servers[(c + floor(k / 2)) % 2]: every client
			 * reads and writes through both, on the same and on different ones.
			 */
			const client = async (c) => {
				let done = 0;
				let conflicts = 0;
				for (let k = 0; done < EACH; k++) {
					assert.ok(k < MAX_ATTEMPTS, `client ${c} made no progress: ${done} done in ${k} attempts`);
					const reader = servers[(c + k) % 2];
					const w = (c + Math.floor(k / 2)) % 2;
					const cur = await reader.get(path);
					assert.equal(cur.status, 200, cur.text);
					const next = cur.json.custom.counter + 1;
					const res = await servers[w].patch(path, { custom: { counter: next } }, { ifMatch: cur.headers.get('etag') });
					if (res.status === 200) {
						assert.equal(res.json.custom.counter, next, res.text);
						assert.equal(res.headers.get('etag'), `"${res.json.version}"`);
						done++;
						perServer[w]++;
					} else {
						expectError(res, 412, 'stale_version');
						conflicts++;
					}
				}
				return { done, conflicts };
			};

			const started = Date.now();
			const results = await parallel(CLIENTS, client);
			const successes = results.reduce((n, r) => n + r.done, 0);
			t.diagnostic(`${successes} PATCHes succeeded (${perServer[0]} through A, ${perServer[1]} through B), ` +
				`${results.reduce((n, r) => n + r.conflicts, 0)} were refused with 412 and retried, ` +
				`in ${Date.now() - started} ms`);
			assert.equal(successes, CLIENTS * EACH);
			assert.ok(perServer[0] > 0 && perServer[1] > 0, 'both processes took writes');
			for (const srv of servers) {
				const final = await srv.read('organizations', org.id);
				assert.equal(final.custom.counter, successes, 'the counter equals the number of successful PATCHes');
				assert.equal(final.version, 1 + successes, 'one version per successful PATCH');
			}
		});

		test('10 concurrent PATCHes with the same If-Match, 5 on each process: one 200, nine 412', async () => {
			const org = await a.create('organizations', bodies.organization());
			const results = await parallel(10, (i) =>
				[a, b][i % 2].patch(`${ORGS}/${org.id}`, { notes: `writer ${i}` }, { ifMatch: 1 }));
			const statuses = results.map((r) => r.status).sort();
			assert.deepEqual(statuses, [200, ...Array(9).fill(412)], results.map((r) => r.text).join('\n'));
			const winner = results.find((r) => r.status === 200).json;
			for (const srv of [a, b]) {
				const now = await srv.read('organizations', org.id);
				assert.equal(now.version, 2);
				assert.equal(now.notes, winner.notes);
			}
		});
	});

	describe('(c) an Idempotency-Key holds across processes', () => {
		const postKeyed = (srv, key, body) => srv.post(ORGS, body, { headers: { 'idempotency-key': key } });
		const countNamed = async (srv, name) => (await srv.listAll('organizations')).filter((o) => o.name === name).length;

		test('POST on A, the same key and body on B: the first answer, one record', async () => {
			const key = uniq('key');
			const body = bodies.organization();
			const first = await postKeyed(a, key, body);
			assert.equal(first.status, 201, first.text);
			assert.deepEqual(answer(await postKeyed(b, key, body)), answer(first), 'B repeats A\'s answer');
			assert.deepEqual(answer(await postKeyed(a, key, body)), answer(first), 'and A too');
			for (const srv of [a, b]) assert.equal(await countNamed(srv, body.name), 1, `one record, seen by ${srv.base}`);
		});

		test('the same key with another body on B: 422 idempotency_key_reused, nothing created', async () => {
			const key = uniq('key');
			const body = bodies.organization();
			assert.equal((await postKeyed(a, key, body)).status, 201);
			await b.unchangedBy(['organizations'], async () => {
				expectError(await postKeyed(b, key, { ...body, tier: 'key' }), 422, 'idempotency_key_reused');
				expectError(await postKeyed(b, key, bodies.organization()), 422, 'idempotency_key_reused');
			});
		});

		test('the same key on A and B at once, 20 times: each time one record and one answer for both', async () => {
			for (let round = 0; round < 20; round++) {
				const key = uniq('key');
				const body = bodies.organization();
				const [ra, rb] = await Promise.all([postKeyed(a, key, body), postKeyed(b, key, body)]);
				assert.equal(ra.status, 201, `round ${round}, A: ${ra.text}`);
				assert.deepEqual(answer(rb), answer(ra), `round ${round}: both processes give the one answer`);
				assert.equal(await countNamed(a, body.name), 1, `round ${round}: exactly one record`);
			}
		});

		test('one key, 10 POSTs on A and 10 on B at once: one record, every caller the same answer', async () => {
			const key = uniq('key');
			const body = bodies.organization();
			const results = await parallel(20, (i) => postKeyed([a, b][i % 2], key, body));
			const first = answer(results[0]);
			assert.equal(first.status, 201, results[0].text);
			for (const res of results) assert.deepEqual(answer(res), first, 'every caller gets the one answer');
			for (const srv of [a, b]) assert.equal(await countNamed(srv, body.name), 1, 'exactly one record');
		});
	});

	describe('(d) what one process writes, the other reads at once', () => {
		test('created on A: immediately readable and found by q on B (organizations, people, interactions), 20 times', async () => {
			for (let i = 0; i < 20; i++) {
				const word = `qz${process.pid}x${i}word`;
				const org = await a.create('organizations', bodies.organization({ name: `Mp ${word} AB`, tags: [word] }));
				assert.deepEqual(await b.read('organizations', org.id), org, `organization ${i}: GET on B`);
				assert.deepEqual(await b.listAll('organizations', { q: word }), [org], `organization ${i}: q on B`);
				assert.deepEqual(await b.listAll('organizations', { q: word.slice(0, -3) }), [org],
					`organization ${i}: q prefix on B`);
				assert.deepEqual(await b.listAll('organizations', { tag: word }), [org], `organization ${i}: tag on B`);

				const person = await a.create('people', bodies.person({ family_name: `P${word}`, emails: [`${word}@example.test`] }));
				assert.deepEqual(await b.read('people', person.id), person, `person ${i}: GET on B`);
				assert.deepEqual(await b.listAll('people', { q: `P${word}` }), [person], `person ${i}: q on B`);

				const inter = await a.create('interactions', bodies.interaction({
					organization_id: org.id, subject: `About ${word}`, person_ids: [person.id],
				}));
				assert.deepEqual(await b.read('interactions', inter.id), inter, `interaction ${i}: GET on B`);
				assert.deepEqual(await b.listAll('interactions', { q: word }), [inter], `interaction ${i}: q on B`);
				assert.deepEqual((await b.page(`${ORGS}/${org.id}/timeline`)).items, [inter], `interaction ${i}: timeline on B`);
			}
		});

		test('changed and deleted on B: immediately seen so on A, by GET and q', async () => {
			for (let i = 0; i < 10; i++) {
				const word = `rz${process.pid}x${i}word`;
				const org = await a.create('organizations', bodies.organization({ name: `Mp ${word}old` }));
				const renamed = await b.patch(`${ORGS}/${org.id}`, { name: `Mp ${word}new`, city: 'Visby' }, { ifMatch: 1 });
				assert.equal(renamed.status, 200, renamed.text);
				assert.deepEqual(await a.read('organizations', org.id), renamed.json, `${i}: A sees B's PATCH`);
				assert.deepEqual(await a.listAll('organizations', { q: `${word}new` }), [renamed.json], `${i}: q on A finds the new name`);
				assert.deepEqual(await a.listAll('organizations', { q: `${word}old` }), [], `${i}: not the old one`);
				assert.equal((await b.del(`${ORGS}/${org.id}`, { ifMatch: 2 })).status, 204);
				expectError(await a.get(`${ORGS}/${org.id}`), 404, 'not_found');
				assert.deepEqual(await a.listAll('organizations', { q: `${word}new` }), [], `${i}: gone from q on A`);
			}
		});

		test('a custom field declared through A is at once accepted, checked and required on B', async () => {
			const name = `mp_${process.pid}_badge`;
			await a.create('custom-fields', { entity: 'person', name, type: 'integer' });
			const p = await b.create('people', bodies.person({ custom: { [name]: 7 } }));
			assert.equal(p.custom[name], 7);
			expectError(await b.post(`${API}/people`, bodies.person({ custom: { [name]: 'seven' } })), 400, 'validation_failed');

			const req = `mp_${process.pid}_required`;
			await a.create('custom-fields', { entity: 'interaction', name: req, type: 'text', required: true });
			expectError(await b.post(`${API}/interactions`, bodies.interaction()), 400, 'validation_failed');
			await b.create('interactions', bodies.interaction({ custom: { [req]: 'x' } }));
		});

		test('a cursor from one process pages on the other', async () => {
			const tag = uniq('cursor');
			const made = [];
			for (let i = 0; i < 9; i++) made.push(await a.create('organizations', bodies.organization({ tags: [tag] })));
			for (const sort of ['id', '-name']) {
				const seen = [];
				let cursor;
				for (let n = 0; n < 10; n++) {
					const page = await [a, b][n % 2].page(ORGS, { tag, sort, limit: 2, ...(cursor ? { cursor } : {}) });
					seen.push(...page.items.map((o) => o.id));
					cursor = page.next_cursor;
					if (!cursor) break;
				}
				assert.equal(cursor, null, `sort=${sort}: paged to the end`);
				const whole = (await b.page(ORGS, { tag, sort, limit: 200 })).items.map((o) => o.id);
				assert.deepEqual(seen, whole, `sort=${sort}: alternating A and B gives the one order`);
				assert.deepEqual([...seen].sort((x, y) => x - y), made.map((o) => o.id));
			}
		});

		test('100 records created through both at once: all listed, once each, through either', async () => {
			const tag = uniq('both');
			const results = await parallel(100, (i) => [a, b][i % 2].post(ORGS, bodies.organization({ tags: [tag] })));
			for (const res of results) assert.equal(res.status, 201, res.text);
			const ids = results.map((r) => r.json.id).sort((x, y) => x - y);
			assert.equal(new Set(ids).size, 100, 'distinct ids');
			for (const srv of [a, b]) {
				const listed = (await srv.pageAll(ORGS, { tag, limit: 7 })).items.map((o) => o.id);
				assert.deepEqual(listed, ids, `${srv.base} lists every record once, in id order`);
			}
		});
	});

	/* The races of concurrency.test.mjs, with one side on each process (a lock inside one process is not enough). */
	describe('checks across records hold across processes', () => {
		test('PATCHes on A and B that together would close a cycle of business units: never both', async () => {
			const both = [];
			for (let round = 0; round < 20; round++) {
				const x = await a.create('organizations', bodies.organization({ kind: 'business_unit' }));
				const y = await a.create('organizations', bodies.organization({ kind: 'business_unit' }));
				const results = await Promise.all([
					a.patch(`${ORGS}/${x.id}`, { parent_id: y.id }, { ifMatch: 1 }),
					b.patch(`${ORGS}/${y.id}`, { parent_id: x.id }, { ifMatch: 1 }),
				]);
				for (const res of results.filter((r) => r.status !== 200)) {
					assert.ok(res.status >= 400 && res.status < 500, `round ${round}: ${res.status} ${res.text}`);
					assert.ok(Object.hasOwn(res.json?.error?.fields ?? {}, 'parent_id'), `fields names parent_id: ${res.text}`);
				}
				if (results.every((r) => r.status === 200)) both.push(`${x.id} <-> ${y.id}`);
			}
			assert.deepEqual(both, [], 'cycles made by two PATCHes that each succeeded');
		});

		test('a DELETE on A at once with a POST on B that refers to the record: 204 and 422, or 409 and 201', async () => {
			const person = await a.create('people', bodies.person());
			const wrong = [];
			for (let round = 0; round < 20; round++) {
				const org = await a.create('organizations', bodies.organization());
				const [del, post] = await Promise.all([
					a.del(`${ORGS}/${org.id}`, { ifMatch: 1 }),
					b.post(`${API}/affiliations`, bodies.affiliation(person.id, org.id)),
				]);
				const pair = `${del.status}/${post.status}`;
				if (pair === '204/422') expectError(post, 422, 'invalid_reference', ['organization_id']);
				else if (pair === '409/201') assert.equal((await b.get(`${ORGS}/${org.id}`)).status, 200);
				else wrong.push(`round ${round}: DELETE ${del.status}, POST ${post.status} ${post.text.slice(0, 200)}`);
			}
			assert.deepEqual(wrong, [], 'only 204 + 422 invalid_reference or 409 conflict + 201');
		});

		test('the same custom-field name declared on A and B at once: one 201, the others 409', async () => {
			for (let round = 0; round < 5; round++) {
				const name = `mp_race_${process.pid}_${round}`;
				const results = await parallel(10, (i) => [a, b][i % 2].post(`${API}/custom-fields`, { entity: 'person', name, type: 'text' }));
				const statuses = results.map((r) => r.status).sort();
				assert.deepEqual(statuses, [201, ...Array(9).fill(409)], results.map((r) => r.text).join('\n'));
				for (const res of results.filter((r) => r.status === 409)) expectError(res, 409, 'conflict');
			}
		});
	});

	test('neither process died', () => {
		for (const srv of [a, b]) assert.equal(srv.exit, null, `${srv.base}${srv.describeExit()}`);
	});
});

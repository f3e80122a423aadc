/*
 * Credentials and their limits: API tokens with a scope, CSRF for cookie
 * sessions, absolute and idle session expiry, sign-in throttling per account
 * and per address, lockout (lifted by time or by an admin), changing one's
 * own password, and the audit rows every change leaves.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { API, ADMIN_PASSWORD, expectError, fileTimeout, sleep, startServer } from './harness.mjs';

fileTimeout(300_000);

const PASSWORD = 'Quiet-Harbour-Lamp-58';
const servers = [];

async function serve(args = []) {
	const srv = await startServer({ args });
	servers.push(srv);
	return srv;
}
after(async () => { await Promise.all(servers.map((s) => s.stop())); });

async function must(res, status, what) {
	assert.equal(res.status, status, `${what}: ${res.status} ${res.text.slice(0, 400)}`);
	return res.json;
}

let userCount = 0;
async function makeUser(srv, role = 'client_rm', extra = {}) {
	const email = `u${++userCount}-${role}@sec.test`;
	const u = await must(await srv.post(`${API}/users`, { email, name: role, role, password: PASSWORD, ...extra }), 201, 'user');
	return { ...u, email };
}

const cookiePair = (res) => (res.headers.get('set-cookie') ?? '').split(';')[0];

describe('API tokens', () => {
	let srv;
	before(async () => { srv = await serve(); });

	test('a read token reads and may not write; a write token writes', async () => {
		const read = await must(await srv.post(`${API}/tokens`, { name: 'reporting', scope: 'read' }), 201, 'read token');
		assert.equal(read.scope, 'read');
		assert.match(read.token, /^rp_/);
		const write = await must(await srv.post(`${API}/tokens`, { name: 'sync', scope: 'write' }), 201, 'write token');
		await must(await srv.get(`${API}/organizations`, { token: read.token }), 200, 'read with a read token');
		const refused = await srv.post(`${API}/organizations`, { name: 'No', kind: 'client' }, { token: read.token });
		expectError(refused, 403, 'forbidden');
		assert.match(refused.json.error.message, /only read/);
		const made = await must(await srv.post(`${API}/organizations`, { name: 'Yes', kind: 'client' }, { token: write.token }), 201, 'write token');
		expectError(await srv.patch(`${API}/organizations/${made.id}`, { name: 'No' }, { token: read.token, ifMatch: 1 }), 403, 'forbidden');
		expectError(await srv.del(`${API}/organizations/${made.id}`, { token: read.token, ifMatch: 1 }), 403, 'forbidden');
		assert.equal((await srv.get(`${API}/organizations/${made.id}`)).json.name, 'Yes');
	});

	test('tokens are listed without their text, and revoked', async () => {
		const t = await must(await srv.post(`${API}/tokens`, { name: 'to revoke' }), 201, 'token');
		assert.equal(t.scope, 'read', 'read is the default scope');
		const list = await must(await srv.get(`${API}/tokens`), 200, 'list');
		const listed = list.items.find((x) => x.id === t.id);
		assert.equal(listed.name, 'to revoke');
		assert.equal(listed.token, undefined);
		assert.equal(JSON.stringify(list).includes(t.token), false, 'no token text in the list');
		assert.equal((await srv.del(`${API}/tokens/${t.id}`)).status, 204);
		expectError(await srv.get(`${API}/me`, { token: t.token }), 401, 'unauthorized');
		assert.ok((await srv.get(`${API}/tokens/${t.id}`)).json.revoked_at, 'kept, marked revoked');
	});

	test('another user\'s token is not found; an admin sees it', async () => {
		const u = await makeUser(srv);
		const login = await must(await srv.login(u.email, PASSWORD), 201, 'login');
		const theirs = await must(await srv.post(`${API}/tokens`, { name: 'theirs', scope: 'write' }, { token: login.token }), 201, 'token');
		const mine = await must(await srv.post(`${API}/tokens`, { name: 'mine' }), 201, 'token');
		expectError(await srv.get(`${API}/tokens/${mine.id}`, { token: login.token }), 404, 'not_found');
		expectError(await srv.del(`${API}/tokens/${mine.id}`, { token: login.token }), 404, 'not_found');
		expectError(await srv.get(`${API}/tokens?user_id=${srv.user.id}`, { token: login.token }), 403, 'forbidden');
		await must(await srv.get(`${API}/me`, { token: mine.token }), 200, 'still valid');
		await must(await srv.get(`${API}/tokens/${theirs.id}`), 200, 'admin reads it');
		const listed = await must(await srv.get(`${API}/tokens?user_id=${u.id}`), 200, 'admin lists them');
		assert.ok(listed.items.some((x) => x.id === theirs.id));
	});

	test('bad token requests name what is wrong', async () => {
		expectError(await srv.post(`${API}/tokens`, {}), 400, 'validation_failed', ['name']);
		expectError(await srv.post(`${API}/tokens`, { name: 'x', scope: 'admin' }), 400, 'validation_failed', ['scope']);
		expectError(await srv.post(`${API}/tokens`, { name: 'x', expires_at: '2001-01-01T00:00:00Z' }), 400, 'validation_failed', ['expires_at']);
		expectError(await srv.post(`${API}/tokens`, { name: 'x', colour: 'red' }), 400, 'validation_failed', ['colour']);
	});

	test('a token stops working when it expires', async () => {
		const at = new Date(Date.now() + 2000).toISOString().replace(/\.\d+Z$/, 'Z');
		const t = await must(await srv.post(`${API}/tokens`, { name: 'brief', expires_at: at }), 201, 'token');
		await must(await srv.get(`${API}/me`, { token: t.token }), 200, 'before');
		await sleep(4000);
		expectError(await srv.get(`${API}/me`, { token: t.token }), 401, 'unauthorized');
	});

	test('a disabled user\'s credentials stop working', async () => {
		const u = await makeUser(srv);
		const login = await must(await srv.login(u.email, PASSWORD), 201, 'login');
		await must(await srv.patch(`${API}/users/${u.id}`, { disabled: true }, { ifMatch: u.version }), 200, 'disable');
		await sleep(1200);
		expectError(await srv.get(`${API}/me`, { token: login.token }), 401, 'unauthorized');
		expectError(await srv.login(u.email, PASSWORD), 401, 'unauthorized');
	});
});

describe('cookie sessions', () => {
	let srv;
	before(async () => { srv = await serve(['--session-idle', '3', '--session-max-age', '8']); });

	test('an unsafe request by cookie needs the session\'s X-CSRF-Token', async () => {
		const login = await must(await srv.login(), 201, 'login');
		const csrf = login.user.csrf_token;
		assert.equal(typeof csrf, 'string');
		const cookie = cookiePair(await srv.login());
		const me = await must(await srv.get(`${API}/me`, { token: null, headers: { cookie } }), 200, 'me by cookie');
		const body = { name: 'Csrf Inc', kind: 'client' };
		expectError(await srv.post(`${API}/organizations`, body, { token: null, headers: { cookie } }), 403, 'forbidden');
		expectError(await srv.post(`${API}/organizations`, body, { token: null, headers: { cookie, 'x-csrf-token': csrf } }), 403, 'forbidden');
		await must(await srv.post(`${API}/organizations`, body, { token: null, headers: { cookie, 'x-csrf-token': me.csrf_token } }), 201, 'with the header');
		await must(await srv.post(`${API}/organizations`, body, { token: login.token }), 201, 'a bearer token needs none');
		const list = await must(await srv.get(`${API}/organizations?limit=200`), 200, 'list');
		assert.equal(list.items.filter((o) => o.name === 'Csrf Inc').length, 2, 'the refused ones created nothing');
	});

	test('a session ends after the idle time without use', async () => {
		const login = await must(await srv.login(), 201, 'login');
		await sleep(5000);
		expectError(await srv.get(`${API}/me`, { token: login.token }), 401, 'unauthorized');
	});

	test('a session in use lives until its absolute limit, then ends', async () => {
		const login = await must(await srv.login(), 201, 'login');
		const start = Date.now();
		while (Date.now() - start < 6000) {
			await must(await srv.get(`${API}/me`, { token: login.token }), 200, `in use after ${Date.now() - start} ms`);
			await sleep(1000);
		}
		await sleep(4000 - (Date.now() - start - 6000));
		expectError(await srv.get(`${API}/me`, { token: login.token }), 401, 'unauthorized');
	});
});

describe('signing in', () => {
	test('an unknown user and a wrong password get the same answer in similar time', async () => {
		const srv = await serve(['--login-failures', '100']);
		const times = { unknown: [], wrong: [] };
		let answers = {};
		for (let i = 0; i < 6; i++) {
			for (const [kind, email] of [['unknown', `nobody${i}@sec.test`], ['wrong', 'admin@rapport.test']]) {
				const t0 = process.hrtime.bigint();
				const res = await srv.login(email, 'Not-The-Password-1');
				times[kind].push(Number(process.hrtime.bigint() - t0) / 1e6);
				answers[kind] = { status: res.status, body: res.json };
			}
		}
		assert.deepEqual(answers.unknown, answers.wrong);
		assert.equal(answers.wrong.status, 401);
		const median = (a) => a.sort((x, y) => x - y)[a.length >> 1];
		const ratio = median(times.unknown) / median(times.wrong);
		assert.ok(ratio > 0.5 && ratio < 2, `median ${median(times.unknown)} ms vs ${median(times.wrong)} ms`);
	});

	test('failures per account are limited, with Retry-After, for known and unknown accounts alike', async () => {
		const srv = await serve(['--login-failures', '3', '--login-window', '60']);
		for (const email of ['admin@rapport.test', 'ghost@sec.test']) {
			for (let i = 0; i < 3; i++) expectError(await srv.login(email, 'Wrong-Password-000'), 401, 'unauthorized');
			const limited = await srv.login(email, email === 'ghost@sec.test' ? 'x' : ADMIN_PASSWORD);
			expectError(limited, 429, 'rate_limited');
			const after = Number(limited.headers.get('retry-after'));
			assert.ok(after > 0 && after <= 60, `Retry-After ${after}`);
		}
	});

	test('failures per client address are limited across accounts', async () => {
		const srv = await serve(['--login-failures', '2', '--login-window', '60']);
		/* an address may fail four times as often as one account */
		for (let i = 0; i < 8; i++) expectError(await srv.login(`spray${i}@sec.test`, 'Wrong-Password-000'), 401, 'unauthorized');
		const limited = await srv.login('admin@rapport.test', ADMIN_PASSWORD);
		expectError(limited, 429, 'rate_limited');
		assert.ok(Number(limited.headers.get('retry-after')) > 0);
	});

	test('behind a proxy (--trust-proxy) the address is X-Real-IP and HTTPS is X-Forwarded-Proto', async () => {
		const srv = await serve(['--trust-proxy', '--login-failures', '2', '--login-window', '60']);
		const from = (ip, extra = {}) => ({ token: null, headers: { 'x-real-ip': ip, ...extra } });
		for (let i = 0; i < 8; i++)
			expectError(await srv.post(`${API}/session`, { email: `p${i}@sec.test`, password: 'Wrong-Password-000' }, from('10.0.0.1')), 401, 'unauthorized');
		expectError(await srv.post(`${API}/session`, { email: 'admin@rapport.test', password: ADMIN_PASSWORD }, from('10.0.0.1')), 429, 'rate_limited');
		const other = await srv.post(`${API}/session`, { email: 'admin@rapport.test', password: ADMIN_PASSWORD },
			from('10.0.0.2', { 'x-forwarded-proto': 'https' }));
		await must(other, 201, 'another client address behind the same proxy');
		assert.match(other.headers.get('set-cookie'), /; Secure\b/);
	});

	test('repeated failures lock the account; time or an admin lifts the lock', async () => {
		const srv = await serve(['--login-failures', '100', '--lockout-after', '4', '--lockout-seconds', '4']);
		const waits = await makeUser(srv);
		const freed = await makeUser(srv);
		for (const u of [waits, freed]) {
			for (let i = 0; i < 4; i++) expectError(await srv.login(u.email, 'Wrong-Password-000'), 401, 'unauthorized');
			const locked = await srv.login(u.email, PASSWORD);
			expectError(locked, 429, 'rate_limited');
			assert.ok(Number(locked.headers.get('retry-after')) > 0);
		}
		for (let i = 0; i < 4; i++) expectError(await srv.login('phantom@sec.test', 'Wrong-Password-000'), 401, 'unauthorized');
		expectError(await srv.login('phantom@sec.test', 'Wrong-Password-000'), 429, 'rate_limited');

		const u = await must(await srv.get(`${API}/users/${freed.id}`), 200, 'user');
		assert.ok(u.locked_until, 'the lock shows on the user');
		await must(await srv.patch(`${API}/users/${freed.id}`, { locked_until: null }, { ifMatch: u.version }), 200, 'unlock');
		await must(await srv.login(freed.email, PASSWORD), 201, 'an admin lifted the lock');
		expectError(await srv.login(waits.email, PASSWORD), 429, 'rate_limited');
		await sleep(5000);
		expectError(await srv.login(waits.email, 'Wrong-Password-000'), 401, 'unauthorized');
		await must(await srv.login(waits.email, PASSWORD), 201, 'the lock ran out; one failure does not lock again');
	});

	test('sign-ins side by side cannot pass the limit together', async () => {
		const srv = await serve(['--login-failures', '3', '--login-window', '60', '--threads', '8']);
		const answers = await Promise.all(Array.from({ length: 24 },
			() => srv.login('admin@rapport.test', 'Wrong-Password-000')));
		const counts = {};
		for (const a of answers) counts[a.status] = (counts[a.status] ?? 0) + 1;
		assert.equal(counts[401], 3, `answers: ${JSON.stringify(counts)}`);
		assert.equal(counts[429], 21, `answers: ${JSON.stringify(counts)}`);
	});
});

describe('changing one\'s own password', () => {
	test('needs the current password; other sessions end, this one stays', async () => {
		const srv = await serve();
		const u = await makeUser(srv);
		const one = await must(await srv.login(u.email, PASSWORD), 201, 'login');
		const two = await must(await srv.login(u.email, PASSWORD), 201, 'login');
		const path = `${API}/me/password`;
		expectError(await srv.post(path, { current_password: 'Wrong-Password-000', new_password: 'Brand-New-Password-9' }, { token: one.token }),
			400, 'validation_failed', ['current_password']);
		expectError(await srv.post(path, { current_password: PASSWORD, new_password: 'short' }, { token: one.token }),
			400, 'validation_failed', ['new_password']);
		expectError(await srv.post(path, { current_password: PASSWORD }, { token: one.token }), 400, 'validation_failed', ['new_password']);
		await must(await srv.login(u.email, PASSWORD), 201, 'the refused changes changed nothing');
		assert.equal((await srv.post(path, { current_password: PASSWORD, new_password: 'Brand-New-Password-9' }, { token: one.token })).status, 204);
		await sleep(1200);
		await must(await srv.get(`${API}/me`, { token: one.token }), 200, 'this session stays');
		expectError(await srv.get(`${API}/me`, { token: two.token }), 401, 'unauthorized');
		expectError(await srv.login(u.email, PASSWORD), 401, 'unauthorized');
		await must(await srv.login(u.email, 'Brand-New-Password-9'), 201, 'the new password');
		const rows = (await must(await srv.get(`${API}/audit?entity=user&id=${u.id}`), 200, 'audit')).items;
		assert.equal(rows[0].action, 'update');
		assert.equal(rows[0].user_id, u.id);
		assert.deepEqual(rows[0].changes.after, { password: '(changed)' });
		assert.equal(JSON.stringify(rows).includes('argon2'), false, 'no hash in the audit');
	});
});

describe('audit rows', () => {
	test('create, update and delete each leave one row with what changed', async () => {
		const srv = await serve();
		const org = await must(await srv.post(`${API}/organizations`, { name: 'Audit AB', kind: 'client', city: 'Lund' }), 201, 'create');
		const changed = await must(await srv.patch(`${API}/organizations/${org.id}`, { name: 'Audit Holding AB', city: null }, { ifMatch: 1 }), 200, 'update');
		expectError(await srv.patch(`${API}/organizations/${org.id}`, { name: 'Stale' }, { ifMatch: 1 }), 412, 'stale_version');
		expectError(await srv.patch(`${API}/organizations/${org.id}`, { kind: 'nonsense' }, { ifMatch: 2 }), 400, 'validation_failed');
		const hist = (await must(await srv.get(`${API}/organizations/${org.id}/history`), 200, 'history')).items;
		assert.deepEqual(hist.map((h) => h.action), ['update', 'create'], 'refused writes leave no row');
		assert.deepEqual(hist[0].changes, { before: { name: 'Audit AB', city: 'Lund' }, after: { name: 'Audit Holding AB', city: null } });
		assert.equal(hist[1].changes.after.name, 'Audit AB');
		assert.deepEqual(hist[1].changes.before, {});
		assert.equal(hist[0].user_id, srv.user.id);
		assert.match(hist[0].created_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
		assert.equal((await srv.del(`${API}/organizations/${org.id}`, { ifMatch: changed.version })).status, 204);
		const rows = (await must(await srv.get(`${API}/audit?entity=organization&id=${org.id}`), 200, 'audit')).items;
		assert.deepEqual(rows.map((h) => h.action), ['delete', 'update', 'create']);
		assert.equal(rows[0].changes.before.name, 'Audit Holding AB');
		expectError(await srv.get(`${API}/organizations/${org.id}/history`), 404, 'not_found');
	});
});

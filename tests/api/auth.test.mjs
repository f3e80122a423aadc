/* Credentials: sessions, cookies, bearer tokens, and 401 everywhere else. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
	ADMIN_EMAIL, ADMIN_PASSWORD, API, COLLECTIONS, bodies, expectError, startServer,
} from './harness.mjs';

let srv;
const ids = {};

before(async () => {
	srv = await startServer();
	const org = await srv.create('organizations', bodies.organization());
	const person = await srv.create('people', bodies.person());
	ids.organizations = org.id;
	ids.people = person.id;
	ids.affiliations = (await srv.create('affiliations', bodies.affiliation(person.id, org.id))).id;
	ids.interactions = (await srv.create('interactions', bodies.interaction({ organization_id: org.id }))).id;
	ids['custom-fields'] = (await srv.create('custom-fields', bodies.customField())).id;
});
after(async () => { await srv?.stop(); });

/* A valid create and update body per collection, so that only credentials are wrong. */
const writes = {
	organizations: { create: () => bodies.organization(), update: { notes: 'x' } },
	people: { create: () => bodies.person(), update: { notes: 'x' } },
	affiliations: { create: () => bodies.affiliation(ids.people, ids.organizations), update: { title: 'x' } },
	interactions: { create: () => bodies.interaction(), update: { subject: 'x' } },
	'custom-fields': { create: () => bodies.customField(), update: { label: 'x' } },
};

function protectedRoutes() {
	const routes = [
		['GET', `${API}/me`],
		['DELETE', `${API}/session`],
		['GET', `${API}/organizations/${ids.organizations}/timeline`],
	];
	for (const c of COLLECTIONS) {
		const item = `${API}/${c}/${ids[c]}`;
		routes.push(
			['GET', `${API}/${c}`],
			['POST', `${API}/${c}`, writes[c].create()],
			['GET', item],
			['PATCH', item, writes[c].update],
			['DELETE', item],
		);
	}
	return routes;
}

function cookieOf(res) {
	return res.headers.getSetCookie().find((c) => c.startsWith('rapport_session='));
}

describe('without valid credentials', () => {
	const tamper = (t) => t.slice(0, 10) + (t[10] === 'x' ? 'y' : 'x') + t.slice(11);
	const credentials = () => ({
		none: { token: null },
		'garbage bearer': { token: 'garbage' },
		'tampered session token': { token: tamper(srv.token) },
		'empty bearer': { token: null, headers: { authorization: 'Bearer ' } },
		'basic auth with the right password': {
			token: null,
			headers: { authorization: `Basic ${Buffer.from(`${ADMIN_EMAIL}:${ADMIN_PASSWORD}`).toString('base64')}` },
		},
		'garbage cookie': { token: null, headers: { cookie: 'rapport_session=garbage' } },
	});

	test('every /api/v1 route answers 401 unauthorized and changes nothing', async () => {
		await srv.unchangedBy(COLLECTIONS, async () => {
			for (const [name, cred] of Object.entries(credentials())) {
				for (const [method, path, body] of protectedRoutes()) {
					const headers = { ...cred.headers };
					if (method === 'PATCH' || method === 'DELETE') headers['if-match'] = '"1"';
					const res = await srv.request(method, path, { body, token: cred.token, headers });
					assert.equal(res.status, 401, `${method} ${path} with ${name}: ${res.status} ${res.text}`);
					expectError(res, 401, 'unauthorized');
				}
			}
		});
	});

	test('the admin session still works afterwards', async () => {
		assert.equal((await srv.get(`${API}/me`)).status, 200);
	});
});

describe('POST /api/v1/session', () => {
	test('good credentials: 201, a token, the user, and an HttpOnly SameSite=Strict cookie', async () => {
		const res = await srv.login();
		assert.equal(res.status, 201, res.text);
		const { token, user } = res.json;
		assert.equal(typeof token, 'string');
		assert.ok(token.length >= 16, 'a token long enough not to be guessed');
		assert.equal(user.email, ADMIN_EMAIL);
		assert.ok(Number.isInteger(user.id));
		assert.ok(!Object.keys(user).some((k) => /password|hash/i.test(k)), `no secrets in user: ${res.text}`);
		assert.ok(!res.text.includes(ADMIN_PASSWORD), 'the password is not echoed');

		const cookie = cookieOf(res);
		assert.ok(cookie, `Set-Cookie rapport_session: ${res.headers.getSetCookie()}`);
		const [pair, ...attrs] = cookie.split(';').map((s) => s.trim());
		assert.equal(pair, `rapport_session=${token}`);
		const attrSet = new Set(attrs.map((a) => a.toLowerCase()));
		assert.ok(attrSet.has('httponly'), `HttpOnly in ${cookie}`);
		assert.ok(attrSet.has('samesite=strict'), `SameSite=Strict in ${cookie}`);
		assert.ok(attrSet.has('path=/'), `Path=/ in ${cookie}`);
		assert.ok(!attrSet.has('secure'), `no Secure over plain HTTP (a browser would drop it): ${cookie}`);
	});

	test('the session cookie alone authenticates', async () => {
		const login = await srv.login();
		const pair = cookieOf(login).split(';')[0];
		const res = await srv.get(`${API}/me`, { token: null, headers: { cookie: pair } });
		assert.equal(res.status, 200, res.text);
		assert.equal(res.json.email, ADMIN_EMAIL);
	});

	test('a wrong password or an unknown user: 401 unauthorized, no cookie', async () => {
		const attempts = [
			[ADMIN_EMAIL, `${ADMIN_PASSWORD}x`],
			[ADMIN_EMAIL, ''],
			['nobody@rapport.test', ADMIN_PASSWORD],
		];
		for (const [email, password] of attempts) {
			const res = await srv.login(email, password);
			expectError(res, 401, 'unauthorized');
			assert.equal(cookieOf(res), undefined, `no session cookie for ${email}`);
			assert.ok(!res.text.includes(password) || password === '', 'the password is not echoed');
		}
	});
});

describe('GET /api/v1/me and DELETE /api/v1/session', () => {
	test('GET /me returns the user behind the credentials', async () => {
		const res = await srv.get(`${API}/me`);
		assert.equal(res.status, 200);
		assert.equal(res.json.email, ADMIN_EMAIL);
		assert.equal(res.json.id, srv.user.id);
		assert.ok(!Object.keys(res.json).some((k) => /password|hash/i.test(k)), res.text);
	});

	test('DELETE with the bearer token ends that session only', async () => {
		const { token } = (await srv.login()).json;
		assert.equal((await srv.get(`${API}/me`, { token })).status, 200);
		const res = await srv.del(`${API}/session`, { token });
		assert.equal(res.status, 204, res.text);
		expectError(await srv.get(`${API}/me`, { token }), 401, 'unauthorized');
		expectError(await srv.post(`${API}/organizations`, bodies.organization(), { token }), 401, 'unauthorized');
		assert.equal((await srv.get(`${API}/me`)).status, 200, 'other sessions go on');
	});

	test('DELETE with the cookie ends the session, for the cookie and the token', async () => {
		const login = await srv.login();
		const pair = cookieOf(login).split(';')[0];
		const refused = await srv.del(`${API}/session`, { token: null, headers: { cookie: pair } });
		expectError(refused, 403, 'forbidden');
		assert.match(refused.json.error.message, /X-CSRF-Token/);
		const res = await srv.del(`${API}/session`, {
			token: null, headers: { cookie: pair, 'x-csrf-token': login.json.user.csrf_token },
		});
		assert.equal(res.status, 204, res.text);
		expectError(await srv.get(`${API}/me`, { token: null, headers: { cookie: pair } }), 401, 'unauthorized');
		expectError(await srv.get(`${API}/me`, { token: login.json.token }), 401, 'unauthorized');
	});
});

describe('routes that need no credentials', () => {
	test('GET /healthz needs no credentials', async () => {
		const res = await srv.get('/healthz', { token: null });
		assert.equal(res.status, 200);
		assert.equal(res.json?.status, 'ok', res.text);
	});

	test('GET /api/v1/openapi.json needs no credentials', async () => {
		const res = await srv.get(`${API}/openapi.json`, { token: null });
		assert.equal(res.status, 200, res.text.slice(0, 300));
		assert.equal(typeof res.json?.openapi, 'string');
	});
});

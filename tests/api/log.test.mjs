/* The request log on stderr: one line per request, no secrets, no forged lines. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
	ADMIN_EMAIL, ADMIN_PASSWORD, API, bodies, lines, runCli, sleep, startServer,
} from './harness.mjs';

let srv;
let apiToken;

before(async () => {
	srv = await startServer();
	const r = await runCli(['token', 'create', '--db', srv.db, '--user', ADMIN_EMAIL, '--name', 'log-test']);
	assert.equal(r.code, 0, r.stderr);
	apiToken = lines(r.stdout).pop();
});
after(async () => { await srv?.stop(); });

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/* Lines of the log that name this method, path (query aside) and status. */
function logLines(method, path, status) {
	const re = new RegExp(`\\b${method}\\b.*${escapeRe(path)}(?=[\\s"?]|$).*\\b${status}\\b`);
	return lines(srv.stderr).filter((l) => re.test(l));
}

/* The log line may be written just after the answer: wait a little for it. */
async function waitForLog(method, path, status) {
	for (let i = 0; i < 40 && logLines(method, path, status).length === 0; i++) await sleep(50);
	return logLines(method, path, status);
}

test('one line per request, with method, path and status', async () => {
	const org = await srv.create('organizations', bodies.organization());
	const item = `${API}/organizations/${org.id}`;
	const cases = [
		['GET', `${API}/organizations`, 200, () => srv.get(`${API}/organizations?limit=3&sort=name`)],
		['GET', item, 200, () => srv.get(item)],
		['PATCH', item, 428, () => srv.patch(item, { notes: 'x' })],
		['GET', `${API}/no-such-route-for-the-log`, 404, () => srv.get(`${API}/no-such-route-for-the-log`)],
		['GET', `${API}/me`, 401, () => srv.get(`${API}/me`, { token: null })],
		['DELETE', item, 204, () => srv.del(item, { ifMatch: 1 })],
	];
	for (const [method, path, status, send] of cases) {
		const before = logLines(method, path, status).length;
		const res = await send();
		assert.equal(res.status, status, `${method} ${path}: ${res.text}`);
		const found = await waitForLog(method, path, status);
		assert.equal(found.length - before, 1,
			`one log line for ${method} ${path} ${status}; stderr tail:\n${srv.stderr.slice(-1500)}`);
	}
});

test('no credentials in the log: no token, cookie or password', async () => {
	await srv.get(`${API}/me`, { token: apiToken });
	const login = await srv.login();
	assert.equal(login.status, 201);
	const cookie = `rapport_session=${login.json.token}`;
	await srv.get(`${API}/me`, { token: null, headers: { cookie } });
	await srv.del(`${API}/session`, { token: login.json.token });
	await srv.login(ADMIN_EMAIL, 'a-wrong-password-for-the-log');
	await waitForLog('DELETE', `${API}/session`, 204);

	for (const secret of [srv.token, apiToken, login.json.token, ADMIN_PASSWORD, 'a-wrong-password-for-the-log'])
		assert.ok(!srv.stderr.includes(secret), `the log must not contain ${secret.slice(0, 6)}...`);
});

test('client text cannot forge a log line', async () => {
	const path = `${API}/x%0Aforged-line%0D%0Aforged-too%1B[31m`;
	await srv.get(path);
	await sleep(200);
	for (const l of lines(srv.stderr)) {
		assert.ok(!/^forged/.test(l.replace(/^\s+/, '')), `a line starting with client text: ${JSON.stringify(l)}`);
		assert.ok(!/[\x00-\x08\x0b-\x1f\x7f]/.test(l), `a raw control character in the log: ${JSON.stringify(l)}`);
	}
});

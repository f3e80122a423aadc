/*
 * Hardening (issue 4, item 7): the security headers on every answer, the
 * limits on URL, header and body size, the bound on the time a client may
 * take to send one request (slowloris), the limit on connections from one
 * address, and HTTPS with --tls-cert and --tls-key.
 *
 * The limits are probed over raw TCP sockets (node:net), so that the test
 * controls every byte and every pause; the servers run with small timeouts
 * (--request-timeout, --idle-timeout) so that the waits stay short.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
	ADMIN_EMAIL, ADMIN_PASSWORD, API, BIN, EX_NOINPUT, EX_USAGE, Server, bodies, expectError, fileTimeout,
	freePort, freshServer, initStore, lines, removeDir, runCli, sleep, startServer, tempDir,
} from './harness.mjs';

fileTimeout(180_000);

const EX_DATAERR = 65;
const ORGS = `${API}/organizations`;
const MiB = 1024 * 1024;
const URL_LIMIT = 4096;		/* LIMIT_URL_BYTES */
const HEADER_LIMIT = 8192;	/* LIMIT_HEADER_BYTES */

/* The servers below: small timeouts so that the slow clients are cut off quickly. */
const REQUEST_TIMEOUT_S = 2;
const IDLE_TIMEOUT_S = 4;
const PER_IP = 24;
/* How late after its deadline a slow connection may still be open (reaper tick, a slow CI). */
const SLACK_MS = 1500;

/* ---------------------------------------------------------------- helpers */

/* Servers of this file, killed if the runner exits with them still running. */
const mine = new Set();
process.on('exit', () => {
	for (const child of mine) {
		try { child.kill('SIGKILL'); } catch { /* gone */ }
	}
});

/*
 * A `rapport serve` with extra options (the harness's takes none), and over
 * HTTPS when tls = {ca} is given. Otherwise it is the harness's Server:
 * stop() checks a clean exit, request() works for plain HTTP.
 */
class TunedServer extends Server {
	constructor({ dir, db, extra = [], tls = null }) {
		super({ dir, db });
		this.extra = extra;
		this.tls = tls;
	}

	get base() {
		return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
	}

	async startOnce() {
		this.port = await freePort();
		this.exit = null;
		this.stopping = false;
		const args = ['serve', '--db', this.db, '--listen', `127.0.0.1:${this.port}`, ...this.extra];
		const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
		this.child = child;
		mine.add(child);
		child.stdout.setEncoding('utf8').on('data', (d) => { this.stdout += d; });
		child.stderr.setEncoding('utf8').on('data', (d) => { this.stderr += d; });
		this.exited = new Promise((resolve) => {
			const done = (code, signal) => {
				mine.delete(child);
				this.exit ??= { code, signal };
				resolve(this.exit);
			};
			child.on('error', (err) => { this.stderr += `\n[spawn error] ${err.message}`; done(null, null); });
			child.on('close', done);
		});
		const deadline = Date.now() + 10_000;
		for (;;) {
			if (this.exit)
				throw new Error(`rapport ${args.join(' ')} exited (code ${this.exit.code}) before answering; stderr:\n${this.stderr}`);
			try {
				const res = this.tls ? await this.tlsRequest('GET', '/healthz', { timeoutMs: 1000 })
					: await fetch(`${this.base}/healthz`, { signal: AbortSignal.timeout(1000) }).then(async (r) => {
						await r.arrayBuffer();
						return { status: r.status };
					});
				if (res.status === 200) return;
			} catch { /* not listening yet */ }
			if (Date.now() > deadline) {
				child.kill('SIGKILL');
				await this.exited;
				throw new Error(`rapport ${args.join(' ')} did not answer /healthz; stderr:\n${this.stderr}`);
			}
			await sleep(50);
		}
	}

	/* One request over HTTPS, trusting only this server's certificate. */
	tlsRequest(method, urlPath, { body, token = this.token, timeoutMs = 10_000 } = {}) {
		return new Promise((resolve, reject) => {
			const headers = {};
			let payload;
			if (token) headers.authorization = `Bearer ${token}`;
			if (body !== undefined) {
				payload = Buffer.from(JSON.stringify(body));
				headers['content-type'] = 'application/json';
				headers['content-length'] = String(payload.length);
			}
			const req = https.request({
				host: '127.0.0.1', port: this.port, method, path: urlPath, headers,
				ca: this.tls.ca, agent: false, timeout: timeoutMs,
			}, (res) => {
				let text = '';
				res.setEncoding('utf8');
				res.on('data', (d) => { text += d; });
				res.on('end', () => resolve({ status: res.statusCode, headers: new Headers(res.headers), json: parseJson(text), text }));
			});
			req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
			req.on('error', reject);
			req.end(payload);
		});
	}
}

/* init, then serve with the extra options. */
async function startTuned(extra, { tls = null, login = true } = {}) {
	const base = await freshServer();
	const srv = new TunedServer({ dir: base.dir, db: base.db, extra, tls });
	try {
		await initStore(srv.db);
		await srv.start();
		if (login && !tls) await srv.loginAdmin();
	} catch (err) {
		await srv.kill();
		throw err;
	}
	return srv;
}

function parseJson(text) {
	try {
		return JSON.parse(text);
	} catch {
		return undefined;
	}
}

/* {status, headers, text, json} from the raw bytes of one HTTP/1.1 answer, or status 0. */
function parseResponse(raw) {
	const text = raw.toString('latin1');
	const end = text.indexOf('\r\n\r\n');
	const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
	if (!m || end < 0) return { status: 0, headers: new Headers(), text: '', json: undefined, raw: text };
	const headers = new Headers();
	for (const line of text.slice(0, end).split('\r\n').slice(1)) {
		const colon = line.indexOf(':');
		if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
	}
	const body = raw.subarray(Buffer.byteLength(text.slice(0, end + 4), 'latin1')).toString('utf8');
	return { status: Number(m[1]), headers, text: body, json: parseJson(body), raw: text };
}

/*
 * Sends text over a new TCP connection and reads until the server closes
 * it (send `Connection: close` for answers that would keep it open).
 */
function rawHttp(port, text, { timeoutMs = 10_000 } = {}) {
	return new Promise((resolve, reject) => {
		const chunks = [];
		const sock = net.connect(port, '127.0.0.1');
		const timer = setTimeout(() => {
			sock.destroy();
			reject(new Error(`no end of the answer within ${timeoutMs} ms: ${Buffer.concat(chunks).toString('latin1').slice(0, 300)}`));
		}, timeoutMs);
		sock.on('data', (d) => chunks.push(d));
		sock.on('error', () => { /* a reset after the answer: the answer counts */ });
		sock.on('close', () => {
			clearTimeout(timer);
			resolve(parseResponse(Buffer.concat(chunks)));
		});
		sock.write(text);
	});
}

const get = (target, extraHeaders = '') =>
	`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extraHeaders}Connection: close\r\n\r\n`;

/*
 * A slow client: sends `first`, then `drip` every `everyMs` for as long as
 * the connection is open. closed resolves {ms, received} when the server
 * ends the connection (ms: since the connection was opened); after
 * giveUpMs the client ends it itself and ms is Infinity.
 */
function slowClient(port, first, drip, { everyMs = 250, giveUpMs = 15_000 } = {}) {
	const t0 = Date.now();
	const sock = net.connect(port, '127.0.0.1');
	let received = '';
	let open = true;
	const state = { open: () => open };
	state.closed = new Promise((resolve) => {
		const timer = setInterval(() => {
			if (open && sock.writable) sock.write(drip);
		}, everyMs);
		const giveUp = setTimeout(() => {
			clearInterval(timer);
			open = false;
			sock.destroy();
			resolve({ ms: Infinity, received });
		}, giveUpMs);
		sock.on('data', (d) => { received += d; });
		sock.on('error', () => { /* EPIPE or ECONNRESET: it was closed */ });
		sock.on('close', () => {
			clearInterval(timer);
			clearTimeout(giveUp);
			if (!open) return;
			open = false;
			resolve({ ms: Date.now() - t0, received });
		});
	});
	sock.write(first);
	return state;
}

/* ASAN_OPTIONS as given, with leak detection off. */
function asanWithoutLeaks() {
	return [process.env.ASAN_OPTIONS, 'detect_leaks=0'].filter(Boolean).join(':');
}

function assertSecurityHeaders(res, { tls = false } = {}) {
	const what = `${res.status} ${res.text?.slice(0, 100) ?? ''}`;
	const csp = res.headers.get('content-security-policy') ?? '';
	assert.match(csp, /frame-ancestors 'none'/, `CSP forbids framing (${what}): ${csp}`);
	assert.match(csp, /script-src 'self'/, `CSP allows scripts from this origin only (${what}): ${csp}`);
	assert.match(csp, /default-src 'self'/, `CSP default (${what}): ${csp}`);
	assert.match(csp, /object-src 'none'/, `CSP: no plugins (${what}): ${csp}`);
	assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, `CSP allows no inline script (${what}): ${csp}`);
	assert.equal(res.headers.get('x-content-type-options'), 'nosniff', what);
	assert.equal(res.headers.get('x-frame-options'), 'DENY', what);
	assert.equal(res.headers.get('referrer-policy'), 'no-referrer', what);
	assert.match(res.headers.get('cache-control') ?? '', /no-store/, `Cache-Control (${what})`);
	if (tls)
		assert.match(res.headers.get('strict-transport-security') ?? '', /^max-age=\d{7,}/, `HSTS over HTTPS (${what})`);
	else
		assert.equal(res.headers.get('strict-transport-security'), null, `no HSTS over plain HTTP (${what})`);
}

/* ---------------------------------------------------------------- headers */

describe('security headers on every answer', () => {
	let srv;
	let org;
	before(async () => {
		srv = await startServer();
		org = await srv.create('organizations', bodies.organization());
	});
	after(async () => { await srv?.stop(); });

	const cases = [
		['200 GET /healthz', () => srv.get('/healthz', { token: null }), 200],
		['200 the OpenAPI document', () => srv.get(`${API}/openapi.json`, { token: null }), 200],
		['201 POST a record', () => srv.post(ORGS, bodies.organization()), 201],
		['200 GET a record', () => srv.get(`${ORGS}/${org.id}`), 200],
		['201 login (its own Cache-Control)', () => srv.login(), 201],
		['401 without credentials', () => srv.get(`${API}/me`, { token: null }), 401],
		['404 no such path', () => srv.get('/no/such/path'), 404],
		['405 wrong method', () => srv.request('DELETE', '/healthz'), 405],
		['400 bad JSON', () => srv.post(ORGS, '{"name":'), 400],
		['413 body too large', () => srv.rawRequest('POST', ORGS, { body: Buffer.alloc(MiB + 1, ' ') }), 413],
		['414 URL too long', () => rawHttp(srv.port, get(`/healthz?p=${'a'.repeat(URL_LIMIT)}`)), 414],
		['431 headers too large', () => rawHttp(srv.port, get('/healthz', `X-Pad: ${'a'.repeat(HEADER_LIMIT)}\r\n`)), 431],
	];
	for (const [label, send, status] of cases) {
		test(label, async () => {
			const res = await send();
			assert.equal(res.status, status, res.text?.slice(0, 300));
			assertSecurityHeaders(res);
		});
	}

	test('304 Not Modified', async () => {
		const first = await srv.get(`${ORGS}/${org.id}`);
		const etag = first.headers.get('etag');
		assert.ok(etag, 'a read has an ETag');
		const res = await srv.get(`${ORGS}/${org.id}`, { headers: { 'if-none-match': etag } });
		assert.equal(res.status, 304, res.text);
		assertSecurityHeaders(res);
	});
});

/* ---------------------------------------------------------------- limits */

describe('limits', () => {
	let srv;
	before(async () => {
		srv = await startTuned(['--threads', '2', '--request-timeout', String(REQUEST_TIMEOUT_S),
			'--idle-timeout', String(IDLE_TIMEOUT_S), '--max-connections-per-ip', String(PER_IP)]);
	});
	after(async () => { await srv?.stop(); });

	/* The server still answers, and promptly. */
	async function stillServing() {
		const t0 = Date.now();
		const res = await srv.get('/healthz', { token: null, timeoutMs: 5000 });
		assert.equal(res.status, 200);
		return Date.now() - t0;
	}

	describe('URL length', () => {
		test(`a request target of exactly ${URL_LIMIT} bytes is served`, async () => {
			const target = `/healthz?p=${'a'.repeat(URL_LIMIT - 11)}`;
			assert.equal(target.length, URL_LIMIT);
			const res = await rawHttp(srv.port, get(target));
			assert.equal(res.status, 200, res.raw.slice(0, 300));
		});

		test(`${URL_LIMIT + 1} bytes, in the query string: 414 uri_too_long`, async () => {
			const res = await rawHttp(srv.port, get(`/healthz?p=${'a'.repeat(URL_LIMIT - 10)}`));
			expectError(res, 414, 'uri_too_long');
		});

		test(`${URL_LIMIT + 1} bytes, in the path: 414 uri_too_long`, async () => {
			const res = await rawHttp(srv.port, get(`${ORGS}/${'9'.repeat(URL_LIMIT - ORGS.length)}`));
			expectError(res, 414, 'uri_too_long');
		});

		test('a 100 KB URL (past libmicrohttpd\'s buffer): 414, and the server goes on', async () => {
			const res = await rawHttp(srv.port, get(`/healthz?p=${'a'.repeat(100_000)}`));
			assert.equal(res.status, 414, res.raw.slice(0, 300));
			await stillServing();
		});
	});

	describe('header size', () => {
		test('headers just under the limit are served', async () => {
			const res = await rawHttp(srv.port, get('/healthz', `X-Pad: ${'a'.repeat(HEADER_LIMIT - 200)}\r\n`));
			assert.equal(res.status, 200, res.raw.slice(0, 300));
		});

		test('headers over the limit: 431 headers_too_large', async () => {
			const res = await rawHttp(srv.port, get('/healthz', `X-Pad: ${'a'.repeat(HEADER_LIMIT)}\r\n`));
			expectError(res, 431, 'headers_too_large');
		});

		test('many small headers: 431 (libmicrohttpd\'s own, as its bookkeeping fills its buffer first)', async () => {
			const many = Array.from({ length: 400 }, (_, i) => `X-H${i}: ${'v'.repeat(20)}\r\n`).join('');
			const res = await rawHttp(srv.port, get('/healthz', many));
			assert.equal(res.status, 431, res.raw.slice(0, 300));
			await stillServing();
		});

		test('100 KB of headers (past libmicrohttpd\'s buffer): 431, and the server goes on', async () => {
			const res = await rawHttp(srv.port, get('/healthz', `X-Pad: ${'a'.repeat(100_000)}\r\n`));
			assert.equal(res.status, 431, res.raw.slice(0, 300));
			await stillServing();
		});
	});

	describe('body size', () => {
		test('1 MiB + 1 byte: 413 too_large', async () => {
			expectError(await srv.rawRequest('POST', ORGS, { body: Buffer.alloc(MiB + 1, ' ') }), 413, 'too_large');
		});

		test('Content-Length of 1 GiB, nothing sent: 413 at once', async () => {
			const res = await rawHttp(srv.port, `POST ${ORGS} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${srv.token}\r\n` +
				`Content-Type: application/json\r\nContent-Length: ${1024 * MiB}\r\n\r\n`);
			expectError(res, 413, 'too_large');
		});
	});

	describe('time to send a request', () => {
		const bound = REQUEST_TIMEOUT_S * 1000;

		test('a client trickling its headers is closed after --request-timeout; others are served meanwhile', async () => {
			/* A header line every 250 ms: never idle, never done. */
			const slow = slowClient(srv.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X-Slow: 1\r\n');
			await sleep(300);
			for (let i = 0; i < 5; i++) {
				const ms = await stillServing();
				assert.ok(ms < 1000, `GET /healthz took ${ms} ms while a slow client was held`);
			}
			assert.ok(slow.open(), 'the slow client is still connected while the others are served');
			const { ms, received } = await slow.closed;
			assert.ok(ms >= bound - 100, `closed after ${ms} ms, before the ${bound} ms bound`);
			assert.ok(ms <= bound + SLACK_MS, `closed after ${ms} ms; the bound is ${bound} ms`);
			assert.equal(received, '', 'no answer to a request that never arrived');
		});

		test('a client trickling its body is closed after --request-timeout', async () => {
			const slow = slowClient(srv.port, `POST ${API}/session HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
				'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n', ' ');
			const { ms } = await slow.closed;
			assert.ok(ms >= bound - 100 && ms <= bound + SLACK_MS, `closed after ${ms} ms; the bound is ${bound} ms`);
			await stillServing();
		});

		test('a client sending a byte at a time of its request line is closed too', async () => {
			const slow = slowClient(srv.port, 'G', 'E', { everyMs: 200 });
			const { ms } = await slow.closed;
			assert.ok(ms <= bound + SLACK_MS, `closed after ${ms} ms; the bound is ${bound} ms`);
		});

		test('a connection that sends nothing is closed within the bound', async () => {
			const silent = slowClient(srv.port, '', '', { everyMs: 1_000_000 });
			const { ms } = await silent.closed;
			assert.ok(ms <= bound + SLACK_MS, `closed after ${ms} ms`);
		});

		test('twenty slow clients at once: all closed within the bound, others served meanwhile', async () => {
			const slow = [];
			for (let i = 0; i < 10; i++) {
				slow.push(slowClient(srv.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X-Slow: 1\r\n'));
				slow.push(slowClient(srv.port, `POST ${API}/session HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
					'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{', ' '));
			}
			await sleep(300);
			const t0 = Date.now();
			const res = await srv.login();
			assert.equal(res.status, 201, res.text);
			assert.ok(Date.now() - t0 < 1500, `a login took ${Date.now() - t0} ms beside 20 slow clients`);
			assert.ok(slow.every((s) => s.open()), 'the slow clients were still connected');
			const closed = await Promise.all(slow.map((s) => s.closed));
			const worst = Math.max(...closed.map((c) => c.ms));
			assert.ok(worst <= bound + SLACK_MS, `the last slow client was closed after ${worst} ms`);
		});

		test('a normal request on a kept-alive connection is not cut off', async () => {
			/* Three requests on one connection, spread over more than the bound. */
			const sock = net.connect(srv.port, '127.0.0.1');
			let data = '';
			sock.setEncoding('latin1').on('data', (d) => { data += d; });
			await new Promise((resolve, reject) => { sock.on('connect', resolve); sock.on('error', reject); });
			for (let i = 0; i < 3; i++) {
				const before = (data.match(/HTTP\/1\.1 200/g) ?? []).length;
				sock.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
				for (let w = 0; w < 100 && (data.match(/HTTP\/1\.1 200/g) ?? []).length === before; w++)
					await sleep(20);
				assert.equal((data.match(/HTTP\/1\.1 200/g) ?? []).length, before + 1, `answer ${i + 1}: ${data.slice(-300)}`);
				await sleep(REQUEST_TIMEOUT_S * 1000 * 0.6);
			}
			sock.destroy();
		});
	});

	describe('connections from one address', () => {
		test(`past --max-connections-per-ip ${PER_IP}, new connections are refused; freed, they are served again`, async () => {
			const N = PER_IP + 8;
			const socks = [];
			const shut = [];
			for (let i = 0; i < N; i++) {
				const s = net.connect(srv.port, '127.0.0.1');
				s.on('error', () => {});
				s.on('close', () => shut.push(i));
				socks.push(s);
			}
			await sleep(700);	/* well before the request-time bound reaps the others */
			assert.ok(shut.length >= N - PER_IP, `${shut.length} of ${N} connections were closed at once; expected at least ${N - PER_IP}`);
			assert.ok(shut.length < N, 'the connections within the limit stay open');
			for (const s of socks) s.destroy();
			await sleep(200);
			await stillServing();
		});
	});

	describe('options', () => {
		const bad = [
			['--request-timeout', '0'], ['--request-timeout', 'x'], ['--request-timeout', '3601'],
			['--idle-timeout', '0'], ['--idle-timeout', '-5'], ['--max-connections-per-ip', '-1'],
			['--max-connections-per-ip', '100000'],
		];
		for (const [opt, value] of bad) {
			test(`serve ${opt} ${value}: exit 64 naming the option`, async () => {
				const r = await runCli(['serve', '--db', path.join(srv.dir, 'unused.db'), '--listen', '127.0.0.1:1', opt, value]);
				assert.equal(r.code, EX_USAGE, r.stderr);
				assert.equal(lines(r.stderr).length, 1, r.stderr);
				assert.ok(r.stderr.includes(opt), r.stderr);
				assert.ok(!fs.existsSync(path.join(srv.dir, 'unused.db')), 'no store was created');
			});
		}
	});
});

describe('idle timeout', () => {
	let srv;
	before(async () => { srv = await startTuned(['--request-timeout', '30', '--idle-timeout', '1'], { login: false }); });
	after(async () => { await srv?.stop(); });

	test('a kept-alive connection with nothing more to say is closed after --idle-timeout', async () => {
		const sock = net.connect(srv.port, '127.0.0.1');
		let data = '';
		const t0 = Date.now();
		const closed = new Promise((resolve) => sock.on('close', () => resolve(Date.now() - t0)));
		sock.on('error', () => {});
		sock.setEncoding('latin1').on('data', (d) => { data += d; });
		sock.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
		const ms = await Promise.race([closed, sleep(10_000).then(() => Infinity)]);
		sock.destroy();
		assert.match(data, /^HTTP\/1\.1 200/, 'the request was answered');
		assert.ok(ms <= 1000 + 2500, `closed after ${ms} ms; --idle-timeout is 1 s`);
	});
});

/* ---------------------------------------------------------------- TLS */

const hasOpenssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;

describe('TLS', { skip: hasOpenssl ? false : 'needs the openssl command to make a throwaway certificate' }, () => {
	let dir;
	let srv;
	const file = (name) => path.join(dir, name);

	function openssl(args) {
		const r = spawnSync('openssl', args, { encoding: 'utf8' });
		assert.equal(r.status, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
	}

	before(async () => {
		dir = tempDir();
		for (const name of ['server', 'other'])
			openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
				'-keyout', file(`${name}.key`), '-out', file(`${name}.crt`), '-days', '2', '-subj', '/CN=localhost',
				'-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost']);
		fs.writeFileSync(file('garbage.crt'), '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
		srv = await startTuned(['--tls-cert', file('server.crt'), '--tls-key', file('server.key')],
			{ tls: { ca: fs.readFileSync(file('server.crt')) } });
	});
	after(async () => {
		await srv?.stop();
		removeDir(dir);
	});

	test('GET /healthz over HTTPS: 200 with HSTS and the security headers', async () => {
		const res = await srv.tlsRequest('GET', '/healthz');
		assert.equal(res.status, 200, res.text);
		assert.equal(res.json?.status, 'ok');
		assertSecurityHeaders(res, { tls: true });
	});

	test('login over HTTPS, then the token works', async () => {
		const res = await srv.tlsRequest('POST', `${API}/session`, { body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } });
		assert.equal(res.status, 201, res.text);
		assert.equal(typeof res.json?.token, 'string');
		assert.match(res.headers.get('set-cookie') ?? '', /rapport_session=/);
		assert.match(res.headers.get('set-cookie') ?? '', /; Secure\b/, 'the cookie is Secure over HTTPS');
		assertSecurityHeaders(res, { tls: true });
		const me = await srv.tlsRequest('GET', `${API}/me`, { token: res.json.token });
		assert.equal(me.status, 200, me.text);
		assert.equal(me.json?.email, ADMIN_EMAIL);
	});

	test('an error over HTTPS carries HSTS too', async () => {
		const res = await srv.tlsRequest('GET', `${API}/me`, { token: null });
		expectError(res, 401, 'unauthorized');
		assertSecurityHeaders(res, { tls: true });
	});

	test('plain HTTP to the HTTPS port gets no HTTP answer', async () => {
		const res = await rawHttp(srv.port, get('/healthz'));
		assert.equal(res.status, 0, `a plain HTTP request was answered: ${res.raw.slice(0, 200)}`);
		const again = await srv.tlsRequest('GET', '/healthz');
		assert.equal(again.status, 200, 'HTTPS still works afterwards');
	});

	test('a client that never finishes the TLS handshake is closed within the request bound', async () => {
		const slow = await startTuned(['--tls-cert', file('server.crt'), '--tls-key', file('server.key'),
			'--request-timeout', '1', '--idle-timeout', '30'], { tls: { ca: fs.readFileSync(file('server.crt')) } });
		try {
			/* A TLS record header, then a byte at a time. */
			const c = slowClient(slow.port, Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), Buffer.from([0x01]));
			const { ms } = await c.closed;
			assert.ok(ms <= 1000 + SLACK_MS, `closed after ${ms} ms; --request-timeout is 1 s`);
		} finally {
			await slow.stop();
		}
	});

	/* [what, options (FILE(name) is a path in the temp dir), exit status, text stderr must contain] */
	const refusals = [
		['--tls-cert without --tls-key', ['--tls-cert', 'FILE:server.crt'], EX_USAGE, /--tls-key/],
		['--tls-key without --tls-cert', ['--tls-key', 'FILE:server.key'], EX_USAGE, /--tls-cert/],
		['a certificate file that does not exist', ['--tls-cert', 'FILE:missing.crt', '--tls-key', 'FILE:server.key'],
			EX_NOINPUT, /missing\.crt/],
		['a key file that does not exist', ['--tls-cert', 'FILE:server.crt', '--tls-key', 'FILE:missing.key'],
			EX_NOINPUT, /missing\.key/],
		['a directory as the certificate', ['--tls-cert', 'FILE:', '--tls-key', 'FILE:server.key'], EX_NOINPUT, /--tls-cert/],
		['a key where the certificate should be', ['--tls-cert', 'FILE:server.key', '--tls-key', 'FILE:server.key'],
			EX_DATAERR, /server\.key/],
		['a certificate where the key should be', ['--tls-cert', 'FILE:server.crt', '--tls-key', 'FILE:server.crt'],
			EX_DATAERR, /server\.crt/],
	];
	for (const [what, template, status, names] of refusals) {
		test(`${what}: exit ${status}, the store untouched`, async () => {
			const db = path.join(dir, `untouched-${status}.db`);
			const args = template.map((a) => (a.startsWith('FILE:') ? file(a.slice(5)) : a));
			const r = await runCli(['serve', '--db', db, '--listen', `127.0.0.1:${await freePort()}`, ...args]);
			assert.equal(r.code, status, r.stderr);
			assert.match(r.stderr, names, 'stderr names the file or option');
			assert.ok(!fs.existsSync(db), 'the store was not created');
		});
	}

	/* These pass the PEM check; libmicrohttpd (GnuTLS) refuses them when it starts. */
	const refusedByTls = [
		/* GnuTLS 3.7 leaks a certificate structure when it fails to parse one
		 * (gnutls_x509_crt_init in its stack, nothing of ours): no leak check there. */
		['a certificate that is not one', 'garbage.crt', 'server.key', { ASAN_OPTIONS: asanWithoutLeaks() }],
		['a key that does not match the certificate', 'server.crt', 'other.key', {}],
	];
	for (const [what, cert, key, env] of refusedByTls) {
		test(`${what}: exit ${EX_DATAERR} naming both files`, async () => {
			const db = path.join(dir, 'tls-refused.db');
			const r = await runCli(['serve', '--db', db, '--listen', `127.0.0.1:${await freePort()}`,
				'--tls-cert', file(cert), '--tls-key', file(key)], { env });
			assert.equal(r.code, EX_DATAERR, r.stderr);
			assert.ok(r.stderr.includes(cert) && r.stderr.includes(key), `stderr names both files: ${r.stderr}`);
		});
	}
});

/*
 * Black-box harness for the rapport API tests.
 *
 * Each test file starts the real binary (RAPPORT_BIN, default build/rapport)
 * in its own temporary directory, on a free loopback port, and talks HTTP to
 * it. Nothing here knows how the server is written: only docs/API.md and the
 * command line described in the issue.
 *
 * Typical use:
 *
 *	let srv;
 *	before(async () => { srv = await startServer(); });
 *	after(async () => { await srv?.stop(); });
 *	test('...', async () => { const res = await srv.get('/api/v1/me'); ... });
 *
 * Run from the repository root:
 *	node --test --test-reporter=tap tests/api/
 *	RAPPORT_BIN=build/asan/rapport node --test tests/api/
 *
 * Two backends. By default each store is a SQLite file in the server's temp
 * dir. With RAPPORT_TEST_PG_DIR set to the folder of a running cluster
 * (`sh scripts/pg.sh start DIR`, as scripts/test.sh does), each store is a
 * fresh database of that cluster instead (`pg.sh createdb DIR NAME`), passed
 * to init, serve and token create as `--db postgres://...`, and dropped when
 * the server is stopped. The tests and their assertions are the same on
 * both (the CLI tests of unusable SQLite files pass their own file paths, so
 * they run in both modes); those about several processes, database faults
 * and unreachable PostgreSQL URLs need PostgreSQL and skip without it.
 *	d=$(mktemp -d) && sh scripts/pg.sh start $d && RAPPORT_TEST_PG_DIR=$d node --test tests/api/; sh scripts/pg.sh stop $d
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = process.env.RAPPORT_BIN
	? path.resolve(process.env.RAPPORT_BIN)
	: path.join(REPO_ROOT, 'build', 'rapport');

export const ADMIN_EMAIL = 'admin@rapport.test';
export const ADMIN_PASSWORD = 'Sturdy-Lantern-Pebble-42';
export const API = '/api/v1';
export const COLLECTIONS = ['organizations', 'people', 'affiliations', 'interactions', 'custom-fields'];

const STARTUP_MS = 10_000;
const REQUEST_MS = 15_000;
const CLI_MS = 15_000;
const STOP_MS = 10_000;

export const EX_USAGE = 64;
export const EX_NOINPUT = 66;

/* The PostgreSQL cluster that stores live in, or null for SQLite files. */
export const PG_DIR = process.env.RAPPORT_TEST_PG_DIR ? path.resolve(process.env.RAPPORT_TEST_PG_DIR) : null;
export const BACKEND = PG_DIR ? 'postgres' : 'sqlite';
/* For {skip}: false on PostgreSQL, else why a test cannot run. */
export const NEEDS_PG = PG_DIR ? false
	: 'needs PostgreSQL: set RAPPORT_TEST_PG_DIR to a `sh scripts/pg.sh start DIR` folder (make test does)';
const PG_SH = path.join(REPO_ROOT, 'scripts', 'pg.sh');
const PG_MS = 60_000;

/* Children still running when the runner exits are killed, so a failing test
 * never leaves a server behind. */
const live = new Set();
/* So are the clusters of startCluster() (dir -> thaw), stopped and removed, and the databases of createDatabase() dropped. */
const liveClusters = new Map();
const liveDatabases = new Set();
process.on('exit', () => {
	for (const child of live) {
		try { child.kill('SIGKILL'); } catch { /* already gone */ }
	}
	for (const thaw of liveClusters.values()) thaw();
	for (const url of liveDatabases)
		spawnSync('psql', psqlArgs(url, dropSql(url)), { stdio: 'ignore', timeout: 30_000 });
	for (const dir of liveClusters.keys())
		spawnSync('sh', [PG_SH, 'stop', dir], { stdio: 'ignore', timeout: 60_000 });
});
/* An interrupted file exits, so that the above runs. */
for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]])
	process.on(sig, () => process.exit(code));

/* No test file may run for ever, whatever the server does. */
let fileTimer;
export function fileTimeout(ms) {
	clearTimeout(fileTimer);
	fileTimer = setTimeout(() => {
		console.error(`# ${process.argv[1]}: still running after ${ms} ms, giving up`);
		process.exit(1);
	}, ms).unref();
}
fileTimeout(120_000);

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function tempDir() {
	return fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-api-'));
}

export function removeDir(dir) {
	if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

/* Lines of a process's output, without the empty one after the last newline. */
export function lines(text) {
	return text === '' ? [] : text.replace(/\n$/, '').split('\n');
}

function childEnv(env) {
	const merged = { ...process.env };
	for (const [k, v] of Object.entries(env)) {
		if (v === undefined) delete merged[k];
		else merged[k] = v;
	}
	return merged;
}

/*
 * Runs `rapport ARGS` to completion. env entries set to undefined are
 * removed from the environment. Resolves {code, signal, stdout, stderr};
 * rejects if the binary cannot be started or runs longer than timeoutMs.
 */
export function runCli(args, opts) {
	return run(BIN, args, opts);
}

/* The same for any program. */
export function run(bin, args, { env = {}, timeoutMs = CLI_MS } = {}) {
	return new Promise((resolve, reject) => {
		const child = spawn(bin, args, { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
		live.add(child);
		let stdout = '';
		let stderr = '';
		let timedOut = false;
		child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
		child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
		const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
		child.on('error', (err) => {
			clearTimeout(timer);
			live.delete(child);
			reject(new Error(`cannot run ${bin}: ${err.message}`));
		});
		child.on('close', (code, signal) => {
			clearTimeout(timer);
			live.delete(child);
			if (timedOut)
				reject(new Error(`${path.basename(bin)} ${args.join(' ')} did not finish in ${timeoutMs} ms; stderr:\n${stderr}`));
			else
				resolve({ code, signal, stdout, stderr });
		});
	});
}

/* Creates (or migrates) the store at db with the harness admin. */
export async function initStore(db, { admin = ADMIN_EMAIL, password = ADMIN_PASSWORD, demo = false } = {}) {
	const args = ['init', '--db', db, '--admin', admin];
	if (demo) args.push('--demo');
	const r = await runCli(args, { env: { RAPPORT_ADMIN_PASSWORD: password } });
	assert.equal(r.code, 0, `rapport ${args.join(' ')} exited ${r.code}; stderr:\n${r.stderr}`);
	return r;
}

/*
 * PostgreSQL, through scripts/pg.sh. Each helper rejects with pg.sh's
 * reason when it fails.
 */
export async function pgScript(args, { timeoutMs = PG_MS } = {}) {
	const r = await run('sh', [PG_SH, ...args], { timeoutMs });
	if (r.code !== 0)
		throw new Error(`sh scripts/pg.sh ${args.join(' ')} exited ${r.code}: ${(r.stderr + r.stdout).trim()}`);
	const out = lines(r.stdout).filter((l) => l.trim() !== '');
	return out.length ? out[out.length - 1].trim() : '';
}

export function isPgUrl(db) {
	return /^postgres(ql)?:\/\//i.test(db);
}

let dbSeq = 0;
/* A new, empty database in the cluster at dir; resolves its URL. */
export async function createDatabase(dir = PG_DIR) {
	const name = `rapport_${process.pid}_${Date.now() % 1e8}_${++dbSeq}`;
	const url = await pgScript(['createdb', dir, name]);
	assert.ok(isPgUrl(url), `pg.sh createdb should print a postgres:// URL, printed ${JSON.stringify(url)}`);
	liveDatabases.add(url);
	return url;
}

function psqlArgs(url, sql) {
	const u = new URL(url);
	u.pathname = '/postgres';
	return ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', u.href, '-c', sql];
}

/* Runs one SQL command with psql in the cluster's postgres database; resolves its output. */
async function psql(url, sql) {
	const r = await run('psql', psqlArgs(url, sql), { timeoutMs: PG_MS });
	if (r.code !== 0) throw new Error(`psql ${sql}: ${r.stderr.trim()}`);
	return r.stdout.trim();
}

const dbName = (url) => decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
const quoteIdent = (name) => `"${name.replace(/"/g, '""')}"`;
const quoteLiteral = (text) => `'${text.replace(/'/g, "''")}'`;
const dropSql = (url) => `DROP DATABASE IF EXISTS ${quoteIdent(dbName(url))} WITH (FORCE)`;

/* DROP DATABASE, even if something is still connected to it. */
export async function dropDatabase(url) {
	await psql(url, dropSql(url));
	liveDatabases.delete(url);
}

/* Whether the database that url names exists (asked through its cluster). */
export async function databaseExists(url) {
	return (await psql(url, `SELECT count(*) FROM pg_database WHERE datname = ${quoteLiteral(dbName(url))}`)) === '1';
}

/*
 * A PostgreSQL cluster of its own, in a new temporary folder, for a test
 * that stops and starts it (the shared one at PG_DIR must stay up).
 */
export async function startCluster() {
	const dir = path.join(os.tmpdir(), `rapport-pg-${process.pid}-${Date.now() % 1e8}`);
	let cluster;
	liveClusters.set(dir, () => cluster?.thaw());
	let url;
	try {
		url = await pgScript(['start', dir]);
		assert.ok(isPgUrl(url), `pg.sh start should print a postgres:// URL, printed ${JSON.stringify(url)}`);
	} catch (err) {
		await pgScript(['stop', dir]).catch(() => {});
		liveClusters.delete(dir);
		throw err;
	}
	/* The postmaster and its children, which this cluster started. */
	const pids = async () => {
		const postmaster = fs.readFileSync(path.join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0].trim();
		const kids = await run('ps', ['-o', 'pid=', '--ppid', postmaster]);
		return [postmaster, ...kids.stdout.split(/\s+/).filter(Boolean)].map(Number);
	};
	let frozen = [];
	cluster = {
		dir,
		url,
		createdb: () => createDatabase(dir),
		halt: () => pgScript(['halt', dir]),
		resume: () => pgScript(['resume', dir]),
		/* SIGSTOP: the server is there but answers nothing, as behind a dead network. */
		async freeze() {
			frozen = await pids();
			for (const pid of frozen) process.kill(pid, 'SIGSTOP');
		},
		thaw() {
			for (const pid of frozen) {
				try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ }
			}
			frozen = [];
		},
		async stop() {
			this.thaw();
			await pgScript(['stop', dir]);
			liveClusters.delete(dir);
		},
	};
	return cluster;
}

export function freePort() {
	return new Promise((resolve, reject) => {
		const probe = net.createServer();
		probe.unref();
		probe.on('error', reject);
		probe.listen(0, '127.0.0.1', () => {
			const { port } = probe.address();
			probe.close(() => resolve(port));
		});
	});
}

function parseBody(text) {
	try {
		return JSON.parse(text);
	} catch {
		return undefined;
	}
}

/*
 * A running `rapport serve` on a store: a SQLite file in a temporary
 * directory, or a PostgreSQL database (then dir is a temporary directory
 * for anything else). ownsDb: dropping the PostgreSQL database is this
 * server's job (not that of a second server on the same database).
 */
export class Server {
	constructor({ dir, db, ownsDb = isPgUrl(db), args = [] }) {
		this.dir = dir;
		this.args = args;		/* more options for rapport serve */
		this.db = db;
		this.ownsDb = ownsDb;
		this.port = 0;
		this.child = null;
		this.stderr = '';
		this.stdout = '';
		this.exit = null;		/* {code, signal} once the process ended */
		this.token = null;		/* the admin's session token */
		this.user = null;		/* the admin, as POST /session returned it */
		this.stopping = false;		/* set while we stop it on purpose */
		this.crashes = [];		/* how it ended each time it died on its own */
		this.restarting = null;		/* the restart after a crash, while it runs */
	}

	get base() {
		return `http://127.0.0.1:${this.port}`;
	}

	/*
	 * Spawns serve on a fresh port and waits for GET /healthz to answer 200.
	 * If another process took the port between freePort() and serve's bind
	 * (test files may run side by side), tries another port.
	 */
	async start() {
		for (let attempt = 1; ; attempt++) {
			const from = this.stderr.length;
			try {
				return await this.startOnce();
			} catch (err) {
				const said = this.stderr.slice(from);
				if (attempt >= 3 || !this.exit || !/cannot listen on|address already in use/i.test(said)) throw err;
			}
		}
	}

	async startOnce() {
		this.port = await freePort();
		this.exit = null;
		this.stopping = false;
		const args = ['serve', '--db', this.db, '--listen', `127.0.0.1:${this.port}`, ...this.args];
		const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
		this.child = child;
		live.add(child);
		child.stdout.setEncoding('utf8').on('data', (d) => { this.stdout += d; });
		child.stderr.setEncoding('utf8').on('data', (d) => { this.stderr += d; });
		this.exited = new Promise((resolve) => {
			const done = (code, signal) => {
				live.delete(child);
				this.exit ??= { code, signal };
				resolve(this.exit);
			};
			child.on('error', (err) => { this.stderr += `\n[spawn error] ${err.message}`; done(null, null); });
			child.on('close', done);
		});

		const deadline = Date.now() + STARTUP_MS;
		for (;;) {
			if (this.exit)
				throw new Error(`rapport serve exited (code ${this.exit.code}, signal ${this.exit.signal}) ` +
					`before answering /healthz; stderr:\n${this.stderr}`);
			try {
				const res = await fetch(`${this.base}/healthz`, { signal: AbortSignal.timeout(1000) });
				await res.arrayBuffer();
				if (res.status === 200) return;
			} catch { /* not listening yet */ }
			if (Date.now() > deadline) {
				child.kill('SIGKILL');
				await this.exited;
				throw new Error(`rapport serve did not answer GET /healthz with 200 within ${STARTUP_MS} ms; ` +
					`stderr:\n${this.stderr}`);
			}
			await sleep(50);
		}
	}

	/* Sends a signal and waits for the process to end; kills it after STOP_MS. */
	async signal(sig = 'SIGTERM') {
		this.stopping = true;
		if (this.exit) return this.exit;
		this.child.kill(sig);
		const timer = setTimeout(() => { this.child.kill('SIGKILL'); }, STOP_MS);
		const status = await this.exited;
		clearTimeout(timer);
		return status;
	}

	/*
	 * SIGTERM, assert a clean exit (code 0) and that the server never died on
	 * its own meanwhile; remove the store (the temp dir and the PostgreSQL
	 * database) unless keepDir.
	 */
	async stop({ keepDir = false, sig = 'SIGTERM' } = {}) {
		if (this.exit && !this.stopping) this.noteCrash();
		let status;
		try {
			status = await this.signal(sig);
		} finally {
			if (!keepDir) await this.removeStore();
		}
		assert.equal(this.crashes.length, 0, `rapport serve died on its own during the tests: ${JSON.stringify(this.crashes)}`);
		assert.deepEqual(status, { code: 0, signal: null },
			`rapport serve should exit 0 on ${sig}; stderr tail:\n${this.stderr.slice(-2000)}`);
	}

	/*
	 * If the server died on its own (a crash fails the test that caused it),
	 * starts it again on the same store so that later tests still say
	 * something; stop() then reports the crash.
	 */
	async ensureRunning() {
		if (this.restarting) return this.restarting;	/* concurrent requests share one restart */
		if (!this.exit || this.stopping || !this.child) return undefined;
		this.noteCrash();
		this.restarting = this.start().finally(() => { this.restarting = null; });
		return this.restarting;
	}

	noteCrash() {
		this.crashes.push({ code: this.exit.code, signal: this.exit.signal });
	}

	/* For error messages: whether the server is still running, and its last words. */
	describeExit() {
		const state = this.exit
			? `; rapport serve has exited (code ${this.exit.code}, signal ${this.exit.signal})`
			: '; rapport serve is still running';
		return `${state}; stderr tail:\n${this.stderr.slice(-1500)}`;
	}

	/* Kills without checks (for cleanup after a failure). */
	async kill() {
		if (this.child && !this.exit) {
			this.child.kill('SIGKILL');
			await this.exited;
		}
		try {
			await this.removeStore();
		} catch (err) {
			console.error(`# ${err.message}`);
		}
	}

	/* Removes the temp dir and, if this server made it, the database. */
	async removeStore() {
		removeDir(this.dir);
		if (this.ownsDb && !this.dropped) {
			this.dropped = true;
			await dropDatabase(this.db);
		}
	}

	/*
	 * One HTTP request. body: an object (sent as JSON), a string or a Buffer
	 * (sent as is). Content-Type defaults to application/json when there is a
	 * body; a header given as null is left out. token: Bearer credential,
	 * defaults to the admin's session; null sends none.
	 * Resolves {status, headers, json, text}; json is undefined if the body
	 * is not JSON.
	 */
	async request(method, urlPath, { body, headers = {}, token = this.token, timeoutMs = REQUEST_MS } = {}) {
		await this.ensureRunning();
		const h = {};
		if (token) h.authorization = `Bearer ${token}`;
		let payload;
		if (body !== undefined) {
			/* A Buffer, so that fetch adds no Content-Type of its own. */
			payload = Buffer.isBuffer(body) ? body
				: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
			h['content-type'] = 'application/json';
		}
		for (const [k, v] of Object.entries(headers)) {
			if (v === null) delete h[k.toLowerCase()];
			else h[k.toLowerCase()] = v;
		}
		let res;
		let text;
		try {
			res = await fetch(this.base + urlPath, {
				method, headers: h, body: payload, redirect: 'manual',
				signal: AbortSignal.timeout(timeoutMs),
			});
			text = await res.text();
		} catch (err) {
			await Promise.race([this.exited, sleep(200)]);	/* did it just die? */
			throw new Error(`${method} ${urlPath}: ${err.message} (${err.cause?.code ?? err.cause?.message ?? err.name})` +
				this.describeExit(), { cause: err });
		}
		return { status: res.status, headers: res.headers, json: parseBody(text), text };
	}

	get(urlPath, opts) { return this.request('GET', urlPath, opts); }
	post(urlPath, body, opts = {}) { return this.request('POST', urlPath, { ...opts, body }); }

	patch(urlPath, body, { ifMatch, ...opts } = {}) {
		const headers = { ...opts.headers };
		if (ifMatch !== undefined) headers['if-match'] = etagOf(ifMatch);
		return this.request('PATCH', urlPath, { ...opts, body, headers });
	}

	del(urlPath, { ifMatch, ...opts } = {}) {
		const headers = { ...opts.headers };
		if (ifMatch !== undefined) headers['if-match'] = etagOf(ifMatch);
		return this.request('DELETE', urlPath, { ...opts, headers });
	}

	/*
	 * A request over node:http, for bodies that the server may refuse before
	 * reading them (413): resolves as soon as a response arrives, even if the
	 * rest of the upload then fails. chunked: no Content-Length.
	 */
	async rawRequest(method, urlPath, { body = Buffer.alloc(0), headers = {}, chunked = false, token = this.token } = {}) {
		await this.ensureRunning();
		return new Promise((resolve, reject) => {
			const h = { 'content-type': 'application/json', ...headers };
			if (token) h.authorization = `Bearer ${token}`;
			if (!chunked) h['content-length'] = String(body.length);
			const req = http.request({ host: '127.0.0.1', port: this.port, method, path: urlPath, headers: h, agent: false });
			let answered = false;
			const timer = setTimeout(() => req.destroy(new Error(`no answer in ${REQUEST_MS} ms`)), REQUEST_MS);
			req.on('response', (res) => {
				answered = true;
				let text = '';
				res.setEncoding('utf8');
				res.on('data', (d) => { text += d; });
				const finish = () => {
					clearTimeout(timer);
					resolve({ status: res.statusCode, headers: new Headers(res.headers), json: parseBody(text), text });
				};
				res.on('end', finish);
				res.on('error', finish);	/* the status line is what matters */
			});
			req.on('error', (err) => {
				if (answered) return;
				clearTimeout(timer);
				reject(new Error(`${method} ${urlPath}: connection failed before any answer ` +
					`(${err.code ?? err.message}); the server should answer, not reset${this.describeExit()}`));
			});
			const step = 64 * 1024;
			for (let i = 0; i < body.length; i += step)
				req.write(body.subarray(i, i + step));
			req.end();
		});
	}

	async login(email = ADMIN_EMAIL, password = ADMIN_PASSWORD) {
		return this.post(`${API}/session`, { email, password }, { token: null });
	}

	async loginAdmin() {
		const res = await this.login();
		assert.equal(res.status, 201, `admin login: ${res.status} ${res.text}`);
		assert.equal(typeof res.json?.token, 'string', `admin login body: ${res.text}`);
		this.token = res.json.token;
		this.user = res.json.user;
		return res;
	}

	/* POSTs a record and asserts 201; returns the record. */
	async create(collection, body, opts) {
		const res = await this.post(`${API}/${collection}`, body, opts);
		assert.equal(res.status, 201, `POST ${collection} ${JSON.stringify(body).slice(0, 300)}: ${res.status} ${res.text}`);
		return res.json;
	}

	/* GETs a record and asserts 200; returns the record. */
	async read(collection, id) {
		const res = await this.get(`${API}/${collection}/${id}`);
		assert.equal(res.status, 200, `GET ${collection}/${id}: ${res.status} ${res.text}`);
		return res.json;
	}

	/* GETs one list page and asserts 200 with the list shape. */
	async page(urlPath, params = {}) {
		const res = await this.get(withQuery(urlPath, params));
		assert.equal(res.status, 200, `GET ${withQuery(urlPath, params)}: ${res.status} ${res.text}`);
		assertListShape(res.json);
		return res.json;
	}

	/* Follows next_cursor to the end; returns every item and the pages seen. */
	async pageAll(urlPath, params = {}, { maxPages = 500 } = {}) {
		const items = [];
		const pages = [];
		let cursor;
		for (let n = 0; n < maxPages; n++) {
			const page = await this.page(urlPath, cursor ? { ...params, cursor } : params);
			pages.push(page);
			items.push(...page.items);
			if (page.next_cursor === null) return { items, pages };
			assert.equal(typeof page.next_cursor, 'string');
			cursor = page.next_cursor;
		}
		assert.fail(`${urlPath}: still a next_cursor after ${maxPages} pages`);
	}

	async listAll(collection, params = {}) {
		return (await this.pageAll(`${API}/${collection}`, { limit: 200, ...params })).items;
	}

	/* Every record of the given collections, for before/after comparisons. */
	async snapshot(collections = COLLECTIONS) {
		const out = {};
		for (const c of collections) out[c] = await this.listAll(c);
		return out;
	}

	/*
	 * Runs send() (which must be refused) and asserts that no record of the
	 * given collections was created, changed or deleted meanwhile.
	 */
	async unchangedBy(collections, send) {
		const before = await this.snapshot(collections);
		const result = await send();
		const afterwards = await this.snapshot(collections);
		assert.deepEqual(afterwards, before, 'a refused request must change nothing');
		return result;
	}
}

/* "3" for 3, and anything already quoted or a string as given. */
export function etagOf(v) {
	return typeof v === 'number' ? `"${v}"` : v;
}

export function withQuery(urlPath, params = {}) {
	const qs = new URLSearchParams(params).toString();
	return qs ? `${urlPath}?${qs}` : urlPath;
}

export function assertListShape(body) {
	assert.ok(body && Array.isArray(body.items), `a list answer has items: ${JSON.stringify(body)?.slice(0, 300)}`);
	assert.ok(body.next_cursor === null || typeof body.next_cursor === 'string',
		`next_cursor is a string or null: ${JSON.stringify(body.next_cursor)}`);
}

/*
 * A server, not started, on a new store that does not exist yet (SQLite: a
 * path in a new temp dir) or is an empty database (PostgreSQL).
 */
export async function freshServer({ args = [] } = {}) {
	const dir = tempDir();
	if (!PG_DIR) return new Server({ dir, db: path.join(dir, 'rapport.db'), args });
	try {
		return new Server({ dir, db: await createDatabase(), args });
	} catch (err) {
		removeDir(dir);
		throw err;
	}
}

/*
 * A second `rapport serve` on the store of a running one, as another
 * process would be behind a load balancer: no init, the same admin session.
 * Stopping it leaves the store alone.
 */
export async function startPeer(srv) {
	const peer = new Server({ dir: tempDir(), db: srv.db, ownsDb: false });
	try {
		await peer.start();
	} catch (err) {
		await peer.kill();
		throw err;
	}
	peer.token = srv.token;
	peer.user = srv.user;
	return peer;
}

/*
 * init + serve + admin login, on a new store (freshServer). Cleans up
 * after itself if any step fails.
 */
export async function startServer({ demo = false, args = [] } = {}) {
	const srv = await freshServer({ args });
	try {
		await initStore(srv.db, { demo });
		await srv.start();
		await srv.loginAdmin();
	} catch (err) {
		await srv.kill();
		throw err;
	}
	return srv;
}

/*
 * Asserts an error answer: status, JSON body {error: {code, message,
 * fields}}, and that fields names each of `fields` (a string is an exact
 * key; a RegExp must match some key).
 */
export function expectError(res, status, code, fields = []) {
	assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status}: ${res.text.slice(0, 500)}`);
	assert.match(res.headers.get('content-type') ?? '', /^application\/json\b/i, 'errors are JSON');
	const err = res.json?.error;
	assert.ok(err && typeof err === 'object', `error body: ${res.text.slice(0, 500)}`);
	assert.equal(err.code, code, `error code: ${res.text.slice(0, 500)}`);
	assert.equal(typeof err.message, 'string');
	assert.ok(err.message.length > 0, 'error message is not empty');
	for (const f of fields) {
		const keys = Object.keys(err.fields ?? {});
		const named = typeof f === 'string' ? keys.includes(f) : keys.some((k) => f.test(k));
		assert.ok(named, `error.fields should name ${f}: ${res.text.slice(0, 500)}`);
	}
	return err;
}

/* A custom field's key in error.fields: "tier_score", "custom.tier_score", ... */
export const customKey = (name) => new RegExp(`(^|[.\\[/])${name}\\]?$`);

/* Record fields that the server sets. */
export const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/* Custom-field declarations are the one kind of record without `custom` (docs/API.md). */
export function assertRecordBasics(rec, { custom = !('entity' in rec && 'type' in rec && 'options' in rec) } = {}) {
	assert.ok(Number.isInteger(rec.id) && rec.id > 0, `id: ${JSON.stringify(rec)}`);
	assert.ok(Number.isInteger(rec.version) && rec.version >= 1, `version: ${rec.version}`);
	assert.match(rec.created_at, RFC3339_UTC);
	assert.match(rec.updated_at, RFC3339_UTC);
	assert.ok(Number.isInteger(rec.owner_id), `owner_id: ${rec.owner_id}`);
	assert.ok(Array.isArray(rec.tags), 'tags is an array');
	if (custom)
		assert.ok(rec.custom && typeof rec.custom === 'object' && !Array.isArray(rec.custom), 'custom is an object');
	else
		assert.equal(rec.custom, undefined, 'custom-field declarations have no custom');
}

/* Asserts that every key of expected has that value in actual. */
export function assertFields(actual, expected) {
	for (const [k, v] of Object.entries(expected))
		assert.deepEqual(actual[k], v, `field ${k}`);
}

let seq = 0;
/* A string unique within this test process. */
export function uniq(prefix = 't') {
	return `${prefix}-${process.pid}-${++seq}`;
}
/* A unique name matching [a-z][a-z0-9_]*. */
export function uniqIdent(prefix = 'f') {
	return `${prefix}_${process.pid}_${++seq}`;
}

/* Runs fn(i) for i in 0..n-1, all at once. */
export function parallel(n, fn) {
	return Promise.all(Array.from({ length: n }, (_, i) => fn(i)));
}

/* Valid bodies for creating each kind of record; overrides are merged in. */
export const bodies = {
	organization: (o = {}) => ({ name: uniq('Org'), kind: 'client', ...o }),
	person: (o = {}) => ({ given_name: 'Ada', family_name: uniq('Lovelace'), ...o }),
	affiliation: (personId, organizationId, o = {}) => ({
		person_id: personId, organization_id: organizationId, role: 'champion', ...o,
	}),
	interaction: (o = {}) => ({
		kind: 'call', direction: 'outbound', occurred_at: '2026-01-15T09:30:00Z', subject: uniq('Call'), ...o,
	}),
	customField: (o = {}) => ({ entity: 'person', name: uniqIdent('cf'), type: 'text', ...o }),
};

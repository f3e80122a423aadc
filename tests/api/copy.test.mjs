/*
 * rapport copy: a whole installation from SQLite to PostgreSQL and back.
 *
 * A small benchmark data set (the real generator, build/bench-gen) plus a
 * row in every other table (a custom field, API and session tokens, an
 * idempotent POST, self-references pointing forward) is copied SQLite ->
 * PostgreSQL -> a new SQLite file. Both copies must report every table equal;
 * the last file must hold exactly the rows of the first; a server on the
 * PostgreSQL copy must answer as one on the source does; a non-empty target
 * is refused without --force; new rows get fresh ids.
 *
 * PostgreSQL: the cluster of RAPPORT_TEST_PG_DIR when set (scripts/test.sh),
 * else a throwaway one started here with scripts/pg.sh (and stopped after).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
	ADMIN_EMAIL, ADMIN_PASSWORD, API, EX_NOINPUT, EX_USAGE, PG_DIR, REPO_ROOT, Server, bodies,
	createDatabase, dropDatabase, fileTimeout, initStore, lines, removeDir, run, runCli,
	startCluster, tempDir,
} from './harness.mjs';

fileTimeout(240_000);

const GEN = path.join(REPO_ROOT, 'build', 'bench-gen');
const SIZES = ['--orgs', '500', '--people', '2000', '--affiliations', '2500', '--interactions', '20000'];
const COPY_MS = 120_000;
const EX_DATAERR = 65;
/* Every table of the schema that holds data (not the store's bookkeeping). */
const TABLES = ['settings', 'users', 'tokens', 'idempotency', 'custom_fields', 'organizations',
	'people', 'affiliations', 'interactions'];

/* The table `rapport copy` prints: {table: {from, to, sumFrom, sumTo, same}}. */
function parseReport(stdout) {
	const out = {};
	for (const line of lines(stdout)) {
		const m = /^(\w+)\s+(\d+)\s+(\d+)\s+([0-9a-f]{16})\s+([0-9a-f]{16})\s+(ok|DIFFERS)$/.exec(line);
		if (m) out[m[1]] = { from: Number(m[2]), to: Number(m[3]), sumFrom: m[4], sumTo: m[5], same: m[6] === 'ok' };
	}
	return out;
}

async function copy(from, to, { force = false } = {}) {
	const args = ['copy', '--from', from, '--to', to];
	if (force) args.push('--force');
	return runCli(args, { timeoutMs: COPY_MS });
}

/* Asserts a successful copy of every table; returns the parsed report. */
function assertCopied(r, what) {
	assert.equal(r.code, 0, `${what}: exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
	const rep = parseReport(r.stdout);
	for (const t of TABLES) {
		assert.ok(rep[t], `${what}: the report has a line for ${t}:\n${r.stdout}`);
		assert.ok(rep[t].same, `${what}: ${t} is marked ok`);
		assert.equal(rep[t].to, rep[t].from, `${what}: ${t} has as many rows on both sides`);
		assert.equal(rep[t].sumTo, rep[t].sumFrom, `${what}: ${t} has the same checksum on both sides`);
		assert.ok(rep[t].from > 0, `${what}: the data set has rows in ${t}`);
	}
	return rep;
}

/* The rows of every data table of a SQLite file, as SQL literals in key order. */
async function dumpSqlite(db) {
	const out = {};
	for (const t of TABLES) {
		const order = t === 'settings' ? 'key' : t === 'idempotency' ? 'user_id, key' : 'id';
		const r = await run('sqlite3', ['-readonly', '-cmd', '.mode quote', db, `SELECT * FROM ${t} ORDER BY ${order}`]);
		assert.equal(r.code, 0, `sqlite3 ${db} ${t}: ${r.stderr}`);
		out[t] = r.stdout;
	}
	return out;
}

async function haveSqlite3() {
	try {
		return (await run('sqlite3', ['-version'])).code === 0;
	} catch {
		return false;
	}
}

describe('rapport copy between SQLite and PostgreSQL', () => {
	let dir;			/* temp dir for the SQLite files */
	let cluster = null;		/* our own cluster when RAPPORT_TEST_PG_DIR is unset */
	let pgDir;
	const databases = [];		/* PostgreSQL databases to drop */
	const servers = [];
	let source;			/* the first SQLite file */
	let pg;				/* its copy in PostgreSQL */
	let back;			/* the copy of that, a new SQLite file */
	let apiToken;
	let maxOrgId = 0;
	let busiest;
	let firstCopy;
	let firstReport;
	let secondReport;

	async function newDatabase() {
		const url = await createDatabase(pgDir);
		databases.push(url);
		return url;
	}

	async function serve(db) {
		const srv = new Server({ dir: tempDir(), db, ownsDb: false });
		servers.push(srv);
		await srv.start();
		return srv;
	}

	before(async () => {
		dir = tempDir();
		if (!fs.existsSync(GEN)) {
			const r = await run('make', ['-C', REPO_ROOT, 'bench-bins'], { timeoutMs: 120_000 });
			assert.equal(r.code, 0, `build/bench-gen is missing and 'make bench-bins' failed:\n${r.stdout}${r.stderr}`);
		}
		assert.ok(fs.existsSync(GEN), `${GEN} is missing: run 'make bench-bins'`);
		if (PG_DIR) {
			pgDir = PG_DIR;
		} else {
			try {
				cluster = await startCluster();
			} catch (err) {
				throw new Error(`cannot start a PostgreSQL cluster with scripts/pg.sh: ${err.message}`);
			}
			pgDir = cluster.dir;
		}

		/* the source: the generator's data set ... */
		source = path.join(dir, 'source.db');
		await initStore(source);
		const g = await run(GEN, ['--db', source, '--seed', '11', ...SIZES], { timeoutMs: 120_000 });
		assert.equal(g.code, 0, `bench-gen: ${g.stderr}`);
		const summary = lines(g.stdout).at(-1);
		busiest = Number(/busiest_org=(\d+)/.exec(summary)?.[1]);
		maxOrgId = Number(/max_org_id=(\d+)/.exec(summary)?.[1]);
		assert.ok(busiest > 0 && maxOrgId > 0, `bench-gen summary: ${summary}`);

		/* ... and a row in every other table, through the API and the CLI */
		const t = await runCli(['token', 'create', '--db', source, '--user', ADMIN_EMAIL, '--name', 'copy-test']);
		assert.equal(t.code, 0, t.stderr);
		apiToken = lines(t.stdout).at(-1);
		const srv = await serve(source);
		await srv.loginAdmin();			/* a session token */
		await srv.create('custom-fields', bodies.customField({ name: 'shoe_size', type: 'integer' }));
		const person = await srv.create('people', bodies.person({ custom: { shoe_size: 44 }, tags: ['vip', 'åäö'] }));
		const res = await srv.post(`${API}/people`, bodies.person({ given_name: 'Idem' }),
			{ headers: { 'idempotency-key': 'copy-test-1' } });
		assert.equal(res.status, 201, res.text);
		/* self-references pointing at a later id: patched after the table */
		const bu1 = await srv.create('organizations', bodies.organization({ kind: 'business_unit' }));
		const bu2 = await srv.create('organizations', bodies.organization({ kind: 'business_unit' }));
		let p = await srv.patch(`${API}/organizations/${bu1.id}`, { parent_id: bu2.id }, { ifMatch: bu1.version });
		assert.equal(p.status, 200, p.text);
		const org = await srv.create('organizations', bodies.organization({ name: 'Ångström Läkemedel AB', tags: ['copy'] }));
		maxOrgId = Math.max(maxOrgId, bu1.id, bu2.id, org.id);
		await srv.create('affiliations', bodies.affiliation(person.id, org.id));
		const i1 = await srv.create('interactions', bodies.interaction({ organization_id: org.id, person_ids: [person.id] }));
		const i2 = await srv.create('interactions', bodies.interaction({ organization_id: org.id, body: 'a line\nand "quoted" \\ back\ttab' }));
		p = await srv.patch(`${API}/interactions/${i1.id}`, { reply_to_id: i2.id }, { ifMatch: i1.version });
		assert.equal(p.status, 200, p.text);
		assert.equal(p.json.thread_id, i2.id, 'the thread follows the reply');
		await srv.stop({ keepDir: false });
		servers.length = 0;
	});

	after(async () => {
		for (const srv of servers) await srv.kill().catch(() => {});
		for (const url of databases) await dropDatabase(url).catch(() => {});
		if (cluster) await cluster.stop().catch((err) => console.error(`# ${err.message}`));
		removeDir(dir);
	});

	test('SQLite -> PostgreSQL: every table copied, counts and checksums equal', async () => {
		pg = await newDatabase();
		firstCopy = await copy(source, pg);
		firstReport = assertCopied(firstCopy, 'SQLite -> PostgreSQL');
		assert.equal(firstReport.interactions.from, 20_002);
		assert.equal(firstReport.tokens.from, 2, 'the API token and the session');
		assert.doesNotMatch(firstCopy.stderr, /DIFFERS|error/i);
	});

	test('PostgreSQL -> SQLite: the same rows, the same checksums', async () => {
		assert.ok(firstReport, 'needs the first copy');
		back = path.join(dir, 'back.db');
		const r = await copy(pg, back);
		secondReport = assertCopied(r, 'PostgreSQL -> SQLite');
		for (const t of TABLES) {
			assert.equal(secondReport[t].from, firstReport[t].to, `${t}: rows`);
			assert.equal(secondReport[t].sumTo, firstReport[t].sumFrom, `${t}: the round trip keeps the checksum`);
		}
	});

	test('the round trip gives back the first SQLite file row for row', async (t) => {
		assert.ok(back, 'needs both copies');
		if (!(await haveSqlite3())) {
			t.skip('no sqlite3 command; the checksums above compared the files');
			return;
		}
		const a = await dumpSqlite(source);
		const b = await dumpSqlite(back);
		for (const table of TABLES) {
			assert.ok(a[table].length > 0, `${table} has rows`);
			assert.ok(a[table] === b[table], `${table}: the rows differ after SQLite -> PostgreSQL -> SQLite`);
		}
		/* the full-text indexes of the copy were filled */
		for (const sql of [
			"SELECT count(*) FROM organizations_fts WHERE organizations_fts MATCH 'Ångström'",
			"SELECT count(*) FROM people_fts WHERE people_fts MATCH 'an*'",
			"SELECT count(*) FROM interactions_fts WHERE interactions_fts MATCH 'invoice'",
		]) {
			const [qa, qb] = await Promise.all([run('sqlite3', ['-readonly', source, sql]), run('sqlite3', ['-readonly', back, sql])]);
			assert.equal(qa.code, 0, qa.stderr);
			assert.ok(Number(qa.stdout) > 0, `${sql}: finds something in the source`);
			assert.equal(qb.stdout, qa.stdout, `${sql}: the same on the copy`);
		}
	});

	test('a non-empty target is refused without --force and replaced with it', async () => {
		assert.ok(pg, 'needs the first copy');
		const r = await copy(source, pg);
		assert.equal(r.code, EX_DATAERR, `exit code; stderr: ${r.stderr}`);
		assert.match(r.stderr, /not empty/);
		for (const table of ['users', 'organizations', 'interactions'])
			assert.match(r.stderr, new RegExp(`\\b${table}\\b`), `the refusal names ${table}`);
		assert.match(r.stderr, /--force/);

		const f = await copy(source, pg, { force: true });
		const rep = assertCopied(f, 'SQLite -> PostgreSQL --force');
		for (const table of TABLES)
			assert.equal(rep[table].sumTo, firstReport[table].sumTo, `${table}: the same as the first copy`);
		/* SQLite targets too */
		const s = await copy(pg, back);
		assert.equal(s.code, EX_DATAERR, s.stderr);
		assertCopied(await copy(pg, back, { force: true }), 'PostgreSQL -> SQLite --force');
	});

	test('a server on the PostgreSQL copy answers as one on the source', async () => {
		assert.ok(pg, 'needs the first copy');
		const a = await serve(source);
		const b = await serve(pg);
		a.token = apiToken;		/* the API token's hash was copied */
		b.token = apiToken;
		const paths = [
			`${API}/me`,
			`${API}/organizations?limit=200`,
			`${API}/organizations?limit=50&sort=name`,
			`${API}/organizations?kind=business_unit&limit=100`,
			`${API}/organizations?tag=copy`,
			`${API}/people?limit=200`,
			`${API}/people?sort=-family_name&limit=100`,
			`${API}/people?tag=vip`,
			`${API}/affiliations?limit=100`,
			`${API}/interactions?limit=200`,
			`${API}/interactions?sort=-occurred_at&limit=100`,
			`${API}/custom-fields`,
			`${API}/organizations/${busiest}/timeline?limit=100`,
			`${API}/organizations/${busiest}/timeline?limit=20&kind=email`,
			`${API}/interactions?q=invoice&limit=50`,
			`${API}/interactions?q=delivery&kind=email&limit=50`,
			`${API}/interactions?q=renewal%20contract&limit=50`,
			`${API}/organizations?q=ab&limit=50`,
			`${API}/people?q=an&limit=50`,
		];
		for (const id of [1, 2, busiest, Math.floor(maxOrgId / 2), maxOrgId])
			paths.push(`${API}/organizations/${id}`);
		for (const id of [1, 777, 2000, 2001])
			paths.push(`${API}/people/${id}`);
		for (const id of [1, 5000, 19_999, 20_000, 20_001, 20_002])
			paths.push(`${API}/interactions/${id}`);
		for (const id of [1, 2500])
			paths.push(`${API}/affiliations/${id}`);
		for (const p of paths) {
			const [ra, rb] = await Promise.all([a.get(p), b.get(p)]);
			assert.equal(ra.status, 200, `${p} on the source: ${ra.status} ${ra.text.slice(0, 300)}`);
			assert.equal(rb.status, ra.status, `${p}: status`);
			assert.deepEqual(rb.json, ra.json, `${p}: the same body on both`);
			assert.equal(rb.headers.get('etag'), ra.headers.get('etag'), `${p}: the same ETag`);
		}
		/* and following a cursor gives the same next page */
		const pa = await a.get(`${API}/interactions?limit=100&sort=-occurred_at`);
		const next = pa.json.next_cursor;
		assert.ok(next, 'a second page');
		const [na, nb] = await Promise.all([
			a.get(`${API}/interactions?limit=100&sort=-occurred_at&cursor=${encodeURIComponent(next)}`),
			b.get(`${API}/interactions?limit=100&sort=-occurred_at&cursor=${encodeURIComponent(next)}`),
		]);
		assert.equal(nb.status, 200, nb.text);
		assert.deepEqual(nb.json, na.json, 'a cursor of the source is good on the copy (the cursor key was copied)');

		/* the session and the admin's password came along too */
		const login = await b.login(ADMIN_EMAIL, ADMIN_PASSWORD);
		assert.equal(login.status, 201, login.text);

		/* new rows get fresh ids after the copy (store_reset_ids) */
		for (const [collection, body, max] of [
			['organizations', bodies.organization(), maxOrgId],
			['interactions', bodies.interaction(), 20_002],
		]) {
			const rec = await b.create(collection, body);
			assert.ok(rec.id > max, `a new ${collection} row gets an id above ${max}, got ${rec.id}`);
		}
		await a.stop({ keepDir: false });
		await b.stop({ keepDir: false });
		servers.length = 0;
	});

	test('wrong arguments: exit 64; a source that does not exist: exit 66', async () => {
		for (const args of [['copy'], ['copy', '--from', 'x.db'], ['copy', '--to', 'x.db'],
			['copy', '--from', 'x.db', '--to', 'x.db'], ['copy', '--from', 'a', '--to', 'b', 'extra'],
			['copy', '--from', 'a', '--to', 'b', '--bogus']]) {
			const r = await runCli(args);
			assert.equal(r.code, EX_USAGE, `rapport ${args.join(' ')}: ${r.stderr}`);
			assert.equal(lines(r.stderr).length, 1, `one line: ${r.stderr}`);
		}
		const missing = path.join(dir, 'no-such.db');
		const r = await runCli(['copy', '--from', missing, '--to', path.join(dir, 'x.db')]);
		assert.equal(r.code, EX_NOINPUT, r.stderr);
		assert.ok(!fs.existsSync(missing), 'the missing source was not created');
	});
});

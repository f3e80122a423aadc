/* The rapport command line: help, version, usage errors, init, token create. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
	ADMIN_EMAIL, ADMIN_PASSWORD, API, COLLECTIONS, EX_NOINPUT, EX_USAGE, NEEDS_PG, bodies,
	databaseExists, freshServer, initStore, lines, runCli, startServer,
} from './harness.mjs';

/* A server, not started yet, on a new store (a path in a temp dir, or an empty database). */
const freshStore = freshServer;

describe('help and version', () => {
	test('--help exits 0 and describes the subcommands', async () => {
		const r = await runCli(['--help']);
		assert.equal(r.code, 0, r.stderr);
		for (const sub of ['init', 'serve', 'token'])
			assert.match(r.stdout, new RegExp(`\\b${sub}\\b`), `--help mentions ${sub}`);
	});

	test('--version exits 0 and prints a version on stdout', async () => {
		const r = await runCli(['--version']);
		assert.equal(r.code, 0, r.stderr);
		assert.equal(lines(r.stdout).length, 1, `one line: ${JSON.stringify(r.stdout)}`);
		assert.match(r.stdout, /\d+\.\d+/);
	});
});

describe('wrong arguments and unusable stores', () => {
	let store;
	let dir;
	let db;
	before(async () => {
		store = await freshStore();
		({ dir, db } = store);
		await initStore(db);
	});
	after(async () => { await store?.kill(); });

	/* [arguments (DB: the store), text that the one stderr line must contain] */
	const usage = [
		[['frobnicate'], /frobnicate/],
		[['--no-such-option'], /no-such-option/],
		[['serve', '--db', 'DB', '--listen', '127.0.0.1:1', '--bogus-flag'], /bogus-flag/],
		[['init', '--db', 'DB', '--bogus-flag'], /bogus-flag/],
		[['init', '--db'], /db/],
		[['serve', '--db', 'DB', '--listen'], /listen/],
		[['serve', '--db', 'DB', '--listen', 'not-an-address'], /listen|not-an-address/],
		[['token', 'create', '--db', 'DB'], /user/],
		[['token', 'frobnicate', '--db', 'DB'], /frobnicate|subcommand/],
	];

	for (const [template, names] of usage) {
		test(`rapport ${template.join(' ')}: exit 64 and one stderr line naming the problem`, async () => {
			const args = template.map((a) => (a === 'DB' ? db : a));
			const r = await runCli(args);
			assert.equal(r.code, EX_USAGE, `exit code; stderr: ${r.stderr}`);
			assert.equal(lines(r.stderr).length, 1, `one stderr line, got ${JSON.stringify(r.stderr)}`);
			assert.match(r.stderr, names, 'stderr names the problem');
		});
	}

	/*
	 * DB: a path in a directory that does not exist; GARBAGE: a file that is
	 * no store. (SQLite files, whichever backend the other tests use.)
	 */
	const unusable = [
		['init', '--db', 'DB', '--admin', ADMIN_EMAIL],
		['serve', '--db', 'DB', '--listen', '127.0.0.1:1'],
		['serve', '--db', 'GARBAGE', '--listen', '127.0.0.1:1'],
		['token', 'create', '--db', 'DB', '--user', ADMIN_EMAIL],
	];
	for (const template of unusable) {
		test(`rapport ${template.join(' ')}: exit 66 with the reason on stderr`, async () => {
			const missing = path.join(dir, 'no-such-dir', 'x.db');
			const garbage = path.join(dir, 'garbage.db');
			fs.writeFileSync(garbage, 'this is not a database, just text\n'.repeat(200));
			const args = template.map((a) => ({ DB: missing, GARBAGE: garbage })[a] ?? a);
			const r = await runCli(args, { env: { RAPPORT_ADMIN_PASSWORD: ADMIN_PASSWORD } });
			assert.equal(r.code, EX_NOINPUT, `exit code; stderr: ${r.stderr}`);
			assert.ok(r.stderr.trim().length > 0, 'a reason on stderr');
			assert.ok(!fs.existsSync(path.dirname(missing)), 'no directory was created');
		});
	}

	/*
	 * The same on PostgreSQL: NODB, a database that does not exist in the
	 * running cluster; NOSERVER, a port where no server listens.
	 */
	const unreachable = [
		['init', '--db', 'NODB', '--admin', ADMIN_EMAIL],
		['serve', '--db', 'NODB', '--listen', '127.0.0.1:1'],
		['serve', '--db', 'NOSERVER', '--listen', '127.0.0.1:1'],
		['token', 'create', '--db', 'NODB', '--user', ADMIN_EMAIL],
	];
	for (const template of unreachable) {
		test(`rapport ${template.join(' ')}: exit 66 with the reason on stderr`, {
			skip: NEEDS_PG, timeout: 30_000,
		}, async () => {
			const nodb = new URL(db);
			nodb.pathname = '/rapport_no_such_database';
			const noserver = new URL(db);
			noserver.port = '1';
			const args = template.map((a) => ({ NODB: nodb.href, NOSERVER: noserver.href })[a] ?? a);
			const r = await runCli(args, { env: { RAPPORT_ADMIN_PASSWORD: ADMIN_PASSWORD } });
			assert.equal(r.code, EX_NOINPUT, `exit code; stderr: ${r.stderr}`);
			assert.ok(r.stderr.trim().length > 0, 'a reason on stderr');
			assert.equal(await databaseExists(nodb.href), false, 'no database was created');
		});
	}
});

describe('init', () => {
	test('running init again on an existing store changes nothing', async () => {
		const srv = await freshStore();
		try {
			await initStore(srv.db);
			await srv.start();
			await srv.loginAdmin();
			const org = await srv.create('organizations', bodies.organization({ tags: ['kept'] }));
			const person = await srv.create('people', bodies.person());
			await srv.create('affiliations', bodies.affiliation(person.id, org.id));
			const me = (await srv.get(`${API}/me`)).json;
			const before = await srv.snapshot(COLLECTIONS);
			await srv.stop({ keepDir: true });

			/* Same admin with another password, then another admin. */
			const again = [
				{ admin: ADMIN_EMAIL, password: 'A-Different-Password-1' },
				{ admin: 'second-admin@rapport.test', password: 'Second-Admin-Password-2' },
			];
			for (const a of again) await initStore(srv.db, a);

			await srv.start();
			await srv.loginAdmin();
			const { csrf_token: _a, ...now } = (await srv.get(`${API}/me`)).json;
			const { csrf_token: _b, ...meBefore } = me;
			assert.deepEqual(now, meBefore, "the admin is the same user");
			assert.deepEqual(await srv.snapshot(COLLECTIONS), before, 'records unchanged');
			for (const a of again) {
				const res = await srv.login(a.admin, a.password);
				assert.equal(res.status, 401, `login ${a.admin} with the re-init password: ${res.status} ${res.text}`);
			}
			await srv.stop();
		} finally {
			await srv.kill();
		}
	});

	test('without RAPPORT_ADMIN_PASSWORD a password is generated and printed once', async () => {
		const srv = await freshStore();
		try {
			const args = ['init', '--db', srv.db, '--admin', ADMIN_EMAIL];
			const first = await runCli(args, { env: { RAPPORT_ADMIN_PASSWORD: undefined } });
			assert.equal(first.code, 0, first.stderr);
			await srv.start();
			/* Which word of the output is the password is not specified: try each. */
			const words = [...new Set(first.stdout.split(/[\s"'`]+/).filter((w) => w.length >= 8))];
			let password;
			for (const w of words) {
				const res = await srv.login(ADMIN_EMAIL, w);
				if (res.status === 201) { password = w; break; }
			}
			assert.ok(password, `one word of init's stdout logs the admin in: ${JSON.stringify(first.stdout)}`);

			const second = await runCli(args, { env: { RAPPORT_ADMIN_PASSWORD: undefined } });
			assert.equal(second.code, 0, second.stderr);
			assert.ok(!second.stdout.includes(password) && !second.stderr.includes(password),
				'the password is not printed again');
			assert.equal((await srv.login(ADMIN_EMAIL, password)).status, 201, 'and still works');
			await srv.stop();
		} finally {
			await srv.kill();
		}
	});

	test('init --demo creates organizations, people and interactions', async () => {
		const srv = await startServer({ demo: true });
		try {
			for (const c of ['organizations', 'people', 'interactions']) {
				const page = await srv.page(`${API}/${c}`, { limit: 5 });
				assert.ok(page.items.length > 0, `demo ${c}`);
			}
			await srv.stop();
		} finally {
			await srv.kill();
		}
	});
});

describe('token create', () => {
	let srv;
	before(async () => { srv = await startServer(); });
	after(async () => { await srv?.stop(); });

	test('prints a token, alone on its last stdout line, that works as Bearer', async () => {
		const r = await runCli(['token', 'create', '--db', srv.db, '--user', ADMIN_EMAIL, '--name', 'ci']);
		assert.equal(r.code, 0, r.stderr);
		const out = lines(r.stdout);
		const token = out[out.length - 1];
		assert.ok(token && !/\s/.test(token), `last stdout line is the token alone: ${JSON.stringify(r.stdout)}`);

		const me = await srv.get(`${API}/me`, { token });
		assert.equal(me.status, 200, me.text);
		assert.equal(me.json.email, ADMIN_EMAIL);
		const org = await srv.create('organizations', bodies.organization(), { token });
		assert.equal(org.owner_id, me.json.id, 'records made with the token belong to its user');

		const flipped = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
		assert.equal((await srv.get(`${API}/me`, { token: flipped })).status, 401, 'a changed token is refused');
	});

	test('for an unknown user fails without printing a token', async () => {
		const r = await runCli(['token', 'create', '--db', srv.db, '--user', 'nobody@rapport.test']);
		assert.notEqual(r.code, 0);
		assert.ok(r.stderr.trim().length > 0, 'says why on stderr');
		const out = lines(r.stdout);
		if (out.length) {
			const res = await srv.get(`${API}/me`, { token: out[out.length - 1] });
			assert.equal(res.status, 401, 'whatever was printed is not a working token');
		}
	});
});

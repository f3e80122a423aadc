/*
 * The permission walk: every role against every entity and every verb
 * (create, read, list, search, update, delete, timeline, history), on records
 * inside and outside the user's business units and team, on both sides of
 * the company. The entities and how to build a valid record of each come
 * from the OpenAPI document's entity descriptions (x-access, x-side-kind,
 * x-side-via, x-ref, x-search), so a new entity is walked without touching
 * this file. The expected answers come from the role table below, which is
 * the one in docs/API.md. Where a request is refused, the test checks that
 * nothing changed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { API, expectError, fileTimeout, startServer } from './harness.mjs';

fileTimeout(600_000);

const PASSWORD = 'Walk-The-Line-Password-7';
/* An organization kind of each side. */
const SIDE_KIND = { client: 'client', business: 'supplier' };

/* The role table of docs/API.md ("Who may see and change what"). */
const RULES = {
	admin: { allUnits: true, sides: ['client', 'business'], write: 'all', audit: 'all' },
	manager: { sides: ['client', 'business'], write: 'units', audit: 'units' },
	client_rm: { sides: ['client'], write: 'team', audit: 'none' },
	business_rm: { sides: ['business'], write: 'team', audit: 'none' },
	viewer: { sides: ['client', 'business'], write: 'none', audit: 'none' },
};
const ROLES = Object.keys(RULES);

let srv;
let schemas;		/* entity name -> schema */
const units = {};	/* A (the walkers' unit), A1 (under A), B (not theirs) */
const users = {};	/* role -> {id, token}; mate: a client_rm in the walkers' team */
const refs = {};	/* entity name -> id of a company-wide record, for required references */
const sideOrg = {};	/* side -> a company-wide organization of that side */
let counter = 0;

const next = () => ++counter;
const base = (type) => (Array.isArray(type) ? type.find((t) => t !== 'null') : type);

async function must(res, status, what) {
	assert.equal(res.status, status, `${what}: ${res.status} ${res.text.slice(0, 400)}`);
	return res.json;
}

/* A value a field of this schema accepts. */
function valueFor(name, prop) {
	const n = next();
	if (prop.enum) return prop.enum[0];
	if (prop['x-ref']) return refs[prop['x-ref']];
	if (prop.writeOnly) return PASSWORD;
	switch (base(prop.type)) {
	case 'integer': return prop.minimum ?? 1;
	case 'boolean': return false;
	case 'array': return [];
	case 'object': return {};
	default:
		if (prop.format === 'date-time') return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
		if (prop.format === 'date') return '2026-01-15';
		if (prop.format === 'email') return `walk${n}@walk.test`;
		return `w${n}`;	/* also a valid custom field name */
	}
}

/* A valid body for a record of the schema, on side (or none), in unit. */
function bodyFor(schema, { side = null, unit, owner, tag, word }) {
	const b = {};
	for (const name of schema.required ?? []) b[name] = valueFor(name, schema.properties[name]);
	if (schema['x-side-kind'] && side) b[schema['x-side-kind']] = SIDE_KIND[side];
	if (schema['x-side-via']) b[schema['x-side-via']] = side ? sideOrg[side] : null;
	if (schema['x-access'] === 'scoped') b.business_unit_id = unit;
	if (owner !== undefined) b.owner_id = owner;
	const search = Object.entries(schema.properties)
		.find(([, p]) => p['x-search'] && base(p.type) === 'string' && !p.format);
	if (search && word) b[search[0]] = `${word} walk`;
	if (tag) b.tags = [tag];
	return b;
}

const as = (role) => ({ token: users[role].token });
const coll = (schema) => `${API}/${schema['x-collection']}`;

async function adminCreate(schema, opts) {
	return must(await srv.post(coll(schema), bodyFor(schema, opts)), 201,
		`admin creates a ${schema['x-collection']} record`);
}

before(async () => {
	srv = await startServer();
	const doc = await must(await srv.get(`${API}/openapi.json`), 200, 'openapi');
	schemas = Object.fromEntries(Object.entries(doc.components.schemas).filter(([, s]) => s['x-access']));
	assert.ok(Object.keys(schemas).length >= 8, 'the document describes the entities');

	for (const [name, parent] of [['A', null], ['A1', 'A'], ['B', null]]) {
		const body = { name: `Unit ${name}`, kind: 'business_unit' };
		if (parent) body.parent_id = units[parent];
		units[name] = (await must(await srv.post(`${API}/organizations`, body), 201, 'unit')).id;
	}
	const team = await must(await srv.post(`${API}/teams`, { name: 'Walkers' }), 201, 'team');
	for (const role of [...ROLES.filter((r) => r !== 'admin'), 'mate']) {
		const email = `${role}@walk.test`;
		const u = await must(await srv.post(`${API}/users`, {
			email, name: role, role: role === 'mate' ? 'client_rm' : role, password: PASSWORD,
			business_unit_ids: [units.A], team_ids: role.endsWith('_rm') || role === 'mate' ? [team.id] : [],
		}), 201, `user ${role}`);
		const login = await must(await srv.login(email, PASSWORD), 201, `login ${role}`);
		users[role] = { id: u.id, token: login.token };
	}
	users.admin = { id: srv.user.id, token: srv.token };

	for (const side of Object.keys(SIDE_KIND))
		sideOrg[side] = (await must(await srv.post(`${API}/organizations`,
			{ name: `Company-wide ${side}`, kind: SIDE_KIND[side] }), 201, 'side org')).id;
	refs.organization = sideOrg.client;
	refs.person = (await must(await srv.post(`${API}/people`, { given_name: 'Shared' }), 201, 'person')).id;
	refs.user = users.admin.id;
	refs.team = team.id;
});
after(async () => { await srv?.stop(); });

/* The records of the walk: where they are and whom they belong to. */
const SCOPES = [
	{ name: 'in a unit under theirs, owned by a teammate', unit: 'A1', owner: 'mate' },
	{ name: 'in their unit, owned by someone outside their team', unit: 'A', owner: 'admin' },
	{ name: 'in another unit', unit: 'B', owner: 'mate' },
	{ name: 'in no unit (company-wide)', unit: null, owner: 'admin' },
];

function mayRead(role, side, scope) {
	const r = RULES[role];
	if (r.allUnits) return true;
	return (scope.unit === null || scope.unit === 'A' || scope.unit === 'A1') &&
		(side === null || r.sides.includes(side));
}

function mayWrite(role, side, scope) {
	const r = RULES[role];
	if (r.write === 'all') return true;
	if (r.write === 'none' || !mayRead(role, side, scope) || scope.unit === null) return false;
	return r.write === 'units' || scope.owner === 'mate' || scope.owner === role;
}

function mayCreate(role, side, unit) {
	const r = RULES[role];
	if (r.write === 'all') return true;
	return r.write !== 'none' && unit !== null && (unit === 'A' || unit === 'A1') &&
		(side === null || r.sides.includes(side));
}

const sidesOf = (schema) => (schema['x-side-kind'] || schema['x-side-via'] ? Object.keys(SIDE_KIND) : [null]);

describe('scoped entities: every role, every verb, inside and outside scope', () => {
	test('the walk', async () => {
		const scoped = Object.values(schemas).filter((s) => s['x-access'] === 'scoped');
		assert.ok(scoped.length >= 4, 'organizations, people, affiliations, interactions at least');
		let checks = 0;
		for (const schema of scoped) {
			const path = coll(schema);
			for (const side of sidesOf(schema)) {
				for (const scope of SCOPES) {
					const tag = `walk-${next()}`;
					const word = `walkword${next()}`;
					const opts = { side, unit: scope.unit && units[scope.unit], owner: users[scope.owner].id, tag, word };
					const rec = await adminCreate(schema, opts);
					for (const role of ROLES) {
						const what = `${role} on a ${schema['x-collection']} record (${side ?? 'no'} side) ${scope.name}`;
						const read = mayRead(role, side, scope);
						const write = mayWrite(role, side, scope);
						const who = as(role);

						/* read */
						const got = await srv.get(`${path}/${rec.id}`, who);
						if (read) await must(got, 200, `${what}: read`);
						else expectError(got, 404, 'not_found');
						/* list */
						const unitParam = scope.unit ? units[scope.unit] : 'null';
						const page = await must(await srv.get(`${path}?tag=${tag}&business_unit_id=${unitParam}&limit=200`, who), 200, `${what}: list`);
						assert.equal(page.items.some((x) => x.id === rec.id), read, `${what}: list`);
						/* search */
						const search = await srv.get(`${path}?q=${word}`, who);
						if (search.status !== 400) {
							const found = (await must(search, 200, `${what}: search`)).items.some((x) => x.id === rec.id);
							assert.equal(found, read, `${what}: search`);
						}
						/* timeline */
						if (schema['x-collection'] === 'organizations') {
							const tl = await srv.get(`${path}/${rec.id}/timeline`, who);
							if (read) await must(tl, 200, `${what}: timeline`);
							else expectError(tl, 404, 'not_found');
						} else if (schema['x-collection'] === 'interactions' && side) {
							const tl = await srv.get(`${API}/organizations/${sideOrg[side]}/timeline?tag=${tag}`, who);
							if (RULES[role].sides.includes(side)) {
								const items = (await must(tl, 200, `${what}: timeline`)).items;
								assert.equal(items.some((x) => x.id === rec.id), read, `${what}: in the timeline`);
							} else {
								expectError(tl, 404, 'not_found');
							}
						}
						/* history */
						const hist = await srv.get(`${path}/${rec.id}/history`, who);
						if (read) {
							const rows = (await must(hist, 200, `${what}: history`)).items;
							assert.ok(rows.some((h) => h.action === 'create' && h.record_id === rec.id), `${what}: history`);
						} else {
							expectError(hist, 404, 'not_found');
						}
						/* update */
						const before = (await srv.get(`${path}/${rec.id}`)).json;
						const patched = await srv.patch(`${path}/${rec.id}`, { tags: [tag, `by-${role}`] },
							{ ...who, ifMatch: before.version });
						if (write) {
							await must(patched, 200, `${what}: update`);
						} else {
							expectError(patched, read ? 403 : 404, read ? 'forbidden' : 'not_found');
							const now = (await srv.get(`${path}/${rec.id}`)).json;
							assert.deepEqual(now, before, `${what}: a refused update changes nothing`);
						}
						/* delete, on a copy of its own */
						const copy = await adminCreate(schema, { ...opts, tag: `${tag}-copy`, word: `${word}copy` });
						const deleted = await srv.del(`${path}/${copy.id}`, { ...who, ifMatch: copy.version });
						if (write) {
							assert.equal(deleted.status, 204, `${what}: delete: ${deleted.text}`);
							expectError(await srv.get(`${path}/${copy.id}`), 404, 'not_found');
						} else {
							expectError(deleted, read ? 403 : 404, read ? 'forbidden' : 'not_found');
							await must(await srv.get(`${path}/${copy.id}`), 200, `${what}: a refused delete keeps it`);
						}
						checks++;
					}
				}
				/* create, in each unit */
				for (const unit of ['A1', 'B', null]) {
					for (const role of ROLES) {
						const tag = `walk-new-${next()}`;
						const body = bodyFor(schema, { side, unit: unit && units[unit], tag, word: 'walkcreate' });
						const res = await srv.post(path, body, as(role));
						const what = `${role} creates a ${schema['x-collection']} record (${side ?? 'no'} side) in ${unit ?? 'no unit'}`;
						const sideOrgHidden = schema['x-side-via'] && side && !RULES[role].allUnits &&
							!RULES[role].sides.includes(side);
						if (mayCreate(role, side, unit)) {
							const rec = await must(res, 201, what);
							assert.equal(rec.owner_id, users[role].id, `${what}: the creator owns it`);
						} else if (sideOrgHidden) {
							/* an organization they may not read is one that does not exist */
							expectError(res, 422, 'invalid_reference', [schema['x-side-via']]);
						} else {
							expectError(res, 403, 'forbidden');
							const left = await must(await srv.get(`${path}?tag=${tag}`), 200, 'list');
							assert.equal(left.items.length, 0, `${what}: nothing was created`);
						}
					}
				}
			}
		}
		assert.ok(checks >= 4 * 4 * ROLES.length, `walked ${checks} role/record pairs`);
	});

	test('a record created without business_unit_id gets the creator\'s first unit', async () => {
		const rec = await must(await srv.post(`${API}/people`, { given_name: 'Defaulted' }, as('client_rm')), 201, 'create');
		assert.equal(rec.business_unit_id, units.A);
		assert.equal(rec.owner_id, users.client_rm.id);
	});

	test('the business-unit tree is changed by admins only', async () => {
		const unit = await must(await srv.post(`${API}/organizations`, { name: 'Sub of A', kind: 'business_unit', parent_id: units.A, business_unit_id: units.A }), 201, 'unit');
		expectError(await srv.post(`${API}/organizations`, { name: 'Mine', kind: 'business_unit', parent_id: units.A, business_unit_id: units.A }, as('manager')), 403, 'forbidden');
		expectError(await srv.patch(`${API}/organizations/${unit.id}`, { parent_id: units.B }, { ...as('manager'), ifMatch: unit.version }), 403, 'forbidden');
		expectError(await srv.del(`${API}/organizations/${unit.id}`, { ...as('manager'), ifMatch: unit.version }), 403, 'forbidden');
		await must(await srv.patch(`${API}/organizations/${unit.id}`, { notes: 'ours' }, { ...as('manager'), ifMatch: unit.version }), 200, 'other fields are fine');
		assert.equal((await srv.get(`${API}/organizations/${unit.id}`)).json.parent_id, units.A);
	});

	test('a team or unit that users belong to cannot be deleted', async () => {
		const team = await must(await srv.get(`${API}/teams/${refs.team}`), 200, 'team');
		expectError(await srv.del(`${API}/teams/${team.id}`, { ifMatch: team.version }), 409, 'conflict');
		const unitA = await must(await srv.get(`${API}/organizations/${units.A}`), 200, 'unit');
		expectError(await srv.del(`${API}/organizations/${units.A}`, { ifMatch: unitA.version }), 409, 'conflict');
		const lone = await must(await srv.post(`${API}/organizations`, { name: 'Lone unit', kind: 'business_unit' }), 201, 'unit');
		await must(await srv.post(`${API}/users`, { email: 'lone@walk.test', name: 'Lone', role: 'viewer', password: PASSWORD, business_unit_ids: [lone.id] }), 201, 'user');
		expectError(await srv.patch(`${API}/organizations/${lone.id}`, { kind: 'client' }, { ifMatch: lone.version }), 409, 'conflict');
		expectError(await srv.del(`${API}/organizations/${lone.id}`, { ifMatch: lone.version }), 409, 'conflict');
	});

	test('a reference to a record one may not read is answered as one that does not exist', async () => {
		const hidden = await must(await srv.post(`${API}/people`, { given_name: 'Hidden', business_unit_id: units.B }), 201, 'person');
		const res = await srv.post(`${API}/interactions`, {
			kind: 'note', direction: 'internal', occurred_at: '2026-01-01T00:00:00Z', person_ids: [hidden.id],
		}, as('client_rm'));
		expectError(res, 422, 'invalid_reference', ['person_ids']);
		const missing = await srv.post(`${API}/interactions`, {
			kind: 'note', direction: 'internal', occurred_at: '2026-01-01T00:00:00Z', person_ids: [hidden.id + 100000],
		}, as('client_rm'));
		assert.deepEqual(missing.json.error.fields.person_ids.replace(/\d+/, 'N'), res.json.error.fields.person_ids.replace(/\d+/, 'N'));
	});

	test('a new record under an id a deleted one had has only its own history', async () => {
		const first = await must(await srv.post(`${API}/people`, { given_name: 'Secret', notes: 'price 4.2M', business_unit_id: units.B }), 201, 'create');
		assert.equal((await srv.del(`${API}/people/${first.id}`, { ifMatch: 1 })).status, 204);
		const second = await must(await srv.post(`${API}/people`, { given_name: 'Later' }, as('client_rm')), 201, 'create');
		const rows = (await must(await srv.get(`${API}/people/${second.id}/history`, as('client_rm')), 200, 'history')).items;
		assert.deepEqual(rows.map((r) => r.action), ['create']);
		assert.equal(JSON.stringify(rows).includes('4.2M'), false);
	});

	test('business_unit_id must name a business unit', async () => {
		const res = await srv.post(`${API}/people`, { given_name: 'X', business_unit_id: sideOrg.client });
		expectError(res, 422, 'invalid_reference', ['business_unit_id']);
	});
});

describe('directory entities: everyone reads, admins change', () => {
	test('the walk', async () => {
		const dir = Object.values(schemas).filter((s) => s['x-access'] === 'directory');
		assert.ok(dir.length >= 3, 'users, teams, custom fields at least');
		for (const schema of dir) {
			const path = coll(schema);
			const rec = await adminCreate(schema, {});
			for (const role of ROLES) {
				const what = `${role} on ${schema['x-collection']}`;
				await must(await srv.get(`${path}/${rec.id}`, as(role)), 200, `${what}: read`);
				const page = await must(await srv.get(`${path}?limit=200`, as(role)), 200, `${what}: list`);
				assert.ok(page.items.length > 0, `${what}: list`);
				if (role === 'admin') continue;
				expectError(await srv.post(path, bodyFor(schema, {}), as(role)), 403, 'forbidden');
				expectError(await srv.patch(`${path}/${rec.id}`, { tags: ['x'] }, { ...as(role), ifMatch: rec.version }),
					403, 'forbidden');
				expectError(await srv.del(`${path}/${rec.id}`, { ...as(role), ifMatch: rec.version }), 403, 'forbidden');
				assert.deepEqual((await srv.get(`${path}/${rec.id}`)).json, rec, `${what}: nothing changed`);
			}
		}
	});

	test('a user never shows a password or its hash', async () => {
		const page = await must(await srv.get(`${API}/users?limit=200`), 200, 'users');
		for (const u of page.items) {
			assert.equal(u.password, undefined);
			assert.equal(u.password_hash, undefined);
		}
	});
});

describe('the audit trail', () => {
	test('admins read all of it, managers their units, others nothing; nobody changes it', async () => {
		const inB = await must(await srv.post(`${API}/people`, { given_name: 'Audited', business_unit_id: units.B }), 201, 'person');
		const inA = await must(await srv.post(`${API}/people`, { given_name: 'Audited', business_unit_id: units.A }), 201, 'person');
		for (const role of ROLES) {
			const rule = RULES[role];
			for (const rec of [inA, inB]) {
				const res = await srv.get(`${API}/audit?entity=person&id=${rec.id}`, as(role));
				if (rule.audit === 'none') {
					expectError(res, 403, 'forbidden');
					continue;
				}
				const rows = (await must(res, 200, `${role} reads the audit`)).items;
				const visible = rule.audit === 'all' || rec === inA;
				assert.equal(rows.length, visible ? 1 : 0, `${role}: audit rows of a person in ${rec === inA ? 'A' : 'B'}`);
			}
			if (rule.audit === 'units') {
				const rows = (await must(await srv.get(`${API}/audit?entity=user`, as(role)), 200, 'audit')).items;
				assert.equal(rows.length, 0, 'rows of no business unit are for admins');
			}
			const row = (await srv.get(`${API}/audit?entity=person&id=${inA.id}`)).json.items[0];
			for (const [method, path] of [['POST', `${API}/audit`], ['PATCH', `${API}/audit/${row.id}`], ['DELETE', `${API}/audit/${row.id}`]]) {
				const res = await srv.request(method, path, { ...as(role), body: method === 'DELETE' ? undefined : {}, headers: { 'if-match': '"1"' } });
				expectError(res, 405, 'method_not_allowed');
			}
			assert.deepEqual((await srv.get(`${API}/audit/${row.id}`)).json, row, 'the row is unchanged');
		}
	});
});

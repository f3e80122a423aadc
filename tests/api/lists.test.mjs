/*
 * Lists: limit, cursor paging, sort, filters, tag, q, and the organization
 * timeline.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
	API, bodies, expectError, startServer, withQuery,
} from './harness.mjs';

const KINDS = ['client', 'prospect', 'supplier', 'service_provider', 'partner', 'competitor', 'community', 'business_unit'];
const TIERS = ['strategic', 'key', 'standard', 'occasional'];
const WORDS = ['Alder', 'Birch', 'Cedar', 'Dogwood', 'Elm', 'Fir', 'Ginkgo', 'Hazel', 'Ironwood', 'Juniper',
	'Kapok', 'Larch', 'Maple', 'Nutmeg', 'Oak', 'Pine', 'Quince', 'Rowan', 'Spruce', 'Teak', 'Umbrella'];

let srv;
let orgs;		/* every organization in the store */
let people;
const ORGS = `${API}/organizations`;

async function createAll(collection, list) {
	const out = [];
	for (let i = 0; i < list.length; i += 16)
		out.push(...await Promise.all(list.slice(i, i + 16).map((b) => srv.create(collection, b))));
	return out;
}

before(async () => {
	srv = await startServer();
	/* 63 organizations, every name three times (ties for sorting), then two to search for. */
	const seed = Array.from({ length: 63 }, (_, i) => ({
		name: `${WORDS[i % WORDS.length]} AB`,
		kind: KINDS[i % KINDS.length],
		tier: TIERS[Math.floor(i / 3) % TIERS.length],
		country: i % 2 ? 'SE' : 'DK',
		tags: i % 5 === 0 ? ['vip', `n${i}`] : [`n${i}`],
	}));
	seed.push(
		{ name: 'Zyxwvut Holdings', kind: 'client', tier: 'key', country: 'NO', tags: [] },
		{ name: 'Zyxwvut Logistics', kind: 'supplier', tier: 'key', country: 'NO', tags: [] },
	);
	orgs = await createAll('organizations', seed);
	people = await createAll('people', [
		bodies.person({ given_name: 'Mira', family_name: 'Berg', emails: ['marmoset.keeper@zoo-example.test'], language: 'sv' }),
		bodies.person({ given_name: 'Olle', family_name: 'Ek', emails: ['olle@example.test'], language: 'sv' }),
		bodies.person({ given_name: 'Per', family_name: 'Ahl', language: 'en' }),
		bodies.person({ given_name: 'Ann', family_name: 'Dahl', language: 'en' }),
		bodies.person({ given_name: 'Eva', family_name: 'Cronholm' }),
	]);
});
after(async () => { await srv?.stop(); });

const idsOf = (items) => items.map((r) => r.id);
const sortedIds = (items) => idsOf(items).sort((a, b) => a - b);

/* Asserts that items hold each expected record exactly once. */
function assertEachOnce(items, expected, what) {
	const ids = idsOf(items);
	assert.equal(new Set(ids).size, ids.length, `${what}: no record twice`);
	assert.deepEqual([...ids].sort((a, b) => a - b), sortedIds(expected), `${what}: every record`);
}

/* Asserts that equal values of key form one run each; returns the runs' values in order. */
function runsOf(items, key) {
	const runs = [];
	for (const r of items) if (runs[runs.length - 1] !== r[key]) runs.push(r[key]);
	assert.equal(new Set(runs).size, runs.length, `${key}: records with the same value are together`);
	return runs;
}

describe('limit', () => {
	test('defaults to 50', async () => {
		const page = await srv.page(ORGS);
		assert.equal(page.items.length, 50);
		assert.equal(typeof page.next_cursor, 'string');
	});

	test('1 and 200 are accepted', async () => {
		const one = await srv.page(ORGS, { limit: 1 });
		assert.equal(one.items.length, 1);
		assert.equal(typeof one.next_cursor, 'string');
		const all = await srv.page(ORGS, { limit: 200 });
		assertEachOnce(all.items, orgs, 'limit=200');
		assert.equal(all.next_cursor, null, 'no next page when everything fit');
	});

	test('0, 201, -1, 1.5, abc and empty: 400 invalid_parameter', async () => {
		for (const limit of ['0', '201', '-1', '1.5', 'abc', '', '99999999999999999999'])
			expectError(await srv.get(withQuery(ORGS, { limit })), 400, 'invalid_parameter');
	});
});

describe('paging and sorting', () => {
	test('next_cursor walks through every record once, in id order, and ends with null', async () => {
		const { items, pages } = await srv.pageAll(ORGS, { limit: 7 });
		assertEachOnce(items, orgs, 'id paging');
		assert.deepEqual(idsOf(items), sortedIds(items), 'default sort is id ascending');
		assert.equal(pages.length, Math.ceil(orgs.length / 7));
		for (const p of pages.slice(0, -1)) assert.equal(p.items.length, 7, 'full pages before the last');
		assert.equal(pages[pages.length - 1].next_cursor, null);
	});

	for (const [sort, cmp] of [['name', (a, b) => a <= b], ['-name', (a, b) => a >= b]]) {
		test(`sort=${sort}, paged: ordered, each record once despite ties`, async () => {
			const { items } = await srv.pageAll(ORGS, { sort, limit: 7 });
			assertEachOnce(items, orgs, `sort=${sort}`);
			for (let i = 1; i < items.length; i++)
				assert.ok(cmp(items[i - 1].name, items[i].name), `sort=${sort}: ${items[i - 1].name} then ${items[i].name}`);
		});
	}

	test('sort=id descending and the id default agree', async () => {
		const asc = (await srv.pageAll(ORGS, { sort: 'id', limit: 11 })).items;
		const desc = (await srv.pageAll(ORGS, { sort: '-id', limit: 11 })).items;
		assert.deepEqual(idsOf(asc), sortedIds(orgs));
		assert.deepEqual(idsOf(desc), sortedIds(orgs).reverse());
	});

	test('sort on an enum (kind), paged, groups values; -kind reverses the groups', async () => {
		const asc = (await srv.pageAll(ORGS, { sort: 'kind', limit: 9 })).items;
		const desc = (await srv.pageAll(ORGS, { sort: '-kind', limit: 9 })).items;
		assertEachOnce(asc, orgs, 'sort=kind');
		assertEachOnce(desc, orgs, 'sort=-kind');
		assert.deepEqual(runsOf(desc, 'kind'), runsOf(asc, 'kind').reverse());
	});

	test('people by family_name, both ways, paged', async () => {
		const names = people.map((p) => p.family_name).sort();
		const asc = (await srv.pageAll(`${API}/people`, { sort: 'family_name', limit: 2 })).items;
		const desc = (await srv.pageAll(`${API}/people`, { sort: '-family_name', limit: 2 })).items;
		assert.deepEqual(asc.map((p) => p.family_name), names);
		assert.deepEqual(desc.map((p) => p.family_name), [...names].reverse());
	});

	test('unknown or unsortable sort field: 400 invalid_parameter', async () => {
		for (const sort of ['bogus', '-bogus', 'website', 'notes', 'name,kind', '--name', '+name', ''])
			expectError(await srv.get(withQuery(ORGS, { sort })), 400, 'invalid_parameter');
	});
});

describe('filters', () => {
	const where = (pred) => orgs.filter(pred);

	const cases = [
		[{ kind: 'client' }, (o) => o.kind === 'client'],
		[{ kind: 'business_unit' }, (o) => o.kind === 'business_unit'],
		[{ tier: 'key' }, (o) => o.tier === 'key'],
		[{ kind: 'supplier', tier: 'key' }, (o) => o.kind === 'supplier' && o.tier === 'key'],
		[{ country: 'NO' }, (o) => o.country === 'NO'],
		[{ tag: 'vip' }, (o) => o.tags.includes('vip')],
		[{ tag: 'vip', kind: 'client' }, (o) => o.tags.includes('vip') && o.kind === 'client'],
		[{ tag: 'n7' }, (o) => o.tags.includes('n7')],
		[{ tag: 'no-such-tag' }, () => false],
		[{ owner_id: 'me' }, () => true],
		[{ owner_id: '999999' }, () => false],
	];

	for (const [params, pred] of cases) {
		test(`${new URLSearchParams(params)} returns exactly the matching records`, async () => {
			const p = { ...params };
			if (p.owner_id === 'me') p.owner_id = String(srv.user.id);
			const { items } = await srv.pageAll(ORGS, { ...p, limit: 10 });
			assertEachOnce(items, where(pred), new URLSearchParams(p).toString());
			assert.ok(items.every(pred));
		});
	}

	test('filters on other collections', async () => {
		const org = orgs[0];
		const affs = [];
		for (const [i, p] of people.slice(0, 3).entries())
			affs.push(await srv.create('affiliations', bodies.affiliation(p.id, org.id, { role: i ? 'finance' : 'champion' })));
		await srv.create('affiliations', bodies.affiliation(people[3].id, orgs[1].id));
		assertEachOnce(await srv.listAll('affiliations', { organization_id: org.id }), affs, 'organization_id');
		assertEachOnce(await srv.listAll('affiliations', { organization_id: org.id, role: 'finance' }),
			affs.slice(1), 'organization_id & role');
		assertEachOnce(await srv.listAll('people', { language: 'sv' }), people.slice(0, 2), 'language=sv');
	});

	test('unknown parameter, unfilterable field or bad value: 400 invalid_parameter', async () => {
		const bad = [
			{ bogus: '1' },
			{ name: 'Oak AB' },		/* sortable, not filterable */
			{ website: 'x' },
			{ notes: 'x' },
			{ kind: 'alien' },
			{ tier: 'gold' },
			{ owner_id: 'abc' },
			{ parent_id: 'abc' },
		];
		for (const params of bad)
			expectError(await srv.get(withQuery(ORGS, params)), 400, 'invalid_parameter');
		expectError(await srv.get(withQuery(`${API}/affiliations`, { is_primary: 'maybe' })), 400, 'invalid_parameter');
	});
});

describe('q (full text)', () => {
	let subjectHit;
	let bodyHit;

	before(async () => {
		subjectHit = await srv.create('interactions', bodies.interaction({ subject: 'Quarterly xylophone review' }));
		bodyHit = await srv.create('interactions', bodies.interaction({
			subject: 'Follow-up', body: 'They asked about pomegranate deliveries in May.',
		}));
		await srv.create('interactions', bodies.interaction({ subject: 'Unrelated', body: 'Nothing to see.' }));
	});

	const searches = () => [
		['organizations', 'Zyxwvut', orgs.filter((o) => o.name.startsWith('Zyxwvut'))],
		['organizations', 'zyxwvut', orgs.filter((o) => o.name.startsWith('Zyxwvut'))],
		['organizations', 'Holdings', orgs.filter((o) => o.name === 'Zyxwvut Holdings')],
		['people', 'marmoset', [people[0]]],
		['people', 'marmoset.keeper@zoo-example.test', [people[0]]],
		['interactions', 'xylophone', [subjectHit]],
		['interactions', 'pomegranate', [bodyHit]],
		['organizations', 'nosuchwordanywhere', []],
	];

	test('finds organizations by name, people by email, interactions by subject and body', async () => {
		for (const [collection, q, expected] of searches()) {
			const items = await srv.listAll(collection, { q });
			assertEachOnce(items, expected, `${collection}?q=${q}`);
		}
	});

	test('q combines with filters', async () => {
		const items = await srv.listAll('organizations', { q: 'Zyxwvut', kind: 'supplier' });
		assertEachOnce(items, orgs.filter((o) => o.name === 'Zyxwvut Logistics'), 'q & kind');
	});

	test('q ignores case and diacritics, beyond ASCII too', async () => {
		const asa = await srv.create('people', bodies.person({ given_name: 'Åsa', family_name: 'Ångströmer' }));
		const emilie = await srv.create('people', bodies.person({ given_name: 'Émilie', family_name: 'Østergaard' }));
		const zoe = await srv.create('people', bodies.person({ given_name: 'Zoë', family_name: 'ÇELIK' }));
		const meeting = await srv.create('interactions', bodies.interaction({
			subject: 'Möte om KÖKSRENOVERING', body: 'Crème brûlée efteråt.',
		}));
		const cases = [
			['people', 'ångströmer', [asa]],
			['people', 'ÅNGSTRÖMER', [asa]],
			['people', 'angstromer', [asa]],
			['people', 'angstr', [asa]],		/* a prefix, without the ring */
			['people', 'ÅNGSTR', [asa]],
			['people', 'åsa angstr', [asa]],
			['people', 'emilie', [emilie]],
			['people', 'østergaard', [emilie]],	/* ø is a letter of its own: case only */
			['people', 'ØSTERGAARD', [emilie]],
			['people', 'celik', [zoe]],
			['people', 'çelik', [zoe]],
			['people', 'zoe', [zoe]],
			['people', 'ZOË', [zoe]],
			['interactions', 'möte', [meeting]],
			['interactions', 'MÖTE', [meeting]],
			['interactions', 'mote', [meeting]],
			['interactions', 'koksrenovering', [meeting]],
			['interactions', 'köksrenovering', [meeting]],
			['interactions', 'brulee', [meeting]],
			['interactions', 'BRÛLÉE', [meeting]],
			['interactions', 'creme', [meeting]],
		];
		const wrong = [];
		for (const [collection, q, expected] of cases) {
			const got = idsOf(await srv.listAll(collection, { q }));
			if (JSON.stringify(got) !== JSON.stringify(sortedIds(expected))) wrong.push(`${collection}?q=${q}: ${JSON.stringify(got)}`);
		}
		assert.deepEqual(wrong, [], `searches that found the wrong records (expected ${asa.id} Åsa, ` +
			`${emilie.id} Émilie, ${zoe.id} Zoë, ${meeting.id} the meeting)`);
	});

	test('a change to an indexed field changes what q finds; other changes keep it', async () => {
		const org = await srv.create('organizations', bodies.organization({ name: 'Quokka Trading', city: 'Lund' }));
		const person = await srv.create('people', bodies.person({ given_name: 'Ilse', family_name: 'Wombatsson' }));
		const note = await srv.create('interactions', bodies.interaction({ subject: 'Narwhal meeting', body: 'About tapirs.' }));
		const steps = [
			['organizations', org, { name: 'Pangolin Trading' }, 'quokka', 'pangolin'],
			['organizations', org, { city: 'Växjö' }, 'lund', 'vaxjo'],
			['people', person, { family_name: 'Capybaran' }, 'wombatsson', 'capybaran'],
			['people', person, { emails: ['ilse@axolotl.example'] }, null, 'axolotl'],
			['interactions', note, { subject: 'Okapi meeting' }, 'narwhal', 'okapi'],
			['interactions', note, { body: 'About ibexes.' }, 'tapirs', 'ibexes'],
		];
		let version = { organizations: org.version, people: person.version, interactions: note.version };
		for (const [collection, rec, change, gone, found] of steps) {
			const res = await srv.patch(`${API}/${collection}/${rec.id}`, change, { ifMatch: version[collection] });
			assert.equal(res.status, 200, `PATCH ${collection} ${JSON.stringify(change)}: ${res.text}`);
			version[collection] = res.json.version;
			if (gone) assertEachOnce(await srv.listAll(collection, { q: gone }), [], `${collection}?q=${gone} after ${JSON.stringify(change)}`);
			assertEachOnce(await srv.listAll(collection, { q: found }), [rec], `${collection}?q=${found} after ${JSON.stringify(change)}`);
		}
		/* a field that is not indexed: the words stay */
		const res = await srv.patch(`${API}/organizations/${org.id}`, { notes: 'nothing indexed' }, { ifMatch: version.organizations });
		assert.equal(res.status, 200, res.text);
		assertEachOnce(await srv.listAll('organizations', { q: 'pangolin vaxjo' }), [org], 'organizations?q=pangolin vaxjo after a change of notes');
	});

	test('q on a collection without full text: 400 invalid_parameter', async () => {
		for (const c of ['affiliations', 'custom-fields'])
			expectError(await srv.get(withQuery(`${API}/${c}`, { q: 'x' })), 400, 'invalid_parameter');
	});

	test('search syntax in q does not break the server (200 or 400 invalid_parameter)', async () => {
		for (const q of ['"unbalanced', 'AND', 'OR NOT (', '*', 'name:Oak', 'NEAR(a b)', '^', '-', '\'', ')))']) {
			const res = await srv.get(withQuery(ORGS, { q }));
			if (res.status !== 200) expectError(res, 400, 'invalid_parameter');
		}
		assert.equal((await srv.get('/healthz', { token: null })).status, 200);
	});
});

describe('cursors', () => {
	async function cursorFor(params) {
		const page = await srv.page(ORGS, { limit: 5, ...params });
		assert.equal(typeof page.next_cursor, 'string');
		return page.next_cursor;
	}

	/* A different character from the same alphabet, in the middle, where every bit counts. */
	function flip(cursor) {
		const i = Math.floor(cursor.length / 2);
		const c = cursor[i];
		const next = /[0-9]/.test(c) ? String((Number(c) + 1) % 10) : c === 'A' ? 'B' : 'A';
		return cursor.slice(0, i) + next + cursor.slice(i + 1);
	}

	test('the same cursor gives the same page', async () => {
		const cursor = await cursorFor({});
		const a = await srv.page(ORGS, { limit: 5, cursor });
		const b = await srv.page(ORGS, { limit: 5, cursor });
		assert.deepEqual(a, b);
	});

	test('malformed cursors: 400 invalid_cursor', async () => {
		for (const cursor of ['x', 'not a cursor!!', '%%%', 'AAAA', '{"id":1}', 'eyJpZCI6MX0', 'A'.repeat(2000)])
			expectError(await srv.get(withQuery(ORGS, { limit: 5, cursor })), 400, 'invalid_cursor');
	});

	test('tampered cursors (a character changed, cut short, extended): 400 invalid_cursor', async () => {
		const cursor = await cursorFor({});
		for (const forged of [flip(cursor), cursor.slice(0, -2), `${cursor}AA`]) {
			assert.notEqual(forged, cursor);
			expectError(await srv.get(withQuery(ORGS, { limit: 5, cursor: forged })), 400, 'invalid_cursor');
		}
	});

	test('a cursor used with another sort: 400 invalid_cursor', async () => {
		const byName = await cursorFor({ sort: 'name' });
		const byId = await cursorFor({});
		const misuse = [
			{ sort: '-name', cursor: byName },
			{ cursor: byName },
			{ sort: 'kind', cursor: byName },
			{ sort: 'name', cursor: byId },
			{ sort: '-id', cursor: byId },
		];
		for (const params of misuse)
			expectError(await srv.get(withQuery(ORGS, { limit: 5, ...params })), 400, 'invalid_cursor');
	});
});

describe('organization timeline', () => {
	let org;
	let mine;

	before(async () => {
		org = (await srv.create('organizations', bodies.organization())).id;
		const other = (await srv.create('organizations', bodies.organization())).id;
		const times = [
			'2026-03-01T06:00:00Z',
			'2026-03-01T10:00:00+05:00',	/* 05:00Z: before the one above */
			'2026-02-28T23:30:00-02:00',	/* 2026-03-01T01:30Z */
			'2025-12-31T23:59:59Z',
			'2026-01-10T08:00:00Z', '2026-01-10T08:00:00Z', '2026-01-10T08:00:00Z',	/* ties: id desc */
			'2024-06-01T12:00:00Z', '2026-05-05T05:05:05Z', '2025-07-07T07:07:07Z',
			'2026-01-10T09:00:00+01:00',	/* the same instant as the ties */
			'2023-01-01T00:00:00Z',
		];
		mine = [];
		for (const occurred_at of times)
			mine.push(await srv.create('interactions', bodies.interaction({ organization_id: org, occurred_at })));
		for (const occurred_at of ['2026-03-01T07:00:00Z', '2020-01-01T00:00:00Z'])
			await srv.create('interactions', bodies.interaction({ organization_id: other, occurred_at }));
		await srv.create('interactions', bodies.interaction({ occurred_at: '2026-03-01T08:00:00Z' }));
	});

	test('the organization\'s interactions, newest first (then id desc), paged', async () => {
		const { items, pages } = await srv.pageAll(`${ORGS}/${org}/timeline`, { limit: 5 });
		assertEachOnce(items, mine, 'timeline');
		assert.equal(pages.length, 3);
		const expected = [...mine].sort((a, b) =>
			a.occurred_at === b.occurred_at ? b.id - a.id : a.occurred_at < b.occurred_at ? 1 : -1);
		assert.deepEqual(idsOf(items), idsOf(expected));
		assert.ok(items.every((i) => i.organization_id === org));
	});

	test('an organization without interactions has an empty timeline', async () => {
		const quiet = await srv.create('organizations', bodies.organization());
		const page = await srv.page(`${ORGS}/${quiet.id}/timeline`);
		assert.deepEqual(page, { items: [], next_cursor: null });
	});

	test('an unknown organization: 404 not_found', async () => {
		expectError(await srv.get(`${ORGS}/999999/timeline`), 404, 'not_found');
	});

	test('bad list parameters on the timeline: 400', async () => {
		expectError(await srv.get(withQuery(`${ORGS}/${org}/timeline`, { limit: '0' })), 400, 'invalid_parameter');
		expectError(await srv.get(withQuery(`${ORGS}/${org}/timeline`, { cursor: 'garbage' })), 400, 'invalid_cursor');
	});
});

/* Last: it adds organizations that the tests above do not expect. */
describe('sorting on a field that may be empty', () => {
	let marked;

	before(async () => {
		const tiers = ['key', null, 'strategic', null, 'standard', 'occasional', null, 'key', null];
		marked = await createAll('organizations', tiers.map((tier, i) => ({
			name: `Sparse ${i}`, kind: 'partner', tags: ['sparse'], ...(tier ? { tier } : {}), ...(i % 3 ? { country: 'FI' } : {}),
		})));
	});

	for (const field of ['tier', 'country']) {
		test(`sort=${field} and -${field}, paged: each record once, empty values together, one the reverse of the other`, async () => {
			const whole = (await srv.page(ORGS, { tag: 'sparse', sort: field, limit: 200 })).items;
			const asc = (await srv.pageAll(ORGS, { tag: 'sparse', sort: field, limit: 2 })).items;
			const desc = (await srv.pageAll(ORGS, { tag: 'sparse', sort: `-${field}`, limit: 2 })).items;
			assertEachOnce(asc, marked, `sort=${field}`);
			assert.deepEqual(idsOf(asc), idsOf(whole), 'paging does not change the order');
			assert.deepEqual(idsOf(desc), idsOf(asc).reverse(), `-${field} is the reverse of ${field}`);
			const empty = asc.map((o) => o[field] == null);
			assert.ok(empty[0] || empty[empty.length - 1], 'empty values at one end');
			runsOf(asc, field);
		});
	}
});

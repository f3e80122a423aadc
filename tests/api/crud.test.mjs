/*
 * Create, read, update, delete for each collection, with ETag / If-Match,
 * references that block deletes, PATCH semantics and tags.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
	API, assertFields, assertRecordBasics, bodies, expectError, startServer,
} from './harness.mjs';

let srv;
let org;
let person;

before(async () => {
	srv = await startServer();
	org = await srv.create('organizations', bodies.organization());
	person = await srv.create('people', bodies.person());
});
after(async () => { await srv?.stop(); });

/* A valid create body and an update for each collection. */
const kinds = {
	organizations: {
		create: () => bodies.organization({ tier: 'standard', city: 'Malmö', country: 'SE', tags: ['crud'] }),
		update: { tier: 'key', city: 'Lund' },
	},
	people: {
		create: () => bodies.person({ emails: ['ada@example.test'], phones: ['+46 40 123 456'], language: 'en' }),
		update: { language: 'sv', emails: ['ada@example.test', 'ada.l@example.test'] },
	},
	affiliations: {
		create: () => bodies.affiliation(person.id, org.id, { title: 'CTO', started_on: '2024-02-01' }),
		update: { title: 'CEO', role: 'executive', ended_on: '2026-01-31' },
	},
	interactions: {
		create: () => bodies.interaction({ organization_id: org.id, person_ids: [person.id], channel: 'phone' }),
		update: { subject: 'Renamed call', direction: 'inbound' },
	},
	'custom-fields': {
		create: () => bodies.customField({ label: 'Badge' }),
		update: { label: 'Badge number' },
	},
};

/* Fields the server changes on every write. */
const WRITE_STAMPS = ['version', 'updated_at'];

for (const [collection, kind] of Object.entries(kinds)) {
	describe(`${collection}: create, read, update, delete`, () => {
		const base = `${API}/${collection}`;
		let created;
		let updated;

		test('POST: 201 with the record, Location and ETag', async () => {
			const body = kind.create();
			const res = await srv.post(base, body);
			assert.equal(res.status, 201, res.text);
			created = res.json;
			assertRecordBasics(created);
			assert.equal(created.version, 1);
			assert.equal(created.owner_id, srv.user.id, 'owned by the creator');
			assertFields(created, body);
			assert.equal(res.headers.get('location'), `${base}/${created.id}`);
			assert.equal(res.headers.get('etag'), '"1"');
		});

		test('GET one: 200, the same record, ETag "{version}"', async () => {
			const res = await srv.get(`${base}/${created.id}`);
			assert.equal(res.status, 200, res.text);
			assert.deepEqual(res.json, created);
			assert.equal(res.headers.get('etag'), '"1"');
		});

		test('PATCH with If-Match: 200, version + 1, new ETag, other fields kept', async () => {
			const res = await srv.patch(`${base}/${created.id}`, kind.update, { ifMatch: 1 });
			assert.equal(res.status, 200, res.text);
			updated = res.json;
			assert.equal(updated.version, 2);
			assert.equal(res.headers.get('etag'), '"2"');
			assertFields(updated, kind.update);
			for (const [k, v] of Object.entries(created)) {
				if (!(k in kind.update) && !WRITE_STAMPS.includes(k))
					assert.deepEqual(updated[k], v, `${k} is unchanged by a PATCH that does not name it`);
			}
			assert.ok(updated.updated_at >= created.updated_at, 'updated_at does not go back');
			assert.deepEqual(await srv.read(collection, created.id), updated, 'GET sees the update');
		});

		test('PATCH with a stale If-Match: 412 stale_version, nothing changed', async () => {
			await srv.unchangedBy([collection], async () => {
				expectError(await srv.patch(`${base}/${created.id}`, kind.update, { ifMatch: 1 }), 412, 'stale_version');
				expectError(await srv.patch(`${base}/${created.id}`, kind.update, { ifMatch: 3 }), 412, 'stale_version');
			});
		});

		test('PATCH without If-Match: 428 precondition_required, nothing changed', async () => {
			await srv.unchangedBy([collection], async () => {
				expectError(await srv.patch(`${base}/${created.id}`, kind.update), 428, 'precondition_required');
			});
		});

		test('DELETE without If-Match: 428, the record stays', async () => {
			await srv.unchangedBy([collection], async () => {
				expectError(await srv.del(`${base}/${created.id}`), 428, 'precondition_required');
			});
		});

		test('DELETE with a stale If-Match: 412, the record stays', async () => {
			await srv.unchangedBy([collection], async () => {
				expectError(await srv.del(`${base}/${created.id}`, { ifMatch: 1 }), 412, 'stale_version');
			});
		});

		test('DELETE with If-Match: 204, then 404 for GET, PATCH and DELETE', async () => {
			const res = await srv.del(`${base}/${created.id}`, { ifMatch: 2 });
			assert.equal(res.status, 204, res.text);
			assert.equal(res.text, '', '204 has no body');
			expectError(await srv.get(`${base}/${created.id}`), 404, 'not_found');
			expectError(await srv.patch(`${base}/${created.id}`, kind.update, { ifMatch: 2 }), 404, 'not_found');
			expectError(await srv.del(`${base}/${created.id}`, { ifMatch: 2 }), 404, 'not_found');
			const all = await srv.listAll(collection);
			assert.ok(!all.some((r) => r.id === created.id), 'gone from the list');
		});
	});
}

describe('ids are never given twice', () => {
	/* SQLite would hand the newest record's id to the next one once it was
	 * deleted; PostgreSQL never does: both must answer the same. */
	const more = {
		teams: () => ({ name: `team ${Date.now()} ${Math.random()}` }),
		users: () => ({
			email: `u${Date.now()}${Math.floor(Math.random() * 1e6)}@example.test`, name: 'U',
			role: 'viewer', password: 'a long enough password 1',
		}),
	};
	for (const [collection, create] of [...Object.entries(kinds).map(([c, k]) => [c, k.create]),
		...Object.entries(more)]) {
		test(`${collection}: a record made after the newest was deleted gets a new id`, async () => {
			const base = `${API}/${collection}`;
			const first = await srv.post(base, create());
			assert.equal(first.status, 201, first.text);
			const gone = await srv.del(`${base}/${first.json.id}`, { ifMatch: first.json.version });
			assert.equal(gone.status, 204, gone.text);
			const next = await srv.post(base, create());
			assert.equal(next.status, 201, next.text);
			assert.ok(next.json.id > first.json.id, `${next.json.id} after ${first.json.id}`);
		});
	}
});

describe('deleting a record that others refer to', () => {
	test('409 conflict for each kind of reference, and the record stays', async () => {
		const o = await srv.create('organizations', bodies.organization({ kind: 'business_unit' }));
		const p = await srv.create('people', bodies.person());
		const aff = await srv.create('affiliations', bodies.affiliation(p.id, o.id));
		const first = await srv.create('interactions', bodies.interaction({ organization_id: o.id }));
		const reply = await srv.create('interactions', bodies.interaction({ reply_to_id: first.id }));
		const unit = await srv.create('organizations', bodies.organization({ kind: 'business_unit', parent_id: o.id }));

		const all = ['organizations', 'people', 'affiliations', 'interactions'];
		await srv.unchangedBy(all, async () => {
			/* o is referred to by aff, first and unit; p by aff; first by reply. */
			expectError(await srv.del(`${API}/organizations/${o.id}`, { ifMatch: o.version }), 409, 'conflict');
			expectError(await srv.del(`${API}/people/${p.id}`, { ifMatch: p.version }), 409, 'conflict');
			expectError(await srv.del(`${API}/interactions/${first.id}`, { ifMatch: first.version }), 409, 'conflict');
		});

		/* Once the references are gone, the deletes go through. */
		const gone = [['affiliations', aff], ['interactions', reply], ['interactions', first], ['organizations', unit]];
		for (const [c, r] of gone)
			assert.equal((await srv.del(`${API}/${c}/${r.id}`, { ifMatch: r.version })).status, 204, `delete ${c} ${r.id}`);
		assert.equal((await srv.del(`${API}/organizations/${o.id}`, { ifMatch: o.version })).status, 204);
		assert.equal((await srv.del(`${API}/people/${p.id}`, { ifMatch: p.version })).status, 204);
	});
});

describe('PATCH semantics', () => {
	test('absent fields are kept, null clears an optional field', async () => {
		const o = await srv.create('organizations', bodies.organization({ tier: 'key', city: 'Umeå', industry: 'Steel' }));
		const res = await srv.patch(`${API}/organizations/${o.id}`, { tier: null, industry: 'Timber' }, { ifMatch: 1 });
		assert.equal(res.status, 200, res.text);
		assert.ok(res.json.tier === null || !('tier' in res.json), `tier cleared: ${res.text}`);
		assert.equal(res.json.industry, 'Timber');
		assert.equal(res.json.city, 'Umeå');
		assert.equal(res.json.name, o.name);
		assert.deepEqual(await srv.read('organizations', o.id), res.json);
	});

	test('null on a required field: 400 validation_failed naming it, nothing changed', async () => {
		const o = await srv.create('organizations', bodies.organization());
		await srv.unchangedBy(['organizations'], async () => {
			const res = await srv.patch(`${API}/organizations/${o.id}`, { name: null }, { ifMatch: 1 });
			expectError(res, 400, 'validation_failed', ['name']);
		});
	});

	test('immutable fields cannot be changed: 400 naming them, nothing changed', async () => {
		const other = await srv.create('people', bodies.person());
		const aff = await srv.create('affiliations', bodies.affiliation(person.id, org.id));
		const cf = await srv.create('custom-fields', bodies.customField());
		const cases = [
			['affiliations', aff, { person_id: other.id }, 'person_id'],
			['custom-fields', cf, { name: 'renamed_field' }, 'name'],
			['custom-fields', cf, { type: 'integer' }, 'type'],
			['custom-fields', cf, { entity: 'organization' }, 'entity'],
		];
		await srv.unchangedBy(['affiliations', 'custom-fields'], async () => {
			for (const [c, rec, change, field] of cases) {
				const res = await srv.patch(`${API}/${c}/${rec.id}`, change, { ifMatch: rec.version });
				expectError(res, 400, 'validation_failed', [field]);
			}
		});
	});

	test('a reply takes the thread of the interaction it replies to', async () => {
		const first = await srv.create('interactions', bodies.interaction());
		const second = await srv.create('interactions', bodies.interaction({ reply_to_id: first.id }));
		assert.equal(second.thread_id, first.thread_id ?? first.id);
		const third = await srv.create('interactions', bodies.interaction({ reply_to_id: second.id }));
		assert.equal(third.thread_id, second.thread_id);
	});
});

describe('tags', () => {
	const sorted = (a) => [...a].sort();

	test('round-trip on create, GET, list and PATCH', async () => {
		const tags = ['vip', 'nordic', 'b2b', 'å'.repeat(50)];
		const o = await srv.create('organizations', bodies.organization({ tags }));
		assert.deepEqual(sorted(o.tags), sorted(tags));
		assert.deepEqual(sorted((await srv.read('organizations', o.id)).tags), sorted(tags));
		const listed = (await srv.listAll('organizations', { tag: 'nordic' })).find((r) => r.id === o.id);
		assert.deepEqual(sorted(listed?.tags ?? []), sorted(tags));

		const res = await srv.patch(`${API}/organizations/${o.id}`, { tags: ['vip'] }, { ifMatch: 1 });
		assert.equal(res.status, 200, res.text);
		assert.deepEqual(res.json.tags, ['vip'], 'a PATCH replaces the tags');
		const cleared = await srv.patch(`${API}/organizations/${o.id}`, { tags: [] }, { ifMatch: 2 });
		assert.equal(cleared.status, 200, cleared.text);
		assert.deepEqual(cleared.json.tags, []);
	});

	test('50 tags are accepted', async () => {
		const tags = Array.from({ length: 50 }, (_, i) => `t${i}`);
		const o = await srv.create('people', bodies.person({ tags }));
		assert.deepEqual(sorted(o.tags), sorted(tags));
	});

	test('bad tags: 400 validation_failed naming tags, nothing created', async () => {
		const bad = [
			['x'.repeat(51)],
			[''],
			Array.from({ length: 51 }, (_, i) => `t${i}`),
			[5],
			'vip',
			{ vip: true },
		];
		await srv.unchangedBy(['organizations'], async () => {
			for (const tags of bad) {
				const res = await srv.post(`${API}/organizations`, bodies.organization({ tags }));
				expectError(res, 400, 'validation_failed', ['tags']);
			}
		});
	});

	test('repeated tags are refused or stored once', async () => {
		const res = await srv.post(`${API}/organizations`, bodies.organization({ tags: ['a', 'b', 'a'] }));
		if (res.status === 201)
			assert.deepEqual(sorted(res.json.tags), ['a', 'b'], 'tags are distinct');
		else
			expectError(res, 400, 'validation_failed', ['tags']);
	});
});

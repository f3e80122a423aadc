/* Custom fields: declaring them, and records' custom values checked against them. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
	API, bodies, customKey, expectError, startServer, uniqIdent,
} from './harness.mjs';

let srv;
const declared = {};

/* The organization custom fields that the tests below rely on. */
const ORG_FIELDS = [
	{ name: 'tier_score', type: 'integer' },
	{ name: 'segment', type: 'enum', options: ['smb', 'enterprise'] },
	{ name: 'since', type: 'date' },
	{ name: 'active', type: 'boolean' },
	{ name: 'ratio', type: 'number' },
	{ name: 'code', type: 'text', max_length: 5, label: 'Short code' },
];

before(async () => {
	srv = await startServer();
});
after(async () => { await srv?.stop(); });

describe('declaring custom fields', () => {
	test('an admin declares typed fields: 201 with what was given', async () => {
		for (const f of ORG_FIELDS) {
			const body = { entity: 'organization', ...f };
			const rec = await srv.create('custom-fields', body);
			for (const [k, v] of Object.entries(body)) assert.deepEqual(rec[k], v, `${f.name}.${k}`);
			assert.equal(rec.required, false, 'required defaults to false');
			declared[f.name] = rec;
		}
		const listed = await srv.listAll('custom-fields', { entity: 'organization' });
		assert.deepEqual(listed.map((r) => r.name).sort(), ORG_FIELDS.map((f) => f.name).sort());
	});

	test('a name up to 40 characters, and the same name on another entity, are accepted', async () => {
		await srv.create('custom-fields', { entity: 'interaction', name: `a${'b'.repeat(38)}9`, type: 'text' });
		await srv.create('custom-fields', { entity: 'interaction', name: 'tier_score', type: 'number' });
	});

	test('a name taken for the same entity: 409 conflict, nothing created', async () => {
		await srv.unchangedBy(['custom-fields'], async () => {
			const res = await srv.post(`${API}/custom-fields`, { entity: 'organization', name: 'segment', type: 'text' });
			expectError(res, 409, 'conflict');
		});
	});

	test('bad declarations: 400 validation_failed naming the field, nothing created', async () => {
		const cf = (o) => ({ entity: 'person', name: uniqIdent('x'), type: 'text', ...o });
		const cases = [
			[cf({ name: 'Bad-Name' }), 'name'],
			[cf({ name: '1abc' }), 'name'],
			[cf({ name: '_abc' }), 'name'],
			[cf({ name: `a${'b'.repeat(40)}` }), 'name'],
			[cf({ type: 'colour' }), 'type'],
			[cf({ entity: 'planet' }), 'entity'],
			[cf({ type: 'enum' }), 'options'],
			[cf({ type: 'text', options: ['a', 'b'] }), 'options'],
			[cf({ type: 'integer', max_length: 10 }), 'max_length'],
			[cf({ max_length: 0 }), 'max_length'],
			[cf({ max_length: 10001 }), 'max_length'],
			[cf({ required: 'yes' }), 'required'],
		];
		await srv.unchangedBy(['custom-fields'], async () => {
			for (const [body, field] of cases) {
				const res = await srv.post(`${API}/custom-fields`, body);
				expectError(res, 400, 'validation_failed', [field]);
			}
		});
	});
});

describe('custom values on records', () => {
	const good = { tier_score: 7, segment: 'enterprise', since: '2020-05-01', active: true, ratio: 0.5, code: 'ABCDE' };

	test('valid values round-trip', async () => {
		const o = await srv.create('organizations', bodies.organization({ custom: good }));
		assert.deepEqual(o.custom, good);
		assert.deepEqual((await srv.read('organizations', o.id)).custom, good);
		const res = await srv.patch(`${API}/organizations/${o.id}`, { custom: { ...good, tier_score: 8 } }, { ifMatch: 1 });
		assert.equal(res.status, 200, res.text);
		assert.equal(res.json.custom.tier_score, 8);
	});

	const wrong = [
		['tier_score', 'high'],
		['tier_score', 1.5],
		['tier_score', true],
		['segment', 'galaxy'],
		['segment', 3],
		['since', '2020-13-01'],
		['since', 'yesterday'],
		['active', 'yes'],
		['ratio', 'half'],
		['code', 'ABCDEF'],
		['no_such_field', 1],
	];

	test('a wrong type, value or unknown key on create: 400 naming the custom field, nothing created', async () => {
		await srv.unchangedBy(['organizations'], async () => {
			for (const [key, value] of wrong) {
				const res = await srv.post(`${API}/organizations`, bodies.organization({ custom: { ...good, [key]: value } }));
				expectError(res, 400, 'validation_failed', [customKey(key)]);
			}
		});
	});

	test('the same on update: 400, the record unchanged', async () => {
		const o = await srv.create('organizations', bodies.organization({ custom: good }));
		await srv.unchangedBy(['organizations'], async () => {
			for (const [key, value] of wrong) {
				const res = await srv.patch(`${API}/organizations/${o.id}`, { custom: { ...good, [key]: value } }, { ifMatch: 1 });
				expectError(res, 400, 'validation_failed', [customKey(key)]);
			}
		});
	});

	test('a field declared for organizations is unknown on people', async () => {
		await srv.unchangedBy(['people'], async () => {
			const res = await srv.post(`${API}/people`, bodies.person({ custom: { segment: 'smb' } }));
			expectError(res, 400, 'validation_failed', [customKey('segment')]);
		});
	});

	test('custom must be an object', async () => {
		await srv.unchangedBy(['organizations'], async () => {
			for (const custom of [[], 'x', 5]) {
				const res = await srv.post(`${API}/organizations`, bodies.organization({ custom }));
				expectError(res, 400, 'validation_failed', ['custom']);
			}
		});
	});
});

/* Last: a required field changes what every later person needs. */
describe('a required custom field', () => {
	let holder;

	test('is enforced on create once declared', async () => {
		await srv.create('custom-fields', { entity: 'person', name: 'badge', type: 'text', required: true });
		await srv.unchangedBy(['people'], async () => {
			for (const custom of [undefined, {}, { badge: null }]) {
				const body = bodies.person(custom === undefined ? {} : { custom });
				expectError(await srv.post(`${API}/people`, body), 400, 'validation_failed', [customKey('badge')]);
			}
		});
		holder = await srv.create('people', bodies.person({ custom: { badge: 'B-1' } }));
		assert.equal(holder.custom.badge, 'B-1');
	});

	test('and cannot be cleared by an update', async () => {
		await srv.unchangedBy(['people'], async () => {
			const res = await srv.patch(`${API}/people/${holder.id}`, { custom: { badge: null } }, { ifMatch: 1 });
			expectError(res, 400, 'validation_failed', [customKey('badge')]);
		});
	});
});

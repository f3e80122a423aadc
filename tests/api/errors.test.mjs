/*
 * Bad input: every refusal is checked for its status, its error code (the
 * table in docs/API.md), the field it names, and that nothing changed.
 * Then the limits from the other side: what is just inside them is accepted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
	API, COLLECTIONS, RFC3339_UTC, bodies, expectError, startServer,
} from './harness.mjs';

const ORGS = `${API}/organizations`;
const MiB = 1024 * 1024;

let srv;
const fx = {};		/* records that the cases refer to */

before(async () => {
	srv = await startServer();
	fx.org = await srv.create('organizations', bodies.organization({ tier: 'key' }));
	fx.unit = await srv.create('organizations', bodies.organization({ kind: 'business_unit' }));
	fx.person = await srv.create('people', bodies.person());
	fx.interaction = await srv.create('interactions', bodies.interaction({ organization_id: fx.org.id }));
});
after(async () => { await srv?.stop(); });

/* Declares a test: send() must be refused with status/code naming fields, and change nothing. */
function refused(label, send, status, code, fields = []) {
	test(`${label}: ${status} ${code}`, async () => {
		await srv.unchangedBy(COLLECTIONS, async () => expectError(await send(), status, code, fields));
	});
}

const post = (path, body, headers) => () => srv.post(path, body, { headers });
const postOrg = (body, headers) => post(ORGS, body, headers);
const patchOrg = (body, headers) => () => srv.patch(`${ORGS}/${fx.org.id}`, body, { ifMatch: fx.org.version, headers });

/* JSON text of an organization whose name holds the given raw bytes. */
const withBytes = (bytes) => Buffer.concat([
	Buffer.from('{"name":"Bad '), Buffer.from(bytes), Buffer.from('","kind":"client"}'),
]);
/* JSON text nested `depth` deep in total: the object, custom, then arrays. */
const nested = (depth) =>
	`{"name":"Deep","kind":"client","custom":{"k":${'['.repeat(depth - 2)}${']'.repeat(depth - 2)}}}`;
/* A valid organization padded with spaces to exactly `size` bytes. */
function padded(size) {
	const buf = Buffer.alloc(size, ' ');
	buf.write(JSON.stringify(bodies.organization()));
	return buf;
}

describe('body that is not a JSON object: 400 invalid_json', () => {
	const texts = {
		'cut short': '{"name": "x",',
		'empty body': '',
		'an array': '[{"name":"Arr","kind":"client"}]',
		'a string': '"just a string"',
		'a number': '42',
		'null': 'null',
		'trailing garbage': '{"name":"x","kind":"client"} trailing',
		'two objects': '{"name":"x","kind":"client"}{"name":"y","kind":"client"}',
		'single quotes': "{'name':'x','kind':'client'}",
		'trailing comma': '{"name":"x","kind":"client",}',
		'NaN': '{"name":"x","kind":"client","tier":NaN}',
	};
	for (const [label, text] of Object.entries(texts))
		refused(`POST ${label}`, postOrg(text), 400, 'invalid_json');
	refused('PATCH cut short', patchOrg('{"name":'), 400, 'invalid_json');
	refused('PATCH an array', patchOrg('[]'), 400, 'invalid_json');
});

describe('body that is not UTF-8: 400 invalid_utf8', () => {
	const bytes = {
		'0xff 0xfe': [0xff, 0xfe],
		'overlong /': [0xc0, 0xaf],
		'encoded surrogate': [0xed, 0xa0, 0x80],
		'truncated sequence': [0xe2, 0x82],
		'latin-1 å': [0xe5],
	};
	for (const [label, b] of Object.entries(bytes))
		refused(`POST ${label}`, postOrg(withBytes(b)), 400, 'invalid_utf8');
	refused('PATCH 0xff', patchOrg(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), 400, 'invalid_utf8');
});

describe('nesting', () => {
	refused('POST 17 deep', postOrg(nested(17)), 400, 'too_deep');
	refused('POST 100000 deep', postOrg(nested(100000)), 400, 'too_deep');
	refused('PATCH 17 deep', patchOrg(nested(17)), 400, 'too_deep');
	/* 16 deep is allowed nesting; the body is still wrong (k is no custom field). */
	refused('POST 16 deep is not too deep', postOrg(nested(16)), 400, 'validation_failed');
});

describe('body size', () => {
	refused('POST 1 MiB + 1 byte', () => srv.rawRequest('POST', ORGS, { body: padded(MiB + 1) }), 413, 'too_large');
	refused('POST 1 MiB + 1 byte, chunked', () => srv.rawRequest('POST', ORGS, { body: padded(MiB + 1), chunked: true }),
		413, 'too_large');
	refused('POST 8 MiB', () => srv.rawRequest('POST', ORGS, { body: padded(8 * MiB) }), 413, 'too_large');
	refused('PATCH 1 MiB + 1 byte', () => srv.rawRequest('PATCH', `${ORGS}/${fx.org.id}`, {
		body: padded(MiB + 1), headers: { 'if-match': `"${fx.org.version}"` },
	}), 413, 'too_large');

	test('exactly 1 MiB is accepted', async () => {
		const res = await srv.rawRequest('POST', ORGS, { body: padded(MiB) });
		assert.equal(res.status, 201, res.text.slice(0, 300));
	});
});

describe('Content-Type: 415 unsupported_media_type', () => {
	const good = () => JSON.stringify(bodies.organization());
	for (const type of ['text/plain', null, 'application/x-www-form-urlencoded', 'application/xml'])
		refused(`POST with ${type ?? 'no'} Content-Type`, () => srv.post(ORGS, good(), { headers: { 'content-type': type } }),
			415, 'unsupported_media_type');
	refused('PATCH with text/plain', patchOrg('{"notes":"x"}', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');

	test('application/json; charset=utf-8 is accepted', async () => {
		const res = await srv.post(ORGS, good(), { headers: { 'content-type': 'application/json; charset=utf-8' } });
		assert.equal(res.status, 201, res.text);
	});
});

describe('validation: 400 validation_failed naming each field', () => {
	const org = (o) => bodies.organization(o);
	const { name: _n, ...nameless } = org();
	const { kind: _k, ...kindless } = org();
	const cases = [
		['name a number', org({ name: 42 }), ['name']],
		['kind an array', org({ kind: ['client'] }), ['kind']],
		['tier a number', org({ tier: 3 }), ['tier']],
		['tags a string', org({ tags: 'vip' }), ['tags']],
		['parent_id a string', org({ parent_id: 'abc' }), ['parent_id']],
		['parent_id a float', org({ parent_id: 1.5 }), ['parent_id']],
		['unknown field', org({ colour: 'red' }), ['colour']],
		['two unknown fields', org({ colour: 'red', size: 3 }), ['colour', 'size']],
		['name missing', nameless, ['name']],
		['kind missing', kindless, ['kind']],
		['everything missing', {}, ['name', 'kind']],
		['name null', org({ name: null }), ['name']],
		['kind not in the enum', org({ kind: 'alien' }), ['kind']],
		['kind in the wrong case', org({ kind: 'Client' }), ['kind']],
		['tier not in the enum', org({ tier: 'gold' }), ['tier']],
		['name of 201 characters', org({ name: 'a'.repeat(201) }), ['name']],
		['name of 201 two-byte characters', org({ name: 'å'.repeat(201) }), ['name']],
		['name of 201 emoji', org({ name: '😀'.repeat(201) }), ['name']],
		['notes of 10001 characters', org({ notes: 'n'.repeat(10001) }), ['notes']],
		['country of 3 letters', org({ country: 'SWE' }), ['country']],
		['email not an address', org({ email: 'not-an-email' }), ['email']],
	];
	for (const [label, body, fields] of cases)
		refused(`organization: ${label}`, postOrg(body), 400, 'validation_failed', fields);

	refused('PATCH: wrong type', patchOrg({ name: 5 }), 400, 'validation_failed', ['name']);
	refused('PATCH: unknown field', patchOrg({ colour: 'red' }), 400, 'validation_failed', ['colour']);
	refused('PATCH: not in the enum', patchOrg({ kind: 'alien' }), 400, 'validation_failed', ['kind']);
	refused('PATCH: too long', patchOrg({ name: 'a'.repeat(201) }), 400, 'validation_failed', ['name']);
	refused('PATCH: one good and one bad field', patchOrg({ city: 'Visby', tier: 'gold' }), 400, 'validation_failed', ['tier']);

	refused('person: neither given nor family name', post(`${API}/people`, { emails: ['a@example.test'] }),
		400, 'validation_failed', [/given_name|family_name/]);
	refused('person: an email that is not one', post(`${API}/people`, bodies.person({ emails: ['nope'] })),
		400, 'validation_failed', [/^emails/]);
	refused('person: 21 emails', post(`${API}/people`,
		bodies.person({ emails: Array.from({ length: 21 }, (_, i) => `p${i}@example.test`) })),
	400, 'validation_failed', [/^emails/]);
	refused('person: a phone of 51 characters', post(`${API}/people`, bodies.person({ phones: ['1'.repeat(51)] })),
		400, 'validation_failed', [/^phones/]);

	const aff = (o) => bodies.affiliation(fx.person.id, fx.org.id, o);
	refused('affiliation: role not in the enum', () => srv.post(`${API}/affiliations`, aff({ role: 'boss' })),
		400, 'validation_failed', ['role']);
	refused('affiliation: is_primary a string', () => srv.post(`${API}/affiliations`, aff({ is_primary: 'yes' })),
		400, 'validation_failed', ['is_primary']);
	for (const started_on of ['2026-02-30', '2025-02-29', '2026-1-5', '05/01/2026', '2026-01-05T00:00:00Z'])
		refused(`affiliation: date ${started_on}`, () => srv.post(`${API}/affiliations`, aff({ started_on })),
			400, 'validation_failed', ['started_on']);
	refused('affiliation: ended before it started',
		() => srv.post(`${API}/affiliations`, aff({ started_on: '2026-02-01', ended_on: '2026-01-31' })),
		400, 'validation_failed', ['ended_on']);

	const bad = [
		'2026-13-01T00:00:00Z', '2026-02-30T10:00:00Z', '2026-01-01T25:00:00Z', '2026-01-01T10:60:00Z',
		'2026-01-01T10:00:00', '2026-01-01', 'yesterday', '', '2026-01-01T10:00:00+25:00', '1767225600',
	];
	for (const occurred_at of bad)
		refused(`interaction: time ${JSON.stringify(occurred_at)}`, post(`${API}/interactions`, bodies.interaction({ occurred_at })),
			400, 'validation_failed', ['occurred_at']);
	refused('interaction: time a number', post(`${API}/interactions`, bodies.interaction({ occurred_at: 1767225600 })),
		400, 'validation_failed', ['occurred_at']);
	refused('interaction: direction not in the enum', post(`${API}/interactions`, bodies.interaction({ direction: 'sideways' })),
		400, 'validation_failed', ['direction']);
	refused('interaction: subject of 501 characters', post(`${API}/interactions`, bodies.interaction({ subject: 's'.repeat(501) })),
		400, 'validation_failed', ['subject']);
	refused('interaction: person_ids not a list', post(`${API}/interactions`, bodies.interaction({ person_ids: 5 })),
		400, 'validation_failed', ['person_ids']);
});

describe('references: 422 invalid_reference naming the field', () => {
	const missing = 999999;
	refused('affiliation with an unknown person_id',
		() => srv.post(`${API}/affiliations`, bodies.affiliation(missing, fx.org.id)), 422, 'invalid_reference', ['person_id']);
	refused('affiliation with an unknown organization_id',
		() => srv.post(`${API}/affiliations`, bodies.affiliation(fx.person.id, missing)), 422, 'invalid_reference', ['organization_id']);
	refused('interaction with an unknown organization_id',
		post(`${API}/interactions`, bodies.interaction({ organization_id: missing })), 422, 'invalid_reference', ['organization_id']);
	refused('interaction with an unknown reply_to_id',
		post(`${API}/interactions`, bodies.interaction({ reply_to_id: missing })), 422, 'invalid_reference', ['reply_to_id']);
	refused('interaction with an unknown person in person_ids',
		() => srv.post(`${API}/interactions`, bodies.interaction({ person_ids: [fx.person.id, missing] })),
		422, 'invalid_reference', [/^person_ids/]);
	refused('interaction with an unknown user in user_ids',
		post(`${API}/interactions`, bodies.interaction({ user_ids: [missing] })), 422, 'invalid_reference', [/^user_ids/]);
	refused('organization with an unknown parent_id', postOrg(bodies.organization({ parent_id: missing })),
		422, 'invalid_reference', ['parent_id']);
	refused('PATCH to an unknown parent_id', patchOrg({ parent_id: missing }), 422, 'invalid_reference', ['parent_id']);
});

describe('business-unit hierarchy', () => {
	/* API.md gives no status for these; any 4xx naming parent_id that changes nothing will do. */
	async function refusedParent(send) {
		await srv.unchangedBy(['organizations'], async () => {
			const res = await send();
			assert.ok(res.status >= 400 && res.status < 500, `${res.status} ${res.text}`);
			assert.ok(Object.hasOwn(res.json?.error?.fields ?? {}, 'parent_id'), `fields names parent_id: ${res.text}`);
		});
	}

	test('a business unit under a client is refused', async () => {
		await refusedParent(() => srv.post(ORGS, bodies.organization({ kind: 'business_unit', parent_id: fx.org.id })));
	});

	test('a cycle is refused', async () => {
		const a = await srv.create('organizations', bodies.organization({ kind: 'business_unit' }));
		const b = await srv.create('organizations', bodies.organization({ kind: 'business_unit', parent_id: a.id }));
		const c = await srv.create('organizations', bodies.organization({ kind: 'business_unit', parent_id: b.id }));
		await refusedParent(() => srv.patch(`${ORGS}/${a.id}`, { parent_id: c.id }, { ifMatch: a.version }));
		await refusedParent(() => srv.patch(`${ORGS}/${a.id}`, { parent_id: a.id }, { ifMatch: a.version }));
	});
});

describe('unknown records and routes', () => {
	for (const c of COLLECTIONS) {
		refused(`GET an unknown ${c} id`, () => srv.get(`${API}/${c}/999999`), 404, 'not_found');
		refused(`PATCH an unknown ${c} id`, () => srv.patch(`${API}/${c}/999999`, {}, { ifMatch: 1 }), 404, 'not_found');
		refused(`DELETE an unknown ${c} id`, () => srv.del(`${API}/${c}/999999`, { ifMatch: 1 }), 404, 'not_found');
	}

	test('ids that are not ids: 404', async () => {
		for (const id of ['abc', '0', '-1', '1.5', '1e3', '99999999999999999999999', '%00']) {
			const res = await srv.get(`${ORGS}/${id}`);
			assert.equal(res.status, 404, `GET organizations/${id}: ${res.status} ${res.text}`);
			expectError(res, 404, res.json?.error?.code === 'no_route' ? 'no_route' : 'not_found');
		}
	});

	const routes = () => [
		`${API}/nope`, `${API}`, `${API}/`, '/api/v2/organizations', `${ORGS}/${fx.org.id}/bogus`,
		`${ORGS}/${fx.org.id}/timeline/extra`, `${API}/ORGANIZATIONS`,
	];
	test('unknown paths: 404 no_route', async () => {
		for (const path of routes()) {
			const res = await srv.get(path);
			assert.equal(res.status, 404, `GET ${path}: ${res.status} ${res.text}`);
			expectError(res, 404, 'no_route');
		}
	});
});

describe('wrong method: 405 method_not_allowed with Allow', () => {
	const cases = () => [
		['PUT', ORGS, ['GET', 'POST']],
		['DELETE', ORGS, ['GET', 'POST']],
		['PATCH', ORGS, ['GET', 'POST']],
		['POST', `${ORGS}/${fx.org.id}`, ['GET', 'PATCH', 'DELETE']],
		['PUT', `${ORGS}/${fx.org.id}`, ['GET', 'PATCH', 'DELETE']],
		['POST', `${API}/people/${fx.person.id}`, ['GET', 'PATCH', 'DELETE']],
		['POST', `${ORGS}/${fx.org.id}/timeline`, ['GET']],
		['GET', `${API}/session`, ['POST', 'DELETE']],
		['POST', `${API}/me`, ['GET']],
	];

	test('each path names the methods it has', async () => {
		await srv.unchangedBy(COLLECTIONS, async () => {
			for (const [method, path, allowed] of cases()) {
				const res = await srv.request(method, path, {
					body: method === 'GET' ? undefined : { name: 'x' }, headers: { 'if-match': '"1"' },
				});
				const what = `${method} ${path}`;
				assert.equal(res.status, 405, `${what}: ${res.status} ${res.text}`);
				expectError(res, 405, 'method_not_allowed');
				const allow = (res.headers.get('allow') ?? '').split(',').map((m) => m.trim().toUpperCase());
				for (const m of allowed) assert.ok(allow.includes(m), `${what}: Allow ${allow} has ${m}`);
				assert.ok(!allow.includes(method), `${what}: Allow ${allow} does not have ${method}`);
			}
		});
	});
});

describe('just inside the limits', () => {
	const accepted = [
		['a name of 200 characters', 'a'.repeat(200)],
		['a name of 200 two-byte characters', 'å'.repeat(200)],
		['a name of 200 emoji (four bytes each)', '😀'.repeat(200)],
		['a name of mixed scripts', 'Ærøskøbing Göteborg 東京 Ελλάδα '.repeat(6).trim()],
	];
	for (const [label, name] of accepted) {
		test(`${label} is accepted and stored as sent`, async () => {
			const rec = await srv.create('organizations', bodies.organization({ name, notes: 'n'.repeat(10000) }));
			assert.equal(rec.name, name);
			assert.equal((await srv.read('organizations', rec.id)).name, name);
		});
	}

	test('valid dates, including 29 February of a leap year', async () => {
		const rec = await srv.create('affiliations',
			bodies.affiliation(fx.person.id, fx.org.id, { started_on: '2024-02-29', ended_on: '2024-02-29' }));
		assert.equal(rec.started_on, '2024-02-29');
		assert.equal(rec.ended_on, '2024-02-29');
	});

	const times = [
		['2026-03-01T10:00:00+02:00', '2026-03-01T08:00:00Z'],
		['2026-03-01T01:00:00+02:00', '2026-02-28T23:00:00Z'],
		['2024-02-29T23:30:00-01:00', '2024-03-01T00:30:00Z'],
		['2026-03-01T08:00:00+00:00', '2026-03-01T08:00:00Z'],
		['2026-12-31T20:15:00-05:45', '2027-01-01T02:00:00Z'],
		['2026-03-01T08:00:00.123Z', '2026-03-01T08:00:00Z'],
	];
	for (const [given, expected] of times) {
		test(`time ${given} is stored and returned as ${expected}`, async () => {
			const rec = await srv.create('interactions', bodies.interaction({ occurred_at: given }));
			assert.match(rec.occurred_at, RFC3339_UTC);
			assert.equal(rec.occurred_at, expected);
			assert.equal((await srv.read('interactions', rec.id)).occurred_at, expected);
		});
	}

	/* API.md sets no range for times: those accepted must come back in its form, four-digit year included. */
	test('times at the ends of the four-digit years are refused, or returned in the documented form', async () => {
		for (const given of ['0001-01-01T00:00:00Z', '0999-12-31T23:59:59Z', '9999-12-31T23:59:59Z', '0001-01-01T00:30:00+01:00']) {
			const res = await srv.post(`${API}/interactions`, bodies.interaction({ occurred_at: given }));
			if (res.status !== 201) {
				expectError(res, 400, 'validation_failed', ['occurred_at']);
				continue;
			}
			assert.match(res.json.occurred_at, RFC3339_UTC, `${given} came back as ${res.json.occurred_at}`);
			assert.equal((await srv.read('interactions', res.json.id)).occurred_at, res.json.occurred_at);
		}
	});

	test('the server is still healthy after all of the above', async () => {
		const res = await srv.get('/healthz', { token: null });
		assert.equal(res.status, 200);
	});
});

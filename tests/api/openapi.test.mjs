/* GET /api/v1/openapi.json: an OpenAPI 3.1 document that matches docs/API.md. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { API, COLLECTIONS, startServer } from './harness.mjs';

const COMMON = ['id', 'created_at', 'updated_at', 'version', 'owner_id', 'tags', 'custom'];

/* From docs/API.md: every field of each entity, and the values of each enum. */
const ENTITIES = {
	organization: {
		fields: ['name', 'kind', 'parent_id', 'tier', 'industry', 'website', 'email', 'phone', 'country', 'city', 'notes'],
		enums: {
			kind: ['client', 'prospect', 'supplier', 'service_provider', 'partner', 'competitor', 'community', 'business_unit'],
			tier: ['strategic', 'key', 'standard', 'occasional'],
		},
	},
	person: {
		fields: ['given_name', 'family_name', 'emails', 'phones', 'language', 'notes'],
		enums: {},
	},
	affiliation: {
		fields: ['person_id', 'organization_id', 'role', 'title', 'is_primary', 'started_on', 'ended_on'],
		enums: {
			role: ['executive', 'decision_maker', 'finance', 'technical', 'purchasing', 'influencer', 'champion',
				'blocker', 'user', 'other'],
		},
		formats: { started_on: 'date', ended_on: 'date' },
	},
	interaction: {
		fields: ['organization_id', 'kind', 'direction', 'channel', 'occurred_at', 'subject', 'body', 'language',
			'person_ids', 'user_ids', 'reply_to_id', 'thread_id'],
		enums: {
			kind: ['meeting', 'call', 'email', 'message', 'visit', 'event', 'note'],
			direction: ['inbound', 'outbound', 'internal'],
		},
		formats: { occurred_at: 'date-time' },
	},
	custom_field: {
		fields: ['entity', 'name', 'type', 'label', 'options', 'required', 'max_length'],
		enums: {
			entity: ['organization', 'person', 'affiliation', 'interaction'],
			type: ['text', 'integer', 'number', 'boolean', 'date', 'enum'],
		},
	},
};

let srv;
let res;
let doc;

before(async () => {
	srv = await startServer();
	res = await srv.get(`${API}/openapi.json`, { token: null });
	doc = res.json;
});
after(async () => { await srv?.stop(); });

/* The object a local $ref ("#/components/schemas/X") points at. */
function deref(ref) {
	assert.ok(ref.startsWith('#/'), `only local $refs: ${ref}`);
	let node = doc;
	for (const part of ref.slice(2).split('/'))
		node = node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
	return node;
}

/* A schema with $ref and allOf folded in, so that its properties can be read. */
function resolve(schema, depth = 0) {
	assert.ok(depth < 20, '$ref chain too long');
	if (!schema || typeof schema !== 'object') return {};
	if (schema.$ref) return resolve({ ...deref(schema.$ref), ...schema, $ref: undefined }, depth + 1);
	if (schema.allOf) {
		const parts = schema.allOf.map((s) => resolve(s, depth + 1));
		return {
			...schema,
			properties: Object.assign({}, ...parts.map((p) => p.properties), schema.properties),
		};
	}
	return schema;
}

/* The enum values a property allows, looking through $ref, oneOf and anyOf; null left out. */
function enumOf(prop) {
	const s = resolve(prop);
	const values = [...(s.enum ?? []), ...[...(s.oneOf ?? []), ...(s.anyOf ?? [])].flatMap(enumOf)];
	return [...new Set(values.filter((v) => v !== null))].sort();
}

function formatOf(prop) {
	const s = resolve(prop);
	return s.format ?? [...(s.oneOf ?? []), ...(s.anyOf ?? [])].map(formatOf).find(Boolean);
}

/* Path keys as full paths: prefixed by the first server's path, if any. */
function fullPaths() {
	const url = doc.servers?.[0]?.url;
	const prefix = url ? new URL(url, 'http://localhost').pathname.replace(/\/$/, '') : '';
	const out = {};
	for (const [k, v] of Object.entries(doc.paths ?? {}))
		out[k.startsWith(API) ? k : prefix + k] = v;
	return out;
}

function pathItem(pattern) {
	const paths = fullPaths();
	const key = Object.keys(paths).find((k) => pattern.test(k));
	assert.ok(key, `a path matching ${pattern} among ${Object.keys(paths).join(', ')}`);
	return paths[key];
}

function schemaFor(entity) {
	const norm = (s) => s.toLowerCase().replace(/[^a-z]/g, '');
	const schemas = doc.components?.schemas ?? {};
	const key = Object.keys(schemas).find((k) => norm(k) === norm(entity));
	assert.ok(key, `components.schemas has ${entity} among ${Object.keys(schemas).join(', ')}`);
	return resolve(schemas[key]);
}

test('is served as JSON with openapi 3.1.x and info', () => {
	assert.equal(res.status, 200, res.text.slice(0, 300));
	assert.match(res.headers.get('content-type') ?? '', /^application\/(vnd\.oai\.openapi\+)?json\b/);
	assert.match(String(doc?.openapi), /^3\.1\.\d+$/);
	assert.equal(typeof doc.info?.title, 'string');
	assert.equal(typeof doc.info?.version, 'string');
});

test('has the list/create and read/update/delete paths of each collection', () => {
	for (const c of COLLECTIONS) {
		const list = pathItem(new RegExp(`^${API}/${c}$`));
		for (const m of ['get', 'post']) assert.ok(list[m], `${m} ${c}`);
		const item = pathItem(new RegExp(`^${API}/${c}/\\{[^}]+\\}$`));
		for (const m of ['get', 'patch', 'delete']) assert.ok(item[m], `${m} ${c}/{id}`);
	}
});

test('has the session, me and timeline paths', () => {
	const session = pathItem(new RegExp(`^${API}/session$`));
	assert.ok(session.post && session.delete, 'POST and DELETE session');
	assert.ok(pathItem(new RegExp(`^${API}/me$`)).get, 'GET me');
	assert.ok(pathItem(new RegExp(`^${API}/organizations/\\{[^}]+\\}/timeline$`)).get, 'GET timeline');
});

for (const [entity, spec] of Object.entries(ENTITIES)) {
	test(`the ${entity} schema lists its fields, enum values and formats`, () => {
		const schema = schemaFor(entity);
		const props = schema.properties ?? {};
		const common = entity === 'custom_field' ? COMMON.filter((f) => f !== 'custom') : COMMON;
		for (const f of [...common, ...spec.fields])
			assert.ok(Object.hasOwn(props, f), `${entity}.${f} among ${Object.keys(props).join(', ')}`);
		for (const [f, values] of Object.entries(spec.enums))
			assert.deepEqual(enumOf(props[f]), [...values].sort(), `${entity}.${f} enum`);
		for (const [f, format] of Object.entries(spec.formats ?? {}))
			assert.equal(formatOf(props[f]), format, `${entity}.${f} format`);
	});
}

test('every $ref points at something in the document', () => {
	const refs = [];
	(function walk(node) {
		if (Array.isArray(node)) node.forEach(walk);
		else if (node && typeof node === 'object') {
			if (typeof node.$ref === 'string') refs.push(node.$ref);
			Object.values(node).forEach(walk);
		}
	})(doc);
	for (const ref of refs) assert.ok(deref(ref) !== undefined, `${ref} resolves`);
});

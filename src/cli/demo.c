/*
 * A small, realistic data set for trying rapport: both sides of the work
 * (clients and suppliers, partners, a municipality, our business units),
 * the people in them, and a few months of interactions. Everything goes
 * through record_insert, so it obeys the same rules as the API.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../domain/record.h"
#include "../lib/util.h"
#include "../store/store.h"
#include "cli.h"

static const char *const orgs[] = {
	"{\"name\":\"Nordic Operations\",\"kind\":\"business_unit\",\"country\":\"SE\",\"city\":\"Stockholm\"}",
	"{\"name\":\"Procurement\",\"kind\":\"business_unit\",\"country\":\"SE\",\"city\":\"Stockholm\",\"parent_id\":1}",
	"{\"name\":\"Acme Logistics AB\",\"kind\":\"client\",\"tier\":\"strategic\",\"industry\":\"Logistics\",\"country\":\"SE\",\"city\":\"Göteborg\",\"website\":\"https://acme-logistics.example\",\"email\":\"info@acme-logistics.example\",\"tags\":[\"renewal-2027\",\"key-account\"]}",
	"{\"name\":\"Brightwater Foods\",\"kind\":\"client\",\"tier\":\"key\",\"industry\":\"Food processing\",\"country\":\"NO\",\"city\":\"Bergen\",\"website\":\"https://brightwater.example\"}",
	"{\"name\":\"Helix Medical Oy\",\"kind\":\"prospect\",\"tier\":\"standard\",\"industry\":\"Healthcare\",\"country\":\"FI\",\"city\":\"Espoo\"}",
	"{\"name\":\"Steelform Components\",\"kind\":\"supplier\",\"tier\":\"key\",\"industry\":\"Metal fabrication\",\"country\":\"DE\",\"city\":\"Dortmund\",\"email\":\"orders@steelform.example\"}",
	"{\"name\":\"CloudNine Hosting\",\"kind\":\"service_provider\",\"tier\":\"standard\",\"industry\":\"IT services\",\"country\":\"IE\",\"city\":\"Dublin\"}",
	"{\"name\":\"Lindqvist & Partners\",\"kind\":\"partner\",\"tier\":\"key\",\"industry\":\"Consulting\",\"country\":\"SE\",\"city\":\"Malmö\"}",
	"{\"name\":\"Rivalis Systems\",\"kind\":\"competitor\",\"industry\":\"Software\",\"country\":\"DK\",\"city\":\"Aarhus\"}",
	"{\"name\":\"Uppsala kommun\",\"kind\":\"community\",\"tier\":\"key\",\"country\":\"SE\",\"city\":\"Uppsala\",\"notes\":\"Municipality; building permit for the new depot\"}",
};

static const char *const people[] = {
	"{\"given_name\":\"Karin\",\"family_name\":\"Åberg\",\"emails\":[\"karin.aberg@acme-logistics.example\"],\"language\":\"sv\"}",
	"{\"given_name\":\"Johan\",\"family_name\":\"Ek\",\"emails\":[\"johan.ek@acme-logistics.example\"],\"language\":\"sv\"}",
	"{\"given_name\":\"Ingrid\",\"family_name\":\"Solberg\",\"emails\":[\"ingrid@brightwater.example\"],\"language\":\"nb\"}",
	"{\"given_name\":\"Mikko\",\"family_name\":\"Virtanen\",\"emails\":[\"mikko.virtanen@helix.example\"],\"language\":\"fi\"}",
	"{\"given_name\":\"Anke\",\"family_name\":\"Brandt\",\"emails\":[\"a.brandt@steelform.example\"],\"phones\":[\"+49 231 555 0101\"],\"language\":\"de\"}",
	"{\"given_name\":\"Siobhan\",\"family_name\":\"Murphy\",\"emails\":[\"siobhan@cloudnine.example\"],\"language\":\"en\"}",
	"{\"given_name\":\"Erik\",\"family_name\":\"Lindqvist\",\"emails\":[\"erik@lindqvist.example\"],\"language\":\"sv\"}",
	"{\"given_name\":\"Maria\",\"family_name\":\"Holm\",\"emails\":[\"maria.holm@uppsala.example\"],\"language\":\"sv\"}",
};

/* person index, organization index, role, title */
static const struct {
	int person, org;
	const char *role, *title;
} affiliations[] = {
	{ 0, 2, "decision_maker", "Chief Operating Officer" },
	{ 1, 2, "technical", "Head of IT" },
	{ 2, 3, "finance", "CFO" },
	{ 3, 4, "champion", "Procurement Lead" },
	{ 4, 5, "user", "Key Account Manager" },
	{ 5, 6, "technical", "Service Delivery Manager" },
	{ 6, 7, "executive", "Managing Partner" },
	{ 7, 9, "decision_maker", "Head of Planning" },
};

static const struct {
	int org, person;
	const char *kind, *direction, *channel, *subject, *body;
	int days_ago;
} interactions[] = {
	{ 2, 0, "meeting", "outbound", "in_person", "Quarterly business review",
	  "Reviewed delivery performance and the renewal timeline. Karin is happy with the service but wants better reporting.", 80 },
	{ 2, 1, "email", "inbound", "email", "Integration question",
	  "Johan asks whether the API supports bulk export of shipment events.", 60 },
	{ 2, 1, "email", "outbound", "email", "Re: Integration question",
	  "Yes: bulk export is available; sent the documentation and offered a workshop.", 59 },
	{ 2, 0, "call", "outbound", "phone", "Renewal pricing",
	  "Discussed the renewal price. They expect a discount for a three-year term.", 20 },
	{ 3, 2, "email", "inbound", "email", "Invoice overdue reminder",
	  "Ingrid reports the March invoice was sent to the wrong address; payment is delayed.", 45 },
	{ 3, 2, "call", "outbound", "phone", "Invoice address fixed",
	  "Confirmed the new invoice address; payment expected within ten days.", 44 },
	{ 4, 3, "meeting", "outbound", "video", "Discovery call",
	  "Helix is evaluating vendors; strong interest in the contract analytics.", 30 },
	{ 5, 4, "email", "inbound", "email", "Delivery delay",
	  "Steelform warns that the May delivery of brackets will be two weeks late.", 25 },
	{ 5, 4, "call", "outbound", "phone", "Delay mitigation",
	  "Agreed on a partial delivery next week and a price credit for the delay.", 24 },
	{ 6, 5, "message", "inbound", "chat", "Planned maintenance",
	  "CloudNine schedules maintenance on Saturday night; no action needed.", 12 },
	{ 7, 6, "meeting", "internal", "in_person", "Joint offer for Helix",
	  "Prepared a joint proposal with Lindqvist & Partners for the Helix tender.", 15 },
	{ 8, -1, "note", "internal", NULL, "Rivalis discounting",
	  "Rivalis is offering 30% discounts to our clients in Norway.", 10 },
	{ 9, 7, "visit", "outbound", "in_person", "Depot site visit",
	  "Visited the planned depot site with the municipality; permit review next month.", 5 },
};

struct demo_job {
	struct principal who;	/* the admin, owner of everything */
	int64_t org_ids[sizeof orgs / sizeof orgs[0]];
	int64_t person_ids[sizeof people / sizeof people[0]];
	struct err e;
	int inserted;
};

static int insert_text(struct store_conn *c, struct demo_job *j, const struct entity *ent,
		       json_t *in, int64_t *id)
{
	json_t *input, *rec;
	int rc;

	/* everything but the units themselves belongs to Nordic Operations */
	if (in && j->org_ids[0] && entity_field(ent, "business_unit_id") &&
	    !json_object_get(in, "business_unit_id"))
		json_object_set_new(in, "business_unit_id", json_integer(j->org_ids[0]));
	input = in ? record_decode(ent, in, 0, &j->e) : NULL;
	json_decref(in);
	if (!input)
		return STORE_ABORT;
	rc = record_insert(c, ent, input, &j->who, &rec, &j->e);
	json_decref(input);
	if (rc != STORE_OK)
		return rc;
	if (id)
		*id = json_integer_value(json_object_get(rec, "id"));
	json_decref(rec);
	j->inserted++;
	return STORE_OK;
}

static int demo_job(struct store_conn *c, void *arg)
{
	struct demo_job *j = arg;
	time_t now = time(NULL);
	int rc = STORE_OK;

	for (size_t i = 0; rc == STORE_OK && i < nitems(orgs); i++) {
		json_t *o = json_loads(orgs[i], 0, NULL);

		if (json_object_get(o, "parent_id"))
			json_object_set_new(o, "parent_id", json_integer(j->org_ids[0]));
		rc = insert_text(c, j, &organization_entity, o, &j->org_ids[i]);
	}
	for (size_t i = 0; rc == STORE_OK && i < nitems(people); i++)
		rc = insert_text(c, j, &person_entity, json_loads(people[i], 0, NULL),
				 &j->person_ids[i]);
	for (size_t i = 0; rc == STORE_OK && i < nitems(affiliations); i++)
		rc = insert_text(c, j, &affiliation_entity,
				 json_pack("{s:I, s:I, s:s, s:s, s:b}",
					   "person_id", (json_int_t)j->person_ids[affiliations[i].person],
					   "organization_id", (json_int_t)j->org_ids[affiliations[i].org],
					   "role", affiliations[i].role, "title", affiliations[i].title,
					   "is_primary", i == 0), NULL);
	for (size_t i = 0; rc == STORE_OK && i < nitems(interactions); i++) {
		time_t t = now - (time_t)interactions[i].days_ago * 86400;
		char when[TIME_BUF];
		struct tm tm;
		json_t *o;

		gmtime_r(&t, &tm);
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s}",
			      "organization_id", (json_int_t)j->org_ids[interactions[i].org],
			      "kind", interactions[i].kind, "direction", interactions[i].direction,
			      "occurred_at", when, "subject", interactions[i].subject,
			      "body", interactions[i].body, "language", "en");
		if (interactions[i].channel)
			json_object_set_new(o, "channel", json_string(interactions[i].channel));
		if (interactions[i].person >= 0)
			json_object_set_new(o, "person_ids", json_pack("[I]",
				(json_int_t)j->person_ids[interactions[i].person]));
		rc = insert_text(c, j, &interaction_entity, o, NULL);
	}
	return rc;
}

static int count_orgs(struct store *s)
{
	struct store_conn *c = store_acquire(s);
	struct store_stmt *st = c ? store_prepare(c, "SELECT count(*) FROM organizations") : NULL;
	int n = -1;

	if (st && store_step(st) == STORE_ROW)
		n = (int)store_col_int(st, 0);
	if (st)
		store_done(st);
	if (c)
		store_release(c);
	return n;
}

int cli_demo(struct store *s, long long owner_id)
{
	struct demo_job j = { .who = { .user_id = owner_id, .role = "admin" } };
	int n = count_orgs(s), rc;

	if (n != 0) {
		if (n > 0)
			printf("the store already has organizations; no demo data added\n");
		return n < 0 ? -1 : 0;
	}
	rc = store_write(s, demo_job, &j);
	if (rc != STORE_OK) {
		fprintf(stderr, "rapport init: demo data refused: %s\n", j.e.message);
		err_clear(&j.e);
		return -1;
	}
	printf("added %d demo records\n", j.inserted);
	return 0;
}

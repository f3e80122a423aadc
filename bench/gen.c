/*
 * bench-gen: fills a rapport SQLite database with a realistic, seeded data set
 * for `make bench`.
 *
 * The database must already exist and be migrated (`rapport init --db FILE`),
 * so the schema is the real one; the full-text tables are filled by the
 * schema's own triggers. The same --seed and sizes give the same records
 * (dates are relative to --today, which defaults to the current UTC day).
 *
 *   bench-gen --db FILE [--seed 42] [--orgs 10000] [--people 50000]
 *             [--affiliations 60000] [--interactions 500000] [--years 3]
 *             [--owner-id 1] [--today YYYY-MM-DD]
 *
 * On success the last line of stdout is machine readable:
 *   busiest_org=ID busiest_count=N max_org_id=ID
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#define N_(a) (sizeof(a) / sizeof((a)[0]))
#define PICK(a) ((a)[rnd_below((uint32_t)N_(a))])

/* ------------------------------------------------------------------ misc */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("bench-gen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		die("out of memory");
	return p;
}

static double now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------- PRNG */

/* splitmix64: tiny, fast and good enough; one stream per phase. */
static uint64_t rng_state;

static void rng_seed(uint64_t seed, uint64_t phase)
{
	rng_state = seed * 0x9e3779b97f4a7c15ULL ^ (phase + 1) * 0xd1b54a32d192ed03ULL;
}

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static uint32_t rnd_below(uint32_t n)
{
	return (uint32_t)(((rnd() >> 32) * (uint64_t)n) >> 32);
}

/* Uniform in [lo, hi]. */
static int rnd_range(int lo, int hi)
{
	return lo + (int)rnd_below((uint32_t)(hi - lo + 1));
}

static double rnd_unit(void)
{
	return (double)(rnd() >> 11) * (1.0 / 9007199254740992.0);
}

static int chance(double p)
{
	return rnd_unit() < p;
}

/* Index into weights[0..n) with probability proportional to its weight. */
static int pick_weighted(const int *w, int n)
{
	int total = 0;
	for (int i = 0; i < n; i++)
		total += w[i];
	int x = (int)rnd_below((uint32_t)total);
	for (int i = 0; i < n; i++) {
		if (x < w[i])
			return i;
		x -= w[i];
	}
	return n - 1;
}

/* Index into a cumulative weight table cum[0..n) (cum[n-1] is the total). */
static long pick_cum(const double *cum, long n)
{
	double x = rnd_unit() * cum[n - 1];
	long lo = 0, hi = n - 1;
	while (lo < hi) {
		long mid = lo + (hi - lo) / 2;
		if (cum[mid] > x)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* --------------------------------------------------------- string buffer */

struct sb {
	char *p;
	size_t len, cap;
};

static void sb_reserve(struct sb *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p)
		die("out of memory");
	b->p = p;
	b->cap = cap;
}

static void sb_reset(struct sb *b)
{
	sb_reserve(b, 0);
	b->len = 0;
	b->p[0] = 0;
}

static void sb_putn(struct sb *b, const char *s, size_t n)
{
	sb_reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void sb_puts(struct sb *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

static void sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		die("vsnprintf failed");
	sb_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* ------------------------------------------------------------ calendar */

/* Days since 1970-01-01 of a civil date, and back (H. Hinnant's algorithms). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const int64_t yy = (int64_t)yoe + era * 400;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	const unsigned dd = doy - (153 * mp + 2) / 5 + 1;
	const unsigned mm = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yy + (mm <= 2));
	*m = (int)mm;
	*d = (int)dd;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* 0 = Sunday ... 6 = Saturday */
static int weekday_of(int64_t days)
{
	return (int)((days % 7 + 11) % 7);
}

static void fmt_time(char out[24], int64_t t)
{
	int64_t days = floor_div(t, 86400);
	int64_t sec = t - days * 86400;
	int y, m, d;
	civil_from_days(days, &y, &m, &d);
	snprintf(out, 24, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, (int)(sec / 3600),
		 (int)(sec / 60 % 60), (int)(sec % 60));
}

static void fmt_date(char out[16], int64_t days)
{
	int y, m, d;
	civil_from_days(days, &y, &m, &d);
	snprintf(out, 16, "%04d-%02d-%02d", y, m, d);
}

/* ------------------------------------------------------------ reference data */

struct culture {
	const char *lang;
	const char *const *given;
	size_t ngiven;
	const char *const *family;
	size_t nfamily;
};

static const char *const sv_given[] = {
	"Anna",	 "Eva",	   "Maria",  "Karin", "Sara",	 "Lena",   "Åsa",    "Ingrid", "Märta",
	"Elin",	 "Linnéa", "Maja",   "Erik",  "Lars",	 "Karl",   "Anders", "Johan",  "Per",
	"Björn", "Göran",  "Jörgen", "Måns",  "Örjan",	 "Olle",   "Nils",   "Henrik", "Mikael",
	"Sofia", "Emma",   "Ebba",   "Tove",  "Kerstin", "Gustav", "Ulf",    "Agneta", "Håkan",
};
static const char *const sv_family[] = {
	"Andersson", "Johansson", "Karlsson",	"Nilsson",   "Eriksson",  "Larsson",   "Olsson",
	"Persson",   "Svensson",  "Gustafsson", "Lindqvist", "Lindström", "Åkesson",   "Öberg",
	"Sjöberg",   "Ström",	  "Bäckström",	"Löfgren",   "Ekström",	  "Håkansson", "Nyström",
	"Holmgren",  "Wallin",	  "Sandberg",	"Forsberg",  "Engström",  "Hedlund",   "Åberg",
	"Sundén",    "Fält",	  "Ångström",	"Lövgren",
};
static const char *const nb_given[] = {
	"Ole",	   "Lars",  "Knut",	"Håkon", "Sigrid", "Ingrid", "Solveig", "Kari",
	"Øystein", "Bjørn", "Torbjørn", "Marit", "Nora",   "Emil",   "Silje",	"Jørgen",
};
static const char *const nb_family[] = {
	"Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen",  "Berg",
	"Haugen", "Bakke",    "Dahl",  "Sæther", "Løken",    "Strand",	 "Solberg", "Nygård",
};
static const char *const da_given[] = {
	"Mette", "Søren", "Jens", "Lone",   "Rasmus",  "Mads",	"Frederik",
	"Sofie", "Freja", "Ida",  "Anders", "Kirsten", "Niels", "Birgitte",
};
static const char *const da_family[] = {
	"Jensen",   "Nielsen",	 "Hansen",    "Pedersen", "Andersen",	"Christensen", "Larsen",
	"Sørensen", "Rasmussen", "Jørgensen", "Madsen",	  "Kristensen", "Møller",      "Thomsen",
};
static const char *const fi_given[] = {
	"Mikko", "Juha",  "Jukka",  "Timo",  "Antti", "Matti", "Päivi",	 "Sanna",
	"Anni",	 "Tiina", "Heikki", "Ville", "Aino",  "Elina", "Jaakko", "Satu",
};
static const char *const fi_family[] = {
	"Korhonen",  "Virtanen", "Mäkinen",  "Nieminen", "Mäkelä",   "Hämäläinen", "Laine",
	"Heikkinen", "Koskinen", "Järvinen", "Lehtonen", "Saarinen", "Salminen",   "Lähteenmäki",
};
static const char *const de_given[] = {
	"Jürgen", "Klaus", "Stefan", "Andreas", "Thomas", "Michael", "Sabine", "Petra",	   "Ulrike",
	"Katrin", "Jörg",  "Günter", "Lukas",	"Lena",	  "Julia",   "Jana",   "Matthias", "Sören",
};
static const char *const de_family[] = {
	"Müller", "Schmidt", "Schneider", "Fischer",  "Weber",	    "Meyer",
	"Wagner", "Becker",  "Schulz",	  "Hoffmann", "Schröder",   "Köhler",
	"Krüger", "Weiß",    "Hübner",	  "Bräuer",   "Zimmermann", "Hartmann",
};
static const char *const en_given[] = {
	"James",       "John",	"Robert", "Michael", "David",	  "Sarah",  "Emily",  "Jessica",
	"Laura",       "Emma",	"Oliver", "Harry",   "Charlotte", "Amelia", "Daniel", "Rachel",
	"Christopher", "Megan", "Sophie", "Thomas",  "Hannah",	  "Ryan",   "Grace",  "Patrick",
};
static const char *const en_family[] = {
	"Smith",   "Jones",   "Williams", "Taylor", "Brown",  "Davies",	  "Evans",    "Wilson",
	"Thomas",  "Johnson", "Roberts",  "Walker", "Wright", "Robinson", "Thompson", "Hughes",
	"O'Brien", "Murphy",  "Clarke",	  "Miller", "Garcia", "Anderson", "Campbell", "Kelly",
};
static const char *const fr_given[] = {
	"Jean",	   "Pierre",	"Élodie",  "Hélène", "François", "Amélie",   "Céline",	"Mathieu",
	"Nicolas", "Sébastien", "Camille", "Léa",    "Thierry",	 "Stéphane", "Aurélie", "Chloé",
};
static const char *const fr_family[] = {
	"Martin", "Bernard", "Dubois",	"Thomas", "Robert",   "Richard",  "Petit",    "Durand",
	"Leroy",  "Moreau",  "Lefèvre", "Girard", "Fournier", "Rousseau", "Lefebvre", "Mercier",
};
static const char *const nl_given[] = {
	"Jan",	 "Pieter", "Daan", "Sanne", "Femke", "Joris",  "Maarten",
	"Anouk", "Lotte",  "Bram", "Sven",  "Eva",   "Willem", "Inge",
};
static const char *const nl_family[] = {
	"de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker",	     "Janssen",
	"Visser",  "Smit",   "Meijer",	 "de Boer",	 "Mulder",   "van der Meer", "Vermeulen",
};
static const char *const es_given[] = {
	"José",	  "María", "Carmen", "Javier", "Alejandro", "Lucía", "Sofía",
	"Andrés", "Íñigo", "Pilar",  "Raúl",   "Begoña",    "Marta", "Sergio",
};
static const char *const es_family[] = {
	"García", "Fernández", "González", "Rodríguez", "López",   "Martínez", "Sánchez",
	"Pérez",  "Gómez",     "Muñoz",	   "Peña",	"Jiménez", "Ruiz",     "Núñez",
};
static const char *const it_given[] = {
	"Giuseppe", "Marco",  "Luca",	  "Giulia", "Francesca", "Alessandro",
	"Chiara",   "Matteo", "Federica", "Paolo",  "Niccolò",	 "Elena",
};
static const char *const it_family[] = {
	"Rossi", "Russo",  "Ferrari", "Esposito", "Bianchi", "Romano",	"Colombo",
	"Ricci", "Marino", "Greco",   "Bruno",	  "Conti",   "De Luca", "Galli",
};
static const char *const pl_given[] = {
	"Łukasz",     "Piotr",	   "Krzysztof", "Tomasz", "Paweł", "Agnieszka",
	"Małgorzata", "Katarzyna", "Joanna",	"Michał", "Zofia", "Wojciech",
};
static const char *const pl_family[] = {
	"Nowak",       "Kowalski",  "Wiśniewski", "Wójcik",  "Kowalczyk", "Kamiński",
	"Lewandowski", "Zieliński", "Szymański",  "Woźniak", "Dąbrowski", "Kozłowski",
};
static const char *const ja_given[] = {
	"Haruto", "Yuki", "Sota",    "Hina",  "Takeshi", "Kenji",
	"Akiko",  "Yuko", "Hiroshi", "Naoko", "Daisuke", "Aiko",
};
static const char *const ja_family[] = {
	"Sato",	    "Suzuki",	"Takahashi", "Tanaka", "Watanabe", "Ito",
	"Yamamoto", "Nakamura", "Kobayashi", "Kato",   "Yoshida",  "Yamada",
};
static const char *const hi_given[] = {
	"Aarav", "Priya", "Rahul", "Ananya", "Vikram", "Deepa",
	"Arjun", "Kavya", "Rohan", "Sneha",  "Sanjay", "Lakshmi",
};
static const char *const hi_family[] = {
	"Sharma", "Patel", "Singh", "Kumar", "Gupta", "Reddy",
	"Iyer",	  "Nair",  "Rao",   "Mehta", "Joshi", "Desai",
};
static const char *const pt_given[] = {
	"João",	  "Ana",     "Pedro", "Luísa",	  "Gabriel",   "Mariana",
	"Rafael", "Beatriz", "Tiago", "Fernanda", "Conceição", "Lucas",
};
static const char *const pt_family[] = {
	"Silva",    "Santos", "Oliveira", "Souza",  "Pereira", "Lima",
	"Carvalho", "Gomes",  "Ribeiro",  "Araújo", "Rocha",   "Conceição",
};

#define CULT(lang, g, f)                                                                           \
	{                                                                                          \
		lang, g, N_(g), f, N_(f)                                                           \
	}
enum { C_SV, C_NB, C_DA, C_FI, C_DE, C_EN, C_FR, C_NL, C_ES, C_IT, C_PL, C_JA, C_HI, C_PT };
static const struct culture cultures[] = {
	CULT("sv", sv_given, sv_family),    CULT("nb", nb_given, nb_family),
	CULT("da", da_given, da_family),    CULT("fi", fi_given, fi_family),
	CULT("de", de_given, de_family),    CULT("en", en_given, en_family),
	CULT("fr", fr_given, fr_family),    CULT("nl", nl_given, nl_family),
	CULT("es", es_given, es_family),    CULT("it", it_given, it_family),
	CULT("pl", pl_given, pl_family),    CULT("ja", ja_given, ja_family),
	CULT("en-IN", hi_given, hi_family), CULT("pt-BR", pt_given, pt_family),
};

struct country {
	const char *code;
	int weight;
	int culture;
	const char *dial;
	const char *tld;
	const char *currency;
	const char *suffix;
	const char *const *cities;
	size_t ncities;
};

static const char *const se_cities[] = {"Stockholm", "Göteborg", "Malmö",     "Uppsala",
					"Västerås",  "Örebro",	 "Linköping", "Helsingborg",
					"Jönköping", "Umeå",	 "Luleå",     "Norrköping"};
static const char *const no_cities[] = {"Oslo",	     "Bergen", "Trondheim",
					"Stavanger", "Tromsø", "Drammen"};
static const char *const dk_cities[] = {"København", "Aarhus", "Odense", "Aalborg", "Esbjerg"};
static const char *const fi_cities[] = {"Helsinki", "Espoo", "Tampere",
					"Turku",    "Oulu",  "Jyväskylä"};
static const char *const de_cities[] = {
	"Berlin",    "Hamburg",	   "München", "Köln",	  "Frankfurt am Main",
	"Stuttgart", "Düsseldorf", "Leipzig", "Nürnberg", "Bremen"};
static const char *const gb_cities[] = {"London",  "Manchester", "Birmingham", "Leeds",
					"Glasgow", "Edinburgh",	 "Bristol",    "Cambridge"};
static const char *const us_cities[] = {"New York", "Chicago", "Boston",
					"Seattle",  "Austin",  "San Francisco",
					"Atlanta",  "Denver",  "Minneapolis"};
static const char *const fr_cities[] = {"Paris", "Lyon",   "Marseille", "Toulouse",
					"Lille", "Nantes", "Bordeaux"};
static const char *const nl_cities[] = {"Amsterdam", "Rotterdam", "Utrecht", "Eindhoven",
					"Den Haag"};
static const char *const es_cities[] = {"Madrid",  "Barcelona", "Valencia",
					"Sevilla", "Bilbao",	"Málaga"};
static const char *const it_cities[] = {"Milano", "Roma", "Torino", "Bologna", "Firenze"};
static const char *const pl_cities[] = {"Warszawa", "Kraków", "Gdańsk",
					"Wrocław",  "Poznań", "Łódź"};
static const char *const ch_cities[] = {"Zürich", "Genève", "Basel", "Bern", "Lausanne"};
static const char *const at_cities[] = {"Wien", "Graz", "Linz", "Salzburg"};
static const char *const be_cities[] = {"Bruxelles", "Antwerpen", "Gent", "Liège"};
static const char *const ie_cities[] = {"Dublin", "Cork", "Galway"};
static const char *const jp_cities[] = {"Tokyo", "Osaka", "Yokohama", "Nagoya"};
static const char *const in_cities[] = {"Bengaluru", "Mumbai", "Pune", "Chennai", "Hyderabad"};
static const char *const br_cities[] = {"São Paulo", "Rio de Janeiro", "Curitiba", "Porto Alegre"};
static const char *const ca_cities[] = {"Toronto", "Montréal", "Vancouver", "Calgary", "Ottawa"};
static const char *const au_cities[] = {"Sydney", "Melbourne", "Brisbane", "Perth"};

#define CTRY(code, w, cult, dial, tld, cur, suf, cities)                                           \
	{                                                                                          \
		code, w, cult, dial, tld, cur, suf, cities, N_(cities)                             \
	}
static const struct country countries[] = {
	CTRY("SE", 24, C_SV, "46", "se", "SEK", "AB", se_cities),
	CTRY("NO", 6, C_NB, "47", "no", "NOK", "AS", no_cities),
	CTRY("DK", 6, C_DA, "45", "dk", "DKK", "A/S", dk_cities),
	CTRY("FI", 6, C_FI, "358", "fi", "EUR", "Oy", fi_cities),
	CTRY("DE", 12, C_DE, "49", "de", "EUR", "GmbH", de_cities),
	CTRY("GB", 9, C_EN, "44", "co.uk", "GBP", "Ltd", gb_cities),
	CTRY("US", 9, C_EN, "1", "com", "USD", "Inc.", us_cities),
	CTRY("FR", 5, C_FR, "33", "fr", "EUR", "SAS", fr_cities),
	CTRY("NL", 5, C_NL, "31", "nl", "EUR", "B.V.", nl_cities),
	CTRY("ES", 3, C_ES, "34", "es", "EUR", "S.L.", es_cities),
	CTRY("IT", 3, C_IT, "39", "it", "EUR", "S.r.l.", it_cities),
	CTRY("PL", 4, C_PL, "48", "pl", "PLN", "Sp. z o.o.", pl_cities),
	CTRY("CH", 2, C_DE, "41", "ch", "CHF", "AG", ch_cities),
	CTRY("AT", 2, C_DE, "43", "at", "EUR", "GmbH", at_cities),
	CTRY("BE", 2, C_NL, "32", "be", "EUR", "NV", be_cities),
	CTRY("IE", 1, C_EN, "353", "ie", "EUR", "Ltd", ie_cities),
	CTRY("JP", 2, C_JA, "81", "co.jp", "JPY", "K.K.", jp_cities),
	CTRY("IN", 2, C_HI, "91", "in", "INR", "Pvt Ltd", in_cities),
	CTRY("BR", 1, C_PT, "55", "com.br", "BRL", "Ltda", br_cities),
	CTRY("CA", 2, C_EN, "1", "ca", "CAD", "Inc.", ca_cities),
	CTRY("AU", 1, C_EN, "61", "com.au", "AUD", "Pty Ltd", au_cities),
};

struct industry {
	const char *name;
	const char *const words[4];
};

static const struct industry industries[] = {
	{"Logistics", {"Freight", "Logistics", "Shipping", "Transport"}},
	{"Manufacturing", {"Industries", "Manufacturing", "Components", "Works"}},
	{"Software", {"Software", "Systems", "Digital", "Labs"}},
	{"Retail", {"Retail", "Stores", "Trading", "Commerce"}},
	{"Food & Beverage", {"Foods", "Bakeries", "Dairy", "Beverages"}},
	{"Pharmaceuticals", {"Pharma", "Life Sciences", "Therapeutics", "Biotech"}},
	{"Energy", {"Energy", "Power", "Solar", "Wind"}},
	{"Construction", {"Construction", "Building", "Infrastructure", "Properties"}},
	{"Automotive", {"Automotive", "Motors", "Mobility", "Vehicle Parts"}},
	{"Telecommunications", {"Telecom", "Networks", "Connect", "Communications"}},
	{"Financial Services", {"Capital", "Finance", "Bank", "Invest"}},
	{"Insurance", {"Insurance", "Assurance", "Mutual", "Risk"}},
	{"Healthcare", {"Health", "Medical", "Care", "Clinics"}},
	{"Chemicals", {"Chemicals", "Polymers", "Coatings", "Materials"}},
	{"Metals & Mining", {"Metals", "Steel", "Mining", "Alloys"}},
	{"Forestry & Paper", {"Paper", "Timber", "Forest Products", "Pulp"}},
	{"Media", {"Media", "Publishing", "Studios", "Broadcasting"}},
	{"Packaging", {"Packaging", "Containers", "Labels", "Cartons"}},
	{"Agriculture", {"Agri", "Farms", "Seeds", "Harvest"}},
	{"Marine", {"Marine", "Maritime", "Shipyards", "Offshore"}},
	{"Electronics", {"Electronics", "Sensors", "Instruments", "Devices"}},
	{"Public Sector", {"Municipal Services", "Agency", "Authority", "Utilities"}},
};

static const struct industry service_industries[] = {
	{"Consulting", {"Consulting", "Advisory", "Partners", "Management"}},
	{"Legal Services", {"Legal", "Law", "Advokater", "Counsel"}},
	{"Accounting", {"Accounting", "Audit", "Revision", "Bookkeeping"}},
	{"Facility Services", {"Facility Services", "Cleaning", "Property Care", "Services"}},
	{"IT Services", {"IT Services", "Cloud", "Hosting", "Managed Services"}},
	{"Recruitment", {"Recruitment", "Talent", "Staffing", "People"}},
	{"Marketing", {"Marketing", "Communications", "Creative", "Agency"}},
	{"Translation", {"Translations", "Language Services", "Lingua", "Words"}},
};

static const char *const name_prefixes[] = {
	"Nordic",   "Baltic",	 "Alpine",    "Atlantic",  "Pacific",  "Global",      "United",
	"Northern", "Coastal",	 "Summit",    "Pioneer",   "Polar",    "Granite",     "Silver",
	"Blue",	    "Green",	 "Red Oak",   "Evergreen", "Bright",   "Apex",	      "Vertex",
	"Meridian", "Horizon",	 "Crescent",  "Falcon",	   "Aurora",   "Boreal",      "Fjord",
	"Ångström", "Skåne",	 "Västkust",  "Göta",	   "Björk",    "Älvdalen",    "Norrland",
	"Eastgate", "Westbrook", "Kestrel",   "Harbor",	   "Lakeside", "Ironwood",    "Cedar",
	"Orion",    "Sirius",	 "Vega",      "Nova",	   "Delta",    "Sigma",	      "Quantum",
	"Stellar",  "Zenith",	 "Keystone",  "Beacon",	   "Pinnacle", "Mosaic",      "Tundra",
	"Saga",	    "Runa",	 "Vinter",    "Solstice",  "Lumen",    "Cobalt",      "Amber",
	"Helix",    "Arctic",	 "Riverbend", "Oakridge",  "Highland", "Brightwater", "Stonebridge",
};

static const char *const bu_functions[] = {
	"Sales",
	"Customer Success",
	"Field Service",
	"Procurement",
	"Finance",
	"Marketing",
	"R&D",
	"Logistics",
	"HR",
	"Legal",
	"IT Operations",
	"Product Management",
	"Professional Services",
	"Key Accounts",
	"Inside Sales",
	"Partner Management",
};
static const char *const bu_regions[] = {
	"Nordics",   "DACH",	 "Benelux", "UK & Ireland",  "Iberia",
	"France",    "Italy",	 "Poland",  "North America", "APAC",
	"Sweden",    "Norway",	 "Denmark", "Finland",	     "Central Europe",
	"Stockholm", "Göteborg", "Malmö",   "Latin America", "Middle East",
};
static const char *const community_kinds[] = {
	"Meetup",  "Association",	  "Forum",    "Network", "User Group",
	"Society", "Chamber of Commerce", "Alliance",
};

static const char *const org_tags[] = {
	"priority",
	"nda-signed",
	"framework-agreement",
	"public-sector",
	"gdpr-dpa",
	"reseller",
	"emea",
	"apac",
	"americas",
	"at-risk",
	"upsell",
	"reference-customer",
	"iso-9001",
	"preferred-supplier",
};
static const char *const person_tags[] = {
	"decision-maker",    "newsletter",	"vip",	       "event-guest",
	"technical-contact", "billing-contact", "do-not-call", "alumni",
};
static const char *const org_notes[] = {
	"Framework agreement in place; renewal is negotiated every autumn.",
	"Prefers invoices by e-mail; a purchase order number is required on every invoice.",
	"Account is managed from the Stockholm office; escalations go to the regional manager.",
	"Asked for quarterly business reviews with usage figures.",
	"Price-sensitive; usually compares our offer against two competitors.",
	"Uses our analytics module across three sites; wants a single sign-on integration.",
	"Central procurement; all orders above EUR 10,000 need a signed quote.",
	"Long-standing customer since the early days. Good reference account.",
	"Payment terms 60 days; has been late twice this year.",
	"Main contact moved to a new role; relationship needs rebuilding.",
	"Strict security questionnaire required before any new contract.",
	"Seasonal business: most orders come in March and September.",
	"Wants training for new staff every quarter.",
	"Interested in the new service tier; follow up after the budget round.",
	"Ordering through the web shop only; no direct sales contact wanted.",
};
static const char *const person_notes[] = {
	"Prefers calls in the morning.",
	"Met at the trade fair; interested in the premium tier.",
	"Reports directly to the CFO.",
	"Best reached on mobile; rarely reads e-mail on Fridays.",
	"Former customer contact at another account.",
	"Speaks English and German; prefers written summaries after meetings.",
	"Signs off purchases up to EUR 25,000.",
	"Sceptical about the migration; wants references.",
	"On parental leave until next quarter.",
	"Very responsive; good champion for the renewal.",
};

/* Affiliation roles and plausible titles. */
struct role {
	const char *name;
	int weight;
	const char *const titles[6];
};
static const struct role roles[] = {
	{"executive",
	 6,
	 {"CEO", "COO", "Managing Director", "VP Sales", "Country Manager", "Founder"}},
	{"decision_maker",
	 12,
	 {"Head of Procurement", "Director of Operations", "Head of IT", "Plant Manager",
	  "Director of Logistics", "Head of Supply Chain"}},
	{"finance",
	 8,
	 {"CFO", "Financial Controller", "Accounts Payable Manager", "Finance Manager",
	  "Treasury Analyst", "Head of Finance"}},
	{"technical",
	 14,
	 {"CTO", "Lead Engineer", "IT Manager", "Solutions Architect", "Maintenance Engineer",
	  "Systems Administrator"}},
	{"purchasing",
	 12,
	 {"Purchasing Manager", "Buyer", "Category Manager", "Senior Buyer",
	  "Procurement Specialist", "Sourcing Manager"}},
	{"influencer",
	 8,
	 {"Senior Consultant", "Business Analyst", "Product Owner", "Quality Manager", "Team Lead",
	  "Sustainability Manager"}},
	{"champion",
	 7,
	 {"Project Manager", "Operations Manager", "Logistics Coordinator", "Service Manager",
	  "Programme Manager", "Customer Service Manager"}},
	{"blocker",
	 3,
	 {"Legal Counsel", "Information Security Officer", "Compliance Manager",
	  "Works Council Member", "Internal Auditor", "Data Protection Officer"}},
	{"user",
	 22,
	 {"Coordinator", "Analyst", "Technician", "Warehouse Supervisor", "Planner",
	  "Administrator"}},
	{"other",
	 8,
	 {"Assistant", "Office Manager", "Receptionist", "Intern", "Executive Assistant",
	  "Trainee"}},
};

/* Organization kinds: weight of the kind, activity factor (x10). */
enum { K_CLIENT, K_PROSPECT, K_SUPPLIER, K_SERVICE, K_PARTNER, K_COMPETITOR, K_COMMUNITY, K_BU };
static const char *const org_kinds[] = {"client",  "prospect",	 "supplier",  "service_provider",
					"partner", "competitor", "community", "business_unit"};
static const int org_kind_weight[] = {36, 24, 15, 7, 6, 3, 3, 6};
static const double org_kind_activity[] = {1.0, 0.55, 0.7, 0.45, 0.6, 0.04, 0.2, 0.3};
static const double org_kind_people[] = {1.0, 0.6, 0.8, 0.5, 0.6, 0.15, 0.3, 0.5};

static const char *const products[] = {
	"X200 conveyor line",	 "RapidScan 4 handhelds",
	"ERP Cloud licence",	 "service agreement",
	"spare parts kit",	 "Premium Support plan",
	"analytics module",	 "pallet racking",
	"industrial sensors",	 "hydraulic pumps",
	"label printers",	 "fleet telematics",
	"cold-chain containers", "packaging film",
	"safety equipment",	 "HVAC units",
	"LED retrofit",		 "warehouse robots",
	"data platform",	 "mobile app",
	"field service app",	 "Enterprise subscription",
	"sensor gateways",	 "control cabinets",
};
static const char *const colleagues[] = {
	"Anna Berg",  "Johan Lind",   "Maria Ek",     "Erik Sandström", "Sofia Holm",
	"Oskar Dahl", "Karin Åström", "Peter Nyberg", "Lina Fransson",	"David Wikström",
};

/* ------------------------------------------------------------ topics */

struct topic {
	const char *tag;
	const char *const *subjects;
	size_t nsubjects;
	const char *const *sentences;
	size_t nsentences;
	const char *const *sv_subjects;
	size_t nsv_subjects;
	const char *const *sv_sentences;
	size_t nsv_sentences;
};

static const char *const pricing_s[] = {
	"Updated price list for {year}",	 "Pricing for {product}",
	"Quote request: {n} units of {product}", "Revised quote {order}",
	"Volume discount on {product}",		 "Price adjustment from {date}",
};
static const char *const pricing_b[] = {
	"Please find attached our updated quote for {n} units of {product}.",
	"The list price is {amount}; with the volume discount this comes down by {pct}%.",
	"Our new price list takes effect on {date} and includes an index adjustment of {pct}%.",
	"{first} asked whether we can hold last year's prices until the end of {quarter}.",
	"We discussed the pricing model and the difference between the standard and premium tiers.",
	"They compared our offer with a competitor who is roughly {pct}% cheaper on paper.",
	"I explained that installation and the first year of support are included in the price.",
	"Could you confirm the quantities so that we can finalise the quote before {date}?",
	"The quote is valid for {days} days and assumes delivery to the {city} site.",
	"Freight costs are not included and will be invoiced separately at cost.",
	"They need the pricing broken down per site for their internal budget approval.",
	"We agreed to send a revised proposal with a three-year price lock.",
};
static const char *const renewal_s[] = {
	"Renewal of the {product} agreement", "Contract renewal {year}",
	"Your subscription renews on {date}", "Renewal discussion",
	"Upcoming renewal and licence count", "Renewal terms for {nextyear}",
};
static const char *const renewal_b[] = {
	"The current agreement for {product} expires on {date} and we would like to start the "
	"renewal.",
	"{first} confirmed they intend to renew but want to reduce the licence count by {n}.",
	"We proposed a three-year renewal at {amount} per year with a {pct}% loyalty discount.",
	"Usage has grown steadily over the past year, so an upgrade to the next tier makes sense.",
	"Their budget for {nextyear} is not yet approved; a decision is expected in {quarter}.",
	"Please return the signed renewal form before {date} to avoid any interruption of service.",
	"They asked whether the renewal can be aligned with the other agreements in the group.",
	"Auto-renewal is in the contract, but they want to review the terms with their legal team.",
	"I shared a usage report showing {n} active users across {site}.",
	"The renewal is at risk: the new CIO is reviewing all vendor contracts.",
	"We agreed to extend the current terms by {days} days while the renewal is finalised.",
};
static const char *const delay_s[] = {
	"Delivery delay on order {order}", "Revised delivery date for {product}",
	"Late shipment to {city}",	   "Order {order}: shipping update",
	"Backorder notification",	   "Where is our delivery?",
};
static const char *const delay_b[] = {
	"Unfortunately the delivery of order {order} will be delayed by about {days} days.",
	"The delay is caused by a component shortage at our sub-supplier.",
	"{first} called to say the goods have not arrived at the {city} warehouse.",
	"The new estimated delivery date is {date}; we will confirm as soon as the goods are "
	"shipped.",
	"We offered a partial delivery of {n} units this week and the rest by {date}.",
	"The carrier reported that the shipment is held in customs pending documentation.",
	"They stressed that further delays will stop their production line.",
	"Tracking shows the pallets left our warehouse on {weekday} and are in transit.",
	"We will cover the extra freight cost for express delivery as a goodwill gesture.",
	"Please update the order confirmation with the new dates and send it to purchasing.",
	"Their planner needs a firm date by {weekday} to reschedule the installation.",
};
static const char *const invoice_s[] = {
	"Invoice {invoice}",
	"Question about invoice {invoice}",
	"Payment reminder: {invoice}",
	"Credit note request",
	"Overdue payment",
	"Updated billing address",
};
static const char *const invoice_b[] = {
	"Please find attached invoice {invoice} for {amount}, due on {date}.",
	"Invoice {invoice} is now {days} days overdue; could you check the status of the payment?",
	"{first} pointed out that the invoice is missing their purchase order number.",
	"The amount on the invoice does not match the quote: we will issue a credit note.",
	"Their accounts payable team has moved to a new e-invoicing platform.",
	"Payment was made on {date} and should be visible in your account shortly.",
	"They asked us to split the invoice per cost centre from next month.",
	"We agreed to change the payment terms to 45 days from the next billing period.",
	"The billing address has changed; please update it before the next invoice run.",
	"A reminder fee was charged by mistake and will be removed.",
	"Finance confirmed that the invoice has been approved and scheduled for payment.",
};
static const char *const training_s[] = {
	"Training session for new users",
	"{product} training on {date}",
	"Admin training agenda",
	"Onsite training in {city}",
	"Training materials and recordings",
	"Webinar: getting started",
};
static const char *const training_b[] = {
	"We would like to book a training session for {n} new users of {product}.",
	"The training will take place on {date} at their {city} office, from 9:00 to 15:00.",
	"Attached is the agenda for the administrator training and the pre-reading material.",
	"{first} asked for the recordings of last week's webinar for colleagues who missed it.",
	"Participants gave the training an average score of 4.5 out of 5.",
	"They would prefer the training in the local language for the warehouse staff.",
	"We agreed on two half-day sessions instead of one full day.",
	"The certification exam can be taken online within {days} days after the course.",
	"Several participants asked for a follow-up session on reporting and dashboards.",
	"Please send the list of participants by {weekday} so that we can prepare accounts.",
};
static const char *const maintenance_s[] = {
	"Scheduled maintenance on {date}", "Service visit for {product}",
	"Maintenance window {quarter}",	   "Preventive maintenance report",
	"Firmware update {version}",	   "Annual inspection",
};
static const char *const maintenance_b[] = {
	"Our technician will perform the preventive maintenance on {date} between 8:00 and 12:00.",
	"The annual inspection of the {product} found two worn bearings that should be replaced.",
	"Please make sure the equipment is accessible and powered down before the visit.",
	"Firmware version {version} fixes the calibration issue reported in ticket {ticket}.",
	"The maintenance window is planned for {weekday} night to avoid disrupting production.",
	"{first} asked whether the service agreement covers the replacement parts.",
	"The service report is attached; all units passed the safety checks.",
	"We recommend replacing the filters every {n} operating hours.",
	"They want to move the service visit to the week after because of a stocktake.",
	"Downtime during the update should be less than thirty minutes.",
};
static const char *const complaint_s[] = {
	"Complaint regarding order {order}", "Damaged goods received",
	"Service quality concerns",	     "Escalation: repeated failures",
	"Unacceptable response time",	     "Formal complaint",
};
static const char *const complaint_b[] = {
	"{first} called to complain that {n} units arrived damaged.",
	"This is the third time this {quarter} that the delivery is incomplete.",
	"They are unhappy with the response time of our support team on ticket {ticket}.",
	"We apologised and promised a root-cause analysis by {date}.",
	"A replacement shipment has been arranged at no cost to the customer.",
	"They are asking for a price reduction of {pct}% as compensation.",
	"The issue has been escalated to our quality manager and the account director.",
	"Photos of the damaged packaging are attached for the insurance claim.",
	"If the problem continues, they will consider terminating the agreement.",
	"We agreed on a weekly status call until the problem is resolved.",
	"Their operations manager was very clear that this cannot happen again.",
};
static const char *const contract_s[] = {
	"Draft contract for review", "Contract amendment no. {n}", "Signed agreement",
	"Master services agreement", "Data processing agreement",  "Contract questions from legal",
};
static const char *const contract_b[] = {
	"Attached is the draft agreement with the changes we discussed marked in red.",
	"Their legal team has comments on the liability cap and the termination clause.",
	"The data processing agreement needs to be signed before we can start the pilot.",
	"{first} confirmed that the contract has been signed by both parties.",
	"The amendment adds {n} sites to the scope and extends the term to {date}.",
	"We cannot accept unlimited liability; our standard cap is twelve months of fees.",
	"Please use the e-signing link; it expires in {days} days.",
	"They want the governing law to be changed to that of their home country.",
	"The penalty clause for late delivery was reduced to {pct}% of the order value.",
	"The contract value is {amount} over three years.",
	"We will send a clean version once both sides have accepted the changes.",
};
static const char *const negotiation_s[] = {
	"Commercial terms", "Counter-proposal", "Negotiation follow-up",
	"Final offer",	    "Discount request", "Terms for the {product} deal",
};
static const char *const negotiation_b[] = {
	"They came back with a counter-proposal asking for a {pct}% discount and 90-day payment "
	"terms.",
	"We can offer {pct}% if they commit to a two-year term and a minimum volume of {n} units.",
	"{first} said the decision will be made by the steering group on {date}.",
	"Our final offer is {amount}, including installation and training.",
	"Procurement insisted on a price freeze; we proposed indexation capped at {pct}%.",
	"The negotiation is stuck on the service levels rather than the price.",
	"They are also talking to two other vendors and expect a decision in {quarter}.",
	"We agreed to split the difference on freight and extend the warranty by a year.",
	"I need approval from our sales director before going below this level.",
	"Both sides agreed to the terms in principle; legal will prepare the paperwork.",
};
static const char *const onboarding_s[] = {
	"Welcome to {product}",
	"Onboarding plan",
	"Kick-off meeting",
	"Getting started with {product}",
	"Project kick-off and next steps",
	"Access and accounts",
};
static const char *const onboarding_b[] = {
	"Welcome aboard! This message summarises the onboarding plan for the next {days} days.",
	"The kick-off meeting is scheduled for {date} with the project team from both sides.",
	"We have created {n} user accounts; the invitations were sent this morning.",
	"{first} will be the main contact for the rollout on their side.",
	"The first milestone is the data migration, planned for the week of {date}.",
	"Please share the list of sites and the preferred go-live sequence.",
	"Our customer success manager will run a health check after the first month.",
	"They asked for a single sign-on setup before users are invited.",
	"A project plan with responsibilities and dates is attached.",
};
static const char *const review_s[] = {
	"Quarterly business review {quarter}",
	"{quarter} review: agenda",
	"Account review {year}",
	"Usage report {quarter}",
	"Executive business review",
	"Annual review meeting",
};
static const char *const review_b[] = {
	"We walked through the usage figures for {quarter}: {n} active users, up {pct}% on last "
	"quarter.",
	"{first} presented their priorities for {nextyear}: cost control and automation.",
	"Support tickets are down and the average resolution time is under two days.",
	"They want to expand to {n} more sites if the pilot in {city} goes well.",
	"Action items: share the roadmap, propose a training plan and review the SLA report.",
	"Overall satisfaction is high, but reporting is still a pain point.",
	"Their spend with us this year is {amount}, slightly above budget.",
	"The next review is planned for {date}.",
	"We discussed the roadmap and the features planned for the next release.",
	"They asked for a benchmark against similar customers in their industry.",
};
static const char *const demo_s[] = {
	"Demo of {product}",	     "Product demo follow-up", "Introduction and demo request",
	"Pilot proposal for {city}", "Thank you for the demo", "Proof of concept",
};
static const char *const demo_b[] = {
	"Thank you for taking the time to see a demo of {product} today.",
	"{first} was particularly interested in the reporting and the mobile app.",
	"They currently use spreadsheets and an old in-house system that is no longer supported.",
	"We proposed a {days}-day pilot at the {city} site with {n} users.",
	"Next step: a technical session with their IT department on {weekday}.",
	"They asked for two customer references in the same industry.",
	"Budget exists for a project in {nextyear}, but the decision maker was not in the meeting.",
	"I will send the slides and a short summary of the pricing options.",
	"The demo went well; they want to see the integration with their ERP.",
};
static const char *const support_s[] = {
	"Support ticket {ticket}",  "Issue with {product}", "Error after the latest update",
	"Ticket {ticket} resolved", "Login problems",	    "Urgent: system down at {city} site",
};
static const char *const support_b[] = {
	"{first} reported that {product} stopped working after the update on {weekday}.",
	"Ticket {ticket} has been opened and assigned to second-line support.",
	"The root cause was an expired certificate; it has been renewed and the service restored.",
	"Several users cannot log in since the password policy changed.",
	"We need the log files from the affected machine to investigate further.",
	"A workaround is available until the fix is released in version {version}.",
	"The issue affected {n} users for about two hours.",
	"Please confirm that everything works as expected so that we can close the ticket.",
	"They asked for a post-incident report for their management.",
	"Our engineer will connect remotely on {date} at 10:00.",
};
static const char *const audit_s[] = {
	"Security questionnaire",   "Supplier audit on {date}", "ISO certification documents",
	"GDPR and data processing", "Compliance review {year}", "Penetration test results",
};
static const char *const audit_b[] = {
	"Attached is the completed security questionnaire with our ISO 27001 certificate.",
	"Their compliance team wants to audit our {city} facility on {date}.",
	"{first} asked where customer data is stored and who has access to it.",
	"We shared the summary of the latest penetration test; no critical findings.",
	"The sustainability report and code of conduct were requested as part of supplier "
	"approval.",
	"All sub-processors are listed in the data processing agreement, appendix 2.",
	"The audit found {n} minor deviations, all of which will be closed by {date}.",
	"They need a signed statement on conflict minerals before the next order.",
};
static const char *const forecast_s[] = {
	"Forecast for {quarter}",	  "Capacity planning {nextyear}", "Rolling forecast update",
	"Volume forecast and lead times", "Production plan {quarter}",	  "Stock levels",
};
static const char *const forecast_b[] = {
	"Our forecast for {quarter} is {n} units, about {pct}% higher than last quarter.",
	"Lead times are currently {days} days for standard items.",
	"{first} asked for a rolling twelve-month forecast to reserve capacity.",
	"Raw material prices are expected to rise, so early orders are recommended.",
	"Stock levels at the {city} warehouse are below the agreed safety stock.",
	"We will review the forecast together at the monthly planning meeting.",
	"They can increase capacity by {pct}% if we confirm volumes before {date}.",
	"The plant will be closed for maintenance for two weeks in July.",
};
static const char *const rfp_s[] = {
	"Request for proposal: {product}",
	"Tender {year}-{n}",
	"RFP questions",
	"Submission of our tender",
	"Clarification questions for the tender",
	"Tender results",
};
static const char *const rfp_b[] = {
	"The request for proposal covers {n} sites and a contract period of three years.",
	"Questions must be submitted before {date}; answers will be published to all bidders.",
	"{first} confirmed that our tender was received in time.",
	"The evaluation weights price at 40% and quality at 60%.",
	"We decided to bid together with a local partner for the installation work.",
	"Unfortunately the tender was awarded to another supplier; they scored higher on price.",
	"We were shortlisted and invited to present our solution on {date}.",
	"The total estimated value of the tender is {amount}.",
};
static const char *const partner_s[] = {
	"Partnership proposal", "Joint go-to-market plan", "Partner programme {year}",
	"Referral agreement",	"Co-marketing campaign",   "Partner certification",
};
static const char *const partner_b[] = {
	"We discussed a joint offer combining their installation services with our {product}.",
	"{first} proposed a co-marketing campaign targeting the {city} region in {quarter}.",
	"The referral fee would be {pct}% of first-year revenue.",
	"Two of their consultants will complete the partner certification by {date}.",
	"They have {n} customers who could benefit from the integration.",
	"We agreed to share leads through the partner portal from next month.",
	"A partner agreement draft will be sent for review.",
	"Joint webinar planned for {date}; they will handle the invitations.",
};
static const char *const event_s[] = {
	"Invitation: customer day {year}", "Trade fair in {city}",
	"Meeting at the conference",	   "Webinar registration",
	"Thank you for attending",	   "Roundtable on {product}",
};
static const char *const event_b[] = {
	"We would like to invite you to our customer day in {city} on {date}.",
	"{first} visited our stand at the trade fair and asked about {product}.",
	"About {n} guests attended the roundtable; the feedback was very positive.",
	"The recording and the slides are available on request.",
	"They would like to present their case study at the next user conference.",
	"Good conversation over lunch about their expansion plans for {nextyear}.",
	"Registration closes on {weekday}; please let us know how many will attend.",
	"We sponsored the evening reception and met several prospects from the region.",
};
static const char *const quality_s[] = {
	"Quality issue batch {n}", "Non-conformance report", "Deviation in delivered goods",
	"8D report request",	   "Quality follow-up",	     "Incoming inspection results",
};
static const char *const quality_b[] = {
	"Incoming inspection found {n} parts outside tolerance in the latest batch.",
	"Please send an 8D report with the root cause and corrective actions by {date}.",
	"{first} confirmed that the affected batch has been quarantined.",
	"The defect rate has risen to {pct}% this quarter, well above the agreed limit.",
	"We will sort the remaining stock on site at our own cost.",
	"The corrective actions look reasonable; we will verify with the next three deliveries.",
	"They asked for the material certificates for all deliveries since {date}.",
	"A joint quality review is planned at their plant in {city}.",
};
static const char *const integration_s[] = {
	"API integration with {product}", "ERP integration project",  "Data migration plan",
	"Single sign-on setup",		  "Integration test results", "Technical workshop",
};
static const char *const integration_b[] = {
	"Their IT team wants to integrate {product} with the ERP through the REST API.",
	"The test environment is ready and the API credentials were sent separately.",
	"{first} reported that {n} records failed during the test migration.",
	"Single sign-on with their identity provider is working in the test environment.",
	"Go-live for the integration is planned for {date}.",
	"We need a firewall opening for our service before the next test round.",
	"The technical workshop covered data mapping, error handling and monitoring.",
	"Performance is fine up to {n} transactions per minute in the load test.",
};
static const char *const internal_s[] = {
	"Account plan {nextyear}",  "Pipeline review {quarter}",
	"Internal: account status", "Budget planning {nextyear}",
	"Handover notes",	    "Team meeting notes",
};
static const char *const internal_b[] = {
	"Pipeline for {quarter} stands at {amount}, with three deals in the final stage.",
	"We need to assign a new account owner after the reorganisation.",
	"Targets for {nextyear} were discussed; growth of {pct}% is expected.",
	"Key risks: pricing pressure and a competitor offering longer payment terms.",
	"Handover to the new account manager is planned for {date}.",
	"{n} open opportunities need an updated close date in the CRM.",
	"We agreed to focus on renewals and upsell rather than new logos this quarter.",
	"Travel budget is frozen until the end of {quarter}.",
};
static const char *const intel_s[] = {
	"Competitor update",
	"Competitive intelligence {quarter}",
	"New pricing from competitor",
	"Competitor won the {city} deal",
	"Market notes",
};
static const char *const intel_b[] = {
	"They launched a new version with a cheaper entry tier, about {pct}% below ours.",
	"A customer told us they were offered a free first year by this competitor.",
	"They won the tender in {city} mainly on price.",
	"Their support is reported to be slow since the acquisition last year.",
	"They are hiring sales people in the Nordics, which suggests an expansion.",
	"Their new product does not yet support the integrations our customers need.",
};

/* Swedish text for some topics, used for part of the traffic with Swedish organizations. */
static const char *const sv_pricing_s[] = {"Prisförfrågan {product}", "Uppdaterad prislista {year}",
					   "Offert {order}"};
static const char *const sv_pricing_b[] = {
	"Bifogat finns vår uppdaterade offert på {n} enheter av {product}.",
	"Listpriset är {amount}; med volymrabatten blir det {pct}% lägre.",
	"{first} undrade om vi kan behålla förra årets priser till slutet av {quarter}.",
	"Offerten gäller i {days} dagar och förutsätter leverans till {city}.",
	"Frakt tillkommer och faktureras till självkostnadspris.",
	"Vi kom överens om att skicka ett reviderat förslag med prisgaranti på tre år.",
};
static const char *const sv_renewal_s[] = {"Förnyelse av avtalet", "Avtalsförnyelse {year}",
					   "Förlängning av licenser"};
static const char *const sv_renewal_b[] = {
	"Nuvarande avtal för {product} löper ut {date} och vi vill gärna börja förnyelsen.",
	"{first} bekräftade att de tänker förnya men vill minska antalet licenser med {n}.",
	"Vi föreslog ett treårsavtal till {amount} per år med {pct}% rabatt.",
	"Budgeten för {nextyear} är inte beslutad ännu; beslut väntas under {quarter}.",
	"Skicka gärna det signerade avtalet före {date} så att tjänsten inte avbryts.",
};
static const char *const sv_delay_s[] = {"Försenad leverans, order {order}", "Ny leveransdag",
					 "Restnotering"};
static const char *const sv_delay_b[] = {
	"Tyvärr blir leveransen av order {order} försenad med ungefär {days} dagar.",
	"Förseningen beror på komponentbrist hos vår underleverantör.",
	"{first} ringde och berättade att godset inte har kommit fram till lagret i {city}.",
	"Nytt beräknat leveransdatum är {date}; vi bekräftar så snart godset har skickats.",
	"Vi står för den extra fraktkostnaden för expressleverans.",
};
static const char *const sv_invoice_s[] = {"Faktura {invoice}", "Fråga om faktura {invoice}",
					   "Betalningspåminnelse"};
static const char *const sv_invoice_b[] = {
	"Bifogat finns faktura {invoice} på {amount} med förfallodag {date}.",
	"Fakturan är {days} dagar försenad; kan ni kontrollera betalningen?",
	"{first} påpekade att fakturan saknar deras inköpsordernummer.",
	"Beloppet stämmer inte med offerten, så vi skickar en kreditfaktura.",
	"Ekonomiavdelningen har godkänt fakturan och den betalas på {weekday}.",
};
static const char *const sv_training_s[] = {"Utbildning för nya användare",
					    "Utbildning i {product} den {date}"};
static const char *const sv_training_b[] = {
	"Vi vill boka en utbildning för {n} nya användare av {product}.",
	"Utbildningen hålls den {date} på kontoret i {city}, klockan 9.00–15.00.",
	"{first} bad om inspelningen av förra veckans webbinarium.",
	"Deltagarna gav utbildningen betyget 4,5 av 5.",
};
static const char *const sv_maintenance_s[] = {"Service den {date}", "Planerat underhåll {quarter}",
					       "Årlig besiktning"};
static const char *const sv_maintenance_b[] = {
	"Vår tekniker utför det förebyggande underhållet den {date} mellan 8.00 och 12.00.",
	"Vid besiktningen hittades två slitna lager som bör bytas.",
	"Se till att utrustningen är åtkomlig och avstängd före besöket.",
	"Servicerapporten är bifogad; alla enheter klarade säkerhetskontrollen.",
};
static const char *const sv_complaint_s[] = {"Reklamation order {order}", "Skadat gods",
					     "Klagomål på svarstider"};
static const char *const sv_complaint_b[] = {
	"{first} ringde och klagade på att {n} enheter kom fram skadade.",
	"Det är tredje gången det här kvartalet som leveransen är ofullständig.",
	"Vi bad om ursäkt och lovade en orsaksanalys senast {date}.",
	"En ersättningsleverans skickas utan kostnad för kunden.",
	"Ärendet har eskalerats till vår kvalitetschef.",
};
static const char *const sv_contract_s[] = {"Avtalsutkast för granskning", "Undertecknat avtal",
					    "Personuppgiftsbiträdesavtal"};
static const char *const sv_contract_b[] = {
	"Bifogat finns avtalsutkastet med de ändringar vi diskuterade.",
	"Deras jurister har synpunkter på ansvarsbegränsningen och uppsägningstiden.",
	"{first} bekräftade att avtalet är undertecknat av båda parter.",
	"Avtalets värde är {amount} över tre år.",
};

#define TOPIC(tag, s, b)                                                                           \
	{                                                                                          \
		tag, s, N_(s), b, N_(b), NULL, 0, NULL, 0                                          \
	}
#define TOPIC_SV(tag, s, b, svs, svb)                                                              \
	{                                                                                          \
		tag, s, N_(s), b, N_(b), svs, N_(svs), svb, N_(svb)                                \
	}
enum {
	T_PRICING,
	T_RENEWAL,
	T_DELAY,
	T_INVOICE,
	T_TRAINING,
	T_MAINT,
	T_COMPLAINT,
	T_CONTRACT,
	T_NEGOTIATION,
	T_ONBOARDING,
	T_REVIEW,
	T_DEMO,
	T_SUPPORT,
	T_AUDIT,
	T_FORECAST,
	T_RFP,
	T_PARTNER,
	T_EVENT,
	T_QUALITY,
	T_INTEGRATION,
	T_INTERNAL,
	T_INTEL,
	T_COUNT
};
static const struct topic topics[T_COUNT] = {
	TOPIC_SV("pricing", pricing_s, pricing_b, sv_pricing_s, sv_pricing_b),
	TOPIC_SV("renewal", renewal_s, renewal_b, sv_renewal_s, sv_renewal_b),
	TOPIC_SV("delivery", delay_s, delay_b, sv_delay_s, sv_delay_b),
	TOPIC_SV("billing", invoice_s, invoice_b, sv_invoice_s, sv_invoice_b),
	TOPIC_SV("training", training_s, training_b, sv_training_s, sv_training_b),
	TOPIC_SV("maintenance", maintenance_s, maintenance_b, sv_maintenance_s, sv_maintenance_b),
	TOPIC_SV("complaint", complaint_s, complaint_b, sv_complaint_s, sv_complaint_b),
	TOPIC_SV("contract", contract_s, contract_b, sv_contract_s, sv_contract_b),
	TOPIC("negotiation", negotiation_s, negotiation_b),
	TOPIC("onboarding", onboarding_s, onboarding_b),
	TOPIC("qbr", review_s, review_b),
	TOPIC("demo", demo_s, demo_b),
	TOPIC("support", support_s, support_b),
	TOPIC("compliance", audit_s, audit_b),
	TOPIC("forecast", forecast_s, forecast_b),
	TOPIC("tender", rfp_s, rfp_b),
	TOPIC("partnership", partner_s, partner_b),
	TOPIC("event", event_s, event_b),
	TOPIC("quality", quality_s, quality_b),
	TOPIC("integration", integration_s, integration_b),
	TOPIC("internal", internal_s, internal_b),
	TOPIC("competition", intel_s, intel_b),
};

/* Which topics each kind of organization talks about, with weights. */
static const int topic_weights[8][T_COUNT] = {
	/*            pri ren del inv tra mnt cmp con neg onb rev dem sup aud fct rfp prt evt qua
	   int itn intel */
	[K_CLIENT] = {10, 10, 8, 10, 7, 8, 6, 5, 4, 3, 7, 1, 10, 3, 2, 1, 0, 3, 1, 5, 2, 0},
	[K_PROSPECT] = {14, 0, 0, 0, 1, 0, 0, 4, 10, 1, 0, 18, 0, 3, 0, 8, 0, 6, 0, 3, 4, 0},
	[K_SUPPLIER] = {10, 3, 14, 12, 1, 3, 4, 6, 8, 0, 2, 1, 1, 5, 12, 1, 0, 1, 10, 1, 1, 0},
	[K_SERVICE] = {6, 6, 2, 12, 2, 12, 3, 8, 4, 2, 3, 1, 6, 3, 1, 1, 0, 1, 1, 4, 2, 0},
	[K_PARTNER] = {4, 3, 1, 4, 6, 1, 1, 6, 3, 2, 4, 3, 1, 1, 1, 2, 16, 8, 0, 5, 2, 1},
	[K_COMPETITOR] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 3, 0, 0, 1, 16},
	[K_COMMUNITY] = {0, 1, 0, 2, 2, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 3, 16, 0, 0, 1, 0},
	[K_BU] = {2, 1, 1, 2, 2, 0, 1, 1, 0, 1, 4, 0, 1, 1, 6, 0, 0, 2, 0, 1, 16, 1},
};

static const char *const generic_b[] = {
	"Let me know if you have any questions.",
	"I have copied {me_first} for visibility.",
	"We can discuss this further on our call next {weekday}.",
	"Thanks again for your time today.",
	"I will follow up by the end of the week.",
	"Please forward this to the right person if I have misunderstood.",
	"Action: {me_first} to send a written summary and update the opportunity.",
	"Follow-up meeting booked for {date}.",
	"{first} will check internally and come back to us.",
	"Everything else is on track.",
	"Apologies for the late reply; it has been a busy week.",
	"See the attached document for details.",
};
static const char *const sv_generic_b[] = {
	"Hör av dig om du har några frågor.",
	"Jag återkommer i slutet av veckan.",
	"Vi kan ta det vidare på vårt möte på {weekday}.",
	"Tack för ett bra möte i dag.",
	"{first} kollar internt och återkommer.",
};

static const char *const months_en[] = {"January",   "February", "March",    "April",
					"May",	     "June",	 "July",     "August",
					"September", "October",	 "November", "December"};
static const char *const months_sv[] = {"januari",   "februari", "mars",     "april",
					"maj",	     "juni",	 "juli",     "augusti",
					"september", "oktober",	 "november", "december"};
static const char *const weekdays_en[] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday"};
static const char *const weekdays_sv[] = {"måndag", "tisdag", "onsdag", "torsdag", "fredag"};

/* Interaction kinds, directions, channels. */
enum { I_MEETING, I_CALL, I_EMAIL, I_MESSAGE, I_VISIT, I_EVENT, I_NOTE };
static const char *const ikinds[] = {"meeting", "call",	 "email", "message",
				     "visit",	"event", "note"};
static const int ikind_weight[] = {14, 20, 38, 10, 4, 4, 10};
static const char *const call_channels[] = {"phone", "phone", "phone", "teams", "teams", "zoom"};
static const char *const meeting_channels[] = {"in person", "in person", "teams",
					       "teams",	    "zoom",	 "google meet"};
static const char *const message_channels[] = {"slack", "linkedin", "whatsapp", "sms",
					       "teams chat"};
static const char *const event_channels[] = {"conference", "webinar", "trade fair",
					     "customer event"};
static const char *const itags[] = {"follow-up", "urgent", "escalated",
				    "decision",	 "budget", "risk"};

/* ------------------------------------------------------------ transliteration */

static const struct {
	const char *utf8;
	const char *ascii;
} translit[] = {
	{"å", "a"}, {"ä", "a"}, {"ö", "o"}, {"ø", "o"}, {"æ", "ae"}, {"é", "e"},  {"è", "e"},
	{"ê", "e"}, {"ë", "e"}, {"á", "a"}, {"à", "a"}, {"â", "a"},  {"ã", "a"},  {"í", "i"},
	{"ì", "i"}, {"ï", "i"}, {"î", "i"}, {"ó", "o"}, {"ò", "o"},  {"ô", "o"},  {"õ", "o"},
	{"ú", "u"}, {"ù", "u"}, {"û", "u"}, {"ü", "u"}, {"ñ", "n"},  {"ç", "c"},  {"ß", "ss"},
	{"ł", "l"}, {"ś", "s"}, {"ć", "c"}, {"ń", "n"}, {"ź", "z"},  {"ż", "z"},  {"ą", "a"},
	{"ę", "e"}, {"Å", "a"}, {"Ä", "a"}, {"Ö", "o"}, {"Ø", "o"},  {"Æ", "ae"}, {"É", "e"},
	{"Í", "i"}, {"Ó", "o"}, {"Ú", "u"}, {"Ü", "u"}, {"Ñ", "n"},  {"Ł", "l"},  {"Ś", "s"},
	{"Ż", "z"}, {"Ç", "c"},
};

/* Lower-case ASCII letters and digits of s, for host names and mailbox names. */
static void slugify(struct sb *b, const char *s, int keep_dots)
{
	while (*s) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x80) {
			if (c >= 'A' && c <= 'Z')
				sb_putn(b, (const char[]){(char)(c - 'A' + 'a')}, 1);
			else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
				sb_putn(b, s, 1);
			else if (keep_dots && c == '.' && b->len && b->p[b->len - 1] != '.')
				sb_putn(b, s, 1);
			s++;
			continue;
		}
		size_t i;
		for (i = 0; i < N_(translit); i++) {
			size_t n = strlen(translit[i].utf8);
			if (strncmp(s, translit[i].utf8, n) == 0) {
				sb_puts(b, translit[i].ascii);
				s += n;
				break;
			}
		}
		if (i == N_(translit)) { /* unknown: skip the whole UTF-8 sequence */
			s++;
			while ((*s & 0xC0) == 0x80)
				s++;
		}
	}
}

/* ------------------------------------------------------------ options */

struct opts {
	const char *db;
	uint64_t seed;
	long orgs, people, affiliations, interactions, years, owner;
	int64_t today; /* days since epoch */
};

static long parse_long(const char *name, const char *v, long min)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || *end || end == v || n < min)
		die("bad value for %s: '%s'", name, v);
	return n;
}

static void usage(int status)
{
	fputs("usage: bench-gen --db FILE [--seed N] [--orgs N] [--people N] [--affiliations N]\n"
	      "                 [--interactions N] [--years N] [--owner-id N] [--today "
	      "YYYY-MM-DD]\n",
	      status ? stderr : stdout);
	exit(status);
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	o->db = NULL;
	o->seed = 42;
	o->orgs = 10000;
	o->people = 50000;
	o->affiliations = 60000;
	o->interactions = 500000;
	o->years = 3;
	o->owner = 1;
	o->today = floor_div((int64_t)time(NULL), 86400);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			usage(0);
		if (i + 1 >= argc)
			usage(2);
		const char *v = argv[++i];
		if (!strcmp(a, "--db"))
			o->db = v;
		else if (!strcmp(a, "--seed"))
			o->seed = (uint64_t)parse_long(a, v, 0);
		else if (!strcmp(a, "--orgs"))
			o->orgs = parse_long(a, v, 1);
		else if (!strcmp(a, "--people"))
			o->people = parse_long(a, v, 0);
		else if (!strcmp(a, "--affiliations"))
			o->affiliations = parse_long(a, v, 0);
		else if (!strcmp(a, "--interactions"))
			o->interactions = parse_long(a, v, 0);
		else if (!strcmp(a, "--years"))
			o->years = parse_long(a, v, 1);
		else if (!strcmp(a, "--owner-id"))
			o->owner = parse_long(a, v, 1);
		else if (!strcmp(a, "--today")) {
			int y, m, d;
			char tail;
			if (sscanf(v, "%d-%d-%d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 ||
			    d < 1 || d > 31)
				die("bad value for --today: '%s'", v);
			o->today = days_from_civil(y, (unsigned)m, (unsigned)d);
		} else
			usage(2);
	}
	if (!o->db)
		usage(2);
	if (o->people == 0 && o->affiliations > 0) {
		fprintf(stderr, "bench-gen: no people, so no affiliations\n");
		o->affiliations = 0;
	}
	if (o->years > 50)
		die("--years: at most 50");
	if (o->orgs > 50000000 || o->people > 100000000 || o->interactions > 1000000000)
		die("sizes too large");
}

/* ------------------------------------------------------------ sqlite helpers */

static sqlite3 *db;

static void exec(const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		die("%s: %s", sql, err ? err : sqlite3_errmsg(db));
}

static sqlite3_stmt *prepare(const char *sql)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		die("prepare: %s: %s", sqlite3_errmsg(db), sql);
	return st;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	int rc = s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
	if (rc != SQLITE_OK)
		die("bind: %s", sqlite3_errmsg(db));
}

static void bind_int(sqlite3_stmt *st, int i, int64_t v)
{
	if (sqlite3_bind_int64(st, i, v) != SQLITE_OK)
		die("bind: %s", sqlite3_errmsg(db));
}

static void bind_id(sqlite3_stmt *st, int i, int64_t v)
{
	if ((v ? sqlite3_bind_int64(st, i, v) : sqlite3_bind_null(st, i)) != SQLITE_OK)
		die("bind: %s", sqlite3_errmsg(db));
}

static int64_t insert(sqlite3_stmt *st)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		die("insert: %s", sqlite3_errmsg(db));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return sqlite3_last_insert_rowid(db);
}

static int64_t query_int(const char *sql)
{
	sqlite3_stmt *st = prepare(sql);
	int64_t v = 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/*
 * The server's writer runs the statements of store_batch_sql before each
 * commit (they bring the full-text indexes up to date with the rows the
 * batch changed); the generator runs them once, over everything it added.
 */
static void run_batch_sql(void)
{
	sqlite3_stmt *q;

	if (sqlite3_prepare_v2(db, "SELECT sql FROM store_batch_sql ORDER BY id", -1, &q,
			       NULL) != SQLITE_OK)
		return;		/* a schema that indexes row by row */
	exec("BEGIN");
	while (sqlite3_step(q) == SQLITE_ROW)
		exec((const char *)sqlite3_column_text(q, 0));
	exec("COMMIT");
	sqlite3_finalize(q);
}

/* Commits every `every` rows to keep transactions large but bounded. */
static void maybe_commit(long i, long every)
{
	if (i > 0 && i % every == 0) {
		exec("COMMIT");
		exec("BEGIN");
	}
}

/*
 * Rows go first to a TEMP staging table and then, STAGE_BATCH at a time, into
 * the real table with one INSERT ... SELECT, ids given explicitly. The schema's
 * FTS triggers still fill the full-text index, but FTS5 flushes its pending
 * terms at each statement's savepoint: one statement per row would write one
 * index segment per row and spend most of its time merging them.
 */
#define STAGE_BATCH 10000

struct stage {
	sqlite3_stmt *ins, *move, *clear;
	int64_t next_id;
	long pending, total;
};

/* cols lists the columns (the last one "id"); values the VALUES (...) text whose last
 * parameter, numbered idparam, is the id. */
static void stage_open(struct stage *sg, const char *table, const char *cols, const char *values,
		       int idparam)
{
	struct sb sql = {0};
	sb_reset(&sql);
	sb_printf(&sql, "DROP TABLE IF EXISTS temp.stage_%s", table);
	exec(sql.p);
	sb_reset(&sql);
	sb_printf(&sql, "CREATE TEMP TABLE stage_%s AS SELECT %s FROM main.%s WHERE 0", table, cols,
		  table);
	exec(sql.p);
	sb_reset(&sql);
	sb_printf(&sql, "INSERT INTO temp.stage_%s (%s) VALUES %s", table, cols, values);
	sg->ins = prepare(sql.p);
	if (sqlite3_bind_parameter_count(sg->ins) != idparam)
		die("stage %s: id must be the last parameter", table);
	sb_reset(&sql);
	sb_printf(&sql, "INSERT INTO main.%s (%s) SELECT %s FROM temp.stage_%s ORDER BY id", table,
		  cols, cols, table);
	sg->move = prepare(sql.p);
	sb_reset(&sql);
	sb_printf(&sql, "DELETE FROM temp.stage_%s", table);
	sg->clear = prepare(sql.p);
	sb_reset(&sql);
	sb_printf(&sql, "SELECT coalesce(max(id), 0) + 1 FROM main.%s", table);
	sg->next_id = query_int(sql.p);
	sg->pending = sg->total = 0;
	free(sql.p);
}

static void stage_flush(struct stage *sg)
{
	if (!sg->pending)
		return;
	if (sqlite3_step(sg->move) != SQLITE_DONE)
		die("insert: %s", sqlite3_errmsg(db));
	sqlite3_reset(sg->move);
	if (sqlite3_step(sg->clear) != SQLITE_DONE)
		die("stage: %s", sqlite3_errmsg(db));
	sqlite3_reset(sg->clear);
	sg->pending = 0;
}

/* Binds the id (the last parameter), queues the row and returns its id. */
static int64_t stage_row(struct stage *sg)
{
	int64_t id = sg->next_id++;
	bind_int(sg->ins, sqlite3_bind_parameter_count(sg->ins), id);
	insert(sg->ins);
	sg->total++;
	if (++sg->pending >= STAGE_BATCH) {
		stage_flush(sg);
		if (sg->total % (10 * STAGE_BATCH) == 0) {
			exec("COMMIT");
			exec("BEGIN");
		}
	}
	return id;
}

static void stage_close(struct stage *sg)
{
	stage_flush(sg);
	sqlite3_finalize(sg->ins);
	sqlite3_finalize(sg->move);
	sqlite3_finalize(sg->clear);
}

/* ------------------------------------------------------------ the data set */

struct org {
	int64_t id;
	int kind;
	int country;
	int city;
	const char *name;   /* owned */
	const char *domain; /* owned; NULL if none */
	double activity;
};

struct person {
	int64_t id;
	const char *given, *family; /* static strings (either may be NULL) */
	long home;		    /* org index or -1 */
};

static struct opts O;
static struct org *orgs;
static struct person *people;
static char now_str[24];
static double t0;
static long busiest_idx, busiest_count;

static void tags_json(struct sb *b, const char *const *pool, size_t n, int count)
{
	sb_reset(b);
	sb_puts(b, "[");
	int used = 0;
	uint64_t seen = 0;
	for (int k = 0; k < count && k < 8; k++) {
		uint32_t i = rnd_below((uint32_t)n);
		if (seen & (1ULL << i))
			continue;
		seen |= 1ULL << i;
		sb_printf(b, "%s\"%s\"", used++ ? "," : "", pool[i]);
	}
	sb_puts(b, "]");
}

static void gen_orgs(void)
{
	rng_seed(O.seed, 1);
	long n = O.orgs;
	orgs = xcalloc((size_t)n, sizeof *orgs);

	/* Activity rank: a random permutation; rank r gets weight 1/(r+10) (Zipf-like). */
	long *rank = xcalloc((size_t)n, sizeof *rank);
	for (long i = 0; i < n; i++)
		rank[i] = i;
	for (long i = n - 1; i > 0; i--) {
		long j = (long)rnd_below((uint32_t)(i + 1));
		long t = rank[i];
		rank[i] = rank[j];
		rank[j] = t;
	}

	int cweights[N_(countries)];
	for (size_t i = 0; i < N_(countries); i++)
		cweights[i] = countries[i].weight;

	long *bus = xcalloc((size_t)n, sizeof *bus); /* indices of business units */
	int *depth = xcalloc((size_t)n, sizeof *depth);
	long nbus = 0;

	struct stage sg;
	stage_open(
		&sg, "organizations",
		"created_at, updated_at, version, owner_id, tags, custom, name, kind, parent_id, "
		"tier, industry, website, email, phone, country, city, notes, id",
		"(?1, ?1, 1, ?2, ?3, '{}', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
		15);
	sqlite3_stmt *st = sg.ins;
	struct sb name = {0}, dom = {0}, web = {0}, mail = {0}, phone = {0}, tags = {0};
	exec("BEGIN");
	for (long i = 0; i < n; i++) {
		struct org *o = &orgs[i];
		int kind = pick_weighted(org_kind_weight, (int)N_(org_kind_weight));
		o->kind = kind;
		o->country = pick_weighted(cweights, (int)N_(countries));
		const struct country *c = &countries[o->country];
		o->city = (int)rnd_below((uint32_t)c->ncities);
		o->activity = org_kind_activity[kind] / (double)(rank[i] + 10);
		double pct = (double)rank[i] / (double)n;

		const char *industry = NULL, *tier = NULL, *notes = NULL;
		int64_t parent = 0;
		int has_web = 1, has_mail = 1;
		sb_reset(&name);
		sb_reset(&dom);
		if (kind == K_BU) {
			has_web = 0;
			if (nbus == 0 || chance(0.04)) {
				sb_printf(&name, "%s %s", PICK(name_prefixes),
					  chance(0.5) ? "Group" : "Holding");
				depth[i] = 0;
			} else {
				long p;
				int tries = 0;
				do
					p = bus[rnd_below((uint32_t)nbus)];
				while (depth[p] >= 4 && ++tries < 8);
				if (depth[p] >= 4)
					p = bus[0];
				parent = orgs[p].id;
				depth[i] = depth[p] + 1;
				sb_printf(&name, "%s %s", PICK(bu_functions), PICK(bu_regions));
			}
			bus[nbus++] = i;
			has_mail = chance(0.3);
			slugify(&dom, bus[0] == i ? name.p : orgs[bus[0]].name, 0);
			sb_printf(&dom, ".%s", c->tld);
		} else if (kind == K_COMMUNITY) {
			const struct industry *ind = &PICK(industries);
			industry = ind->name;
			sb_printf(&name, "%s %s %s", c->cities[o->city], ind->words[rnd_below(4)],
				  PICK(community_kinds));
			slugify(&dom, name.p, 0);
			sb_puts(&dom, ".org");
		} else {
			const struct industry *ind =
				kind == K_SERVICE ? &PICK(service_industries) : &PICK(industries);
			industry = ind->name;
			const char *word = ind->words[rnd_below(4)];
			int style = (int)rnd_below(10);
			if (style < 6)
				sb_printf(&name, "%s %s", PICK(name_prefixes), word);
			else if (style < 8) {
				const struct culture *cu = &cultures[c->culture];
				sb_printf(&name, "%s & %s",
					  cu->family[rnd_below((uint32_t)cu->nfamily)],
					  chance(0.5)
						  ? "Partners"
						  : cu->family[rnd_below((uint32_t)cu->nfamily)]);
			} else if (style < 9)
				sb_printf(&name, "%s%s %s", PICK(name_prefixes),
					  chance(0.5) ? "tech" : "line", word);
			else
				sb_printf(&name, "%s %s %s", c->cities[o->city],
					  PICK(name_prefixes), word);
			slugify(&dom, name.p, 0);
			sb_printf(&dom, ".%s", c->tld);
			if (chance(0.85))
				sb_printf(&name, " %s", c->suffix);
			has_web = chance(0.9);
			has_mail = chance(0.8);
			if (kind == K_CLIENT)
				tier = pct < 0.03    ? "strategic"
				       : pct < 0.15  ? "key"
				       : chance(0.6) ? "standard"
						     : "occasional";
			else if (kind == K_SUPPLIER || kind == K_SERVICE)
				tier = chance(0.6) ? (pct < 0.05  ? "strategic"
						      : pct < 0.2 ? "key"
								  : "standard")
						   : NULL;
			else if (kind == K_PROSPECT || kind == K_PARTNER)
				tier = chance(0.4) ? (chance(0.3) ? "key" : "standard") : NULL;
		}
		o->name = strdup(name.p);
		o->domain = strdup(dom.p);
		if (!o->name || !o->domain)
			die("out of memory");

		sb_reset(&web);
		if (has_web)
			sb_printf(&web, "https://www.%s/", dom.p);
		sb_reset(&mail);
		if (has_mail) {
			static const char *const boxes[] = {"info",  "contact", "hello",
							    "sales", "office",	"kontakt"};
			sb_printf(&mail, "%s@%s", PICK(boxes), dom.p);
		}
		sb_reset(&phone);
		if (chance(0.85))
			sb_printf(&phone, "+%s %d %03d %04d", c->dial, rnd_range(1, 99),
				  rnd_range(100, 999), rnd_range(0, 9999));
		if (kind != K_BU && chance(0.25))
			notes = PICK(org_notes);
		if (chance(0.3))
			tags_json(&tags, org_tags, N_(org_tags), rnd_range(1, 2));
		else {
			sb_reset(&tags);
			sb_puts(&tags, "[]");
		}

		bind_text(st, 1, now_str);
		bind_int(st, 2, O.owner);
		bind_text(st, 3, tags.p);
		bind_text(st, 4, name.p);
		bind_text(st, 5, org_kinds[kind]);
		bind_id(st, 6, parent);
		bind_text(st, 7, tier);
		bind_text(st, 8, industry);
		bind_text(st, 9, has_web ? web.p : NULL);
		bind_text(st, 10, has_mail ? mail.p : NULL);
		bind_text(st, 11, phone.len ? phone.p : NULL);
		bind_text(st, 12, c->code);
		bind_text(st, 13, c->cities[o->city]);
		bind_text(st, 14, notes);
		o->id = stage_row(&sg);
	}
	stage_close(&sg);
	exec("COMMIT");
	free(name.p);
	free(dom.p);
	free(web.p);
	free(mail.p);
	free(phone.p);
	free(tags.p);
	free(rank);
	free(bus);
	free(depth);
	printf("organizations: %ld (%.1f s)\n", n, now_sec() - t0);
	fflush(stdout);
}

/* Cumulative table over organizations of weight f(org). */
static double *org_cum(double (*f)(const struct org *))
{
	double *cum = xcalloc((size_t)O.orgs, sizeof *cum);
	double acc = 0;
	for (long i = 0; i < O.orgs; i++) {
		acc += f(&orgs[i]);
		cum[i] = acc;
	}
	return cum;
}

static double people_weight(const struct org *o)
{
	/* Flatter than activity: big accounts have dozens of contacts, small ones one or two. */
	return org_kind_people[o->kind] * (1.0 + 2000.0 * o->activity / org_kind_activity[o->kind]);
}

static double activity_weight(const struct org *o)
{
	return o->activity;
}

static void person_email(struct sb *b, const struct person *p, const char *domain, int style)
{
	struct sb g = {0}, f = {0};
	sb_reset(&g);
	sb_reset(&f);
	if (p->given)
		slugify(&g, p->given, 0);
	if (p->family)
		slugify(&f, p->family, 0);
	if (!g.len) {
		sb_puts(&g, f.p);
		sb_reset(&f);
	}
	if (!f.len || style == 0)
		sb_printf(b, "%s%s%s@%s", g.p, f.len ? "." : "", f.p, domain);
	else if (style == 1)
		sb_printf(b, "%c%s@%s", g.p[0], f.p, domain);
	else
		sb_printf(b, "%s@%s", g.p, domain);
	free(g.p);
	free(f.p);
}

static void gen_people(long *home)
{
	rng_seed(O.seed, 3);
	long n = O.people;
	people = xcalloc((size_t)(n ? n : 1), sizeof *people);
	static const char *const providers[] = {"gmail.com",  "outlook.com", "hotmail.com",
						"icloud.com", "proton.me",   "yahoo.com"};
	struct stage sg;
	stage_open(
		&sg, "people",
		"created_at, updated_at, version, owner_id, tags, custom, given_name, family_name, "
		"emails, phones, language, notes, id",
		"(?1, ?1, 1, ?2, ?3, '{}', ?4, ?5, ?6, ?7, ?8, ?9, ?10)", 10);
	sqlite3_stmt *st = sg.ins;
	struct sb emails = {0}, phones = {0}, tags = {0};
	exec("BEGIN");
	for (long i = 0; i < n; i++) {
		struct person *p = &people[i];
		p->home = home[i];
		const struct org *o = p->home >= 0 ? &orgs[p->home] : NULL;
		const struct country *c = o ? &countries[o->country] : &PICK(countries);
		int cu = chance(0.7) ? c->culture : (int)rnd_below((uint32_t)N_(cultures));
		const struct culture *cl = &cultures[cu];
		p->given = chance(0.01) ? NULL : cl->given[rnd_below((uint32_t)cl->ngiven)];
		p->family = (p->given && chance(0.01))
				    ? NULL
				    : cl->family[rnd_below((uint32_t)cl->nfamily)];

		sb_reset(&emails);
		sb_puts(&emails, "[\"");
		if (o && o->domain[0])
			person_email(&emails, p, o->domain,
				     pick_weighted((const int[]){7, 2, 1}, 3));
		else
			person_email(&emails, p, PICK(providers), 0);
		sb_puts(&emails, "\"");
		if (chance(0.12)) {
			sb_puts(&emails, ",\"");
			person_email(&emails, p, PICK(providers), 0);
			sb_puts(&emails, "\"");
		}
		sb_puts(&emails, "]");

		sb_reset(&phones);
		sb_puts(&phones, "[");
		int nph = pick_weighted((const int[]){3, 5, 2}, 3);
		for (int k = 0; k < nph; k++)
			sb_printf(&phones, "%s\"+%s %d %03d %02d %02d\"", k ? "," : "", c->dial,
				  k == 0 && chance(0.6) ? rnd_range(70, 79) : rnd_range(1, 99),
				  rnd_range(100, 999), rnd_range(0, 99), rnd_range(0, 99));
		sb_puts(&phones, "]");

		if (chance(0.1))
			tags_json(&tags, person_tags, N_(person_tags), rnd_range(1, 2));
		else {
			sb_reset(&tags);
			sb_puts(&tags, "[]");
		}
		bind_text(st, 1, now_str);
		bind_int(st, 2, O.owner);
		bind_text(st, 3, tags.p);
		bind_text(st, 4, p->given);
		bind_text(st, 5, p->family);
		bind_text(st, 6, emails.p);
		bind_text(st, 7, phones.p);
		bind_text(st, 8, chance(0.9) ? cl->lang : NULL);
		bind_text(st, 9, chance(0.08) ? PICK(person_notes) : NULL);
		p->id = stage_row(&sg);
	}
	stage_close(&sg);
	exec("COMMIT");
	free(emails.p);
	free(phones.p);
	free(tags.p);
	printf("people: %ld (%.1f s)\n", n, now_sec() - t0);
	fflush(stdout);
}

/* Current contacts per organization (CSR layout), for interactions.person_ids. */
static long *contact_off, *contact_list;

static void gen_affiliations(const long *home)
{
	rng_seed(O.seed, 4);
	long np = O.people, na = O.affiliations;
	double *cum = org_cum(people_weight);
	long nprimary = na < np ? na : np;
	long *aff_org = xcalloc((size_t)(na ? na : 1), sizeof *aff_org);
	long *aff_person = xcalloc((size_t)(na ? na : 1), sizeof *aff_person);
	char *aff_current = xcalloc((size_t)(na ? na : 1), 1);
	int role_w[N_(roles)];
	for (size_t i = 0; i < N_(roles); i++)
		role_w[i] = roles[i].weight;

	sqlite3_stmt *st = prepare(
		"INSERT INTO affiliations (created_at, updated_at, version, owner_id, tags, "
		"custom, "
		"person_id, organization_id, role, title, is_primary, started_on, ended_on) "
		"VALUES (?1, ?1, 1, ?2, '[]', '{}', ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
	exec("BEGIN");
	for (long i = 0; i < na; i++) {
		long p, o;
		int primary = i < nprimary;
		if (primary) {
			p = i;
			o = home[i];
		} else {
			p = (long)rnd_below((uint32_t)np);
			o = pick_cum(cum, O.orgs);
		}
		const struct role *r = &roles[pick_weighted(role_w, (int)N_(roles))];
		int64_t start = O.today - rnd_range(30, 15 * 365);
		int64_t end = 0;
		if (!primary && chance(0.5)) {
			end = start + rnd_range(90, 6 * 365);
			if (end >= O.today)
				end = O.today - rnd_range(1, 60);
			if (end < start)
				end = start;
		}
		char sdate[16], edate[16];
		fmt_date(sdate, start);
		fmt_date(edate, end);
		aff_org[i] = o;
		aff_person[i] = p;
		aff_current[i] = end == 0;
		bind_text(st, 1, now_str);
		bind_int(st, 2, O.owner);
		bind_int(st, 3, people[p].id);
		bind_int(st, 4, orgs[o].id);
		bind_text(st, 5, r->name);
		bind_text(st, 6, chance(0.93) ? r->titles[rnd_below(6)] : NULL);
		bind_int(st, 7, primary);
		bind_text(st, 8, chance(0.9) ? sdate : NULL);
		bind_text(st, 9, end ? edate : NULL);
		insert(st);
		maybe_commit(i + 1, 50000);
	}
	exec("COMMIT");
	sqlite3_finalize(st);

	contact_off = xcalloc((size_t)O.orgs + 1, sizeof *contact_off);
	for (long i = 0; i < na; i++)
		if (aff_current[i])
			contact_off[aff_org[i] + 1]++;
	for (long o = 0; o < O.orgs; o++)
		contact_off[o + 1] += contact_off[o];
	contact_list = xcalloc((size_t)contact_off[O.orgs] + 1, sizeof *contact_list);
	long *fill = xcalloc((size_t)O.orgs, sizeof *fill);
	for (long i = 0; i < na; i++)
		if (aff_current[i]) {
			long o = aff_org[i];
			contact_list[contact_off[o] + fill[o]++] = aff_person[i];
		}
	free(fill);
	free(aff_org);
	free(aff_person);
	free(aff_current);
	free(cum);
	printf("affiliations: %ld (%.1f s)\n", na, now_sec() - t0);
	fflush(stdout);
}

/* ------------------------------------------------------------ interactions */

struct ctx {
	const struct org *org;
	const struct person *who; /* main contact or NULL */
	const char *product;
	const char *me;
	int sv;
	int64_t t;
	int n, pct, days, ticket, version_minor;
	int date_uses, weekday_uses; /* so that a text does not repeat one date */
	long invoice, order, amount;
};

static int first_word_len(const char *s)
{
	int n = 0;
	while (s[n] && s[n] != ' ')
		n++;
	return n;
}

static void put_amount(struct sb *b, const struct ctx *c)
{
	static const struct {
		const char *cur;
		int mul;
	} rates[] = {{"SEK", 10},  {"NOK", 10}, {"DKK", 7}, {"PLN", 4},
		     {"JPY", 150}, {"INR", 90}, {"BRL", 5}};
	const char *cur = countries[c->org ? c->org->country : 0].currency;
	long a = c->amount;
	for (size_t i = 0; i < N_(rates); i++)
		if (!strcmp(cur, rates[i].cur))
			a *= rates[i].mul;
	char digits[32], grouped[48];
	int n = snprintf(digits, sizeof digits, "%ld", a);
	int g = 0;
	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			grouped[g++] = c->sv ? ' ' : ',';
		grouped[g++] = digits[i];
	}
	grouped[g] = 0;
	if (c->sv)
		sb_printf(b, "%s kr", grouped);
	else
		sb_printf(b, "%s %s", cur, grouped);
}

static const char *first_of(const struct ctx *c)
{
	if (c->who)
		return c->who->given ? c->who->given : c->who->family;
	return c->sv ? "Vår kontakt" : "Our contact";
}

/* Appends tpl to b with its {placeholders} filled in from c. */
static void expand(struct sb *b, const char *tpl, struct ctx *c)
{
	const char *s = tpl;
	while (*s) {
		const char *open = strchr(s, '{');
		if (!open) {
			sb_puts(b, s);
			return;
		}
		sb_putn(b, s, (size_t)(open - s));
		const char *close = strchr(open, '}');
		if (!close)
			die("bad template: %s", tpl);
		size_t n = (size_t)(close - open - 1);
		const char *k = open + 1;
		s = close + 1;
#define IS(word) (n == sizeof(word) - 1 && !memcmp(k, word, n))
		int y, m, d;
		civil_from_days(floor_div(c->t, 86400), &y, &m, &d);
		if (IS("first"))
			sb_puts(b, first_of(c));
		else if (IS("last"))
			sb_puts(b, c->who && c->who->family && c->who->given ? c->who->family : "");
		else if (IS("person")) {
			if (!c->who)
				sb_puts(b, c->sv ? "vår kontakt" : "our contact");
			else if (c->who->given && c->who->family)
				sb_printf(b, "%s %s", c->who->given, c->who->family);
			else
				sb_puts(b, first_of(c));
		} else if (IS("org"))
			sb_puts(b, c->org ? c->org->name : "the customer");
		else if (IS("product"))
			sb_puts(b, c->product);
		else if (IS("n"))
			sb_printf(b, "%d", c->n);
		else if (IS("pct"))
			sb_printf(b, "%d", c->pct);
		else if (IS("days"))
			sb_printf(b, "%d", c->days);
		else if (IS("date")) {
			int dy, dm, dd;
			civil_from_days(floor_div(c->t, 86400) + c->days + 6 * c->date_uses++, &dy,
					&dm, &dd);
			sb_printf(b, "%d %s", dd, c->sv ? months_sv[dm - 1] : months_en[dm - 1]);
		} else if (IS("weekday")) {
			int wd = (c->n + c->weekday_uses++) % 5;
			sb_puts(b, c->sv ? weekdays_sv[wd] : weekdays_en[wd]);
		} else if (IS("quarter"))
			sb_printf(b, "Q%d %d", (m - 1) / 3 + 1, y);
		else if (IS("year"))
			sb_printf(b, "%d", y);
		else if (IS("nextyear"))
			sb_printf(b, "%d", y + 1);
		else if (IS("amount"))
			put_amount(b, c);
		else if (IS("invoice"))
			sb_printf(b, "INV-%d-%05ld", y, c->invoice);
		else if (IS("order"))
			sb_printf(b, "PO-45%08ld", c->order);
		else if (IS("ticket"))
			sb_printf(b, "#%d", c->ticket);
		else if (IS("version"))
			sb_printf(b, "%d.%d", 3 + c->version_minor / 10, c->version_minor % 10);
		else if (IS("city"))
			sb_puts(b, c->org ? countries[c->org->country].cities[c->org->city]
					  : "Stockholm");
		else if (IS("site"))
			sb_printf(b, "%d sites", 2 + c->n % 11);
		else if (IS("me"))
			sb_puts(b, c->me);
		else if (IS("me_first"))
			sb_putn(b, c->me, (size_t)first_word_len(c->me));
		else
			die("unknown placeholder {%.*s}", (int)n, k);
#undef IS
	}
}

static const char *const greet_out_en[] = {"Hi {first},", "Hello {first},", "Dear {first} {last},",
					   "Good morning {first},"};
static const char *const greet_anon_en[] = {"Hello,", "Hi all,", "Dear colleagues,"};
static const char *const greet_in_en[] = {"Hi {me_first},", "Hello {me_first},", "Dear {me},"};
static const char *const greet_out_sv[] = {"Hej {first}!", "Hej {first},", "Hej,"};
static const char *const greet_in_sv[] = {"Hej {me_first}!", "Hej {me_first},"};
static const char *const sign_out_en[] = {"Best regards,\n{me}", "Kind regards,\n{me}",
					  "Thanks,\n{me_first}", "Regards,\n{me}"};
static const char *const sign_in_en[] = {"Best regards,\n{person}\n{org}", "Thanks,\n{first}",
					 "Kind regards,\n{person}"};
static const char *const sign_anon_en[] = {"Best regards,\n{org}", "Kind regards,\n{org}"};
static const char *const sign_out_sv[] = {"Med vänliga hälsningar,\n{me}",
					  "Vänliga hälsningar,\n{me}", "Mvh {me_first}"};
static const char *const sign_in_sv[] = {"Med vänliga hälsningar,\n{person}\n{org}", "Mvh {first}"};
static const char *const open_call_en[] = {"Call with {person} ({org}).",
					   "Spoke with {first} on the phone.",
					   "Short call with {first}.", "{first} called."};
static const char *const open_call_sv[] = {"Samtal med {person}.",
					   "Pratade med {first} i telefon."};
static const char *const open_meeting_en[] = {"Meeting with {person} and team at {org}.",
					      "Attendees: {person}, {me}.",
					      "Notes from today's meeting with {org}."};
static const char *const open_meeting_sv[] = {"Möte med {person} på {org}.",
					      "Deltagare: {person}, {me}."};
static const char *const open_visit_en[] = {"Visited {org} in {city}.",
					    "On-site visit at the {city} office with {person}."};
static const char *const open_visit_sv[] = {"Besök hos {org} i {city}."};
static const char *const open_event_en[] = {"Met {person} at the event.",
					    "{org} attended our event in {city}."};
static const char *const open_note_en[] = {"Internal note.", "FYI:", "Note to self:"};

/* Builds the body of one interaction: an opening, topic sentences, a closing. */
static void compose_body(struct sb *body, struct sb *tmp, struct ctx *c, int kind, int dir,
			 const struct topic *tp)
{
	int sv = c->sv;
	const char *const *pool = sv ? tp->sv_sentences : tp->sentences;
	size_t npool = sv ? tp->nsv_sentences : tp->nsentences;
	const char *const *gen = sv ? sv_generic_b : generic_b;
	size_t ngen = sv ? N_(sv_generic_b) : N_(generic_b);
	const char *opener = NULL, *closing = NULL;
	int lo, hi;

	switch (kind) {
	case I_EMAIL:
		lo = 180, hi = 800;
		if (dir == 0) { /* inbound: to us, signed by the contact */
			opener = sv ? PICK(greet_in_sv) : PICK(greet_in_en);
			closing = sv && c->who ? PICK(sign_in_sv)
				  : c->who     ? PICK(sign_in_en)
					       : PICK(sign_anon_en);
		} else {
			opener = sv	  ? PICK(greet_out_sv)
				 : c->who ? PICK(greet_out_en)
					  : PICK(greet_anon_en);
			closing = sv ? PICK(sign_out_sv) : PICK(sign_out_en);
		}
		break;
	case I_MESSAGE:
		lo = 100, hi = 260;
		if (c->who && chance(0.5))
			opener = sv ? "Hej {first}!" : "Hi {first}!";
		break;
	case I_CALL:
		lo = 120, hi = 600;
		opener = sv ? PICK(open_call_sv) : PICK(open_call_en);
		break;
	case I_MEETING:
		lo = 200, hi = 800;
		opener = sv ? PICK(open_meeting_sv) : PICK(open_meeting_en);
		break;
	case I_VISIT:
		lo = 150, hi = 700;
		opener = sv ? PICK(open_visit_sv) : PICK(open_visit_en);
		break;
	case I_EVENT:
		lo = 120, hi = 500;
		opener = sv ? NULL : PICK(open_event_en);
		break;
	default:
		lo = 100, hi = 450;
		opener = sv || chance(0.5) ? NULL : PICK(open_note_en);
		break;
	}
	int target = rnd_range(lo, hi);

	sb_reset(body);
	if (opener) {
		expand(body, opener, c);
		sb_puts(body, kind == I_EMAIL ? "\n\n" : " ");
	}
	struct sb close = {0};
	sb_reset(&close);
	if (closing) {
		sb_puts(&close, "\n\n");
		expand(&close, closing, c);
	}

	/* topic sentences in random order until the target length */
	uint64_t used = 0;
	size_t nsent = 0;
	for (int guard = 0; guard < 60 && nsent < npool; guard++) {
		if (body->len + close.len >= (size_t)target)
			break;
		uint32_t i = rnd_below((uint32_t)npool);
		if (used & (1ULL << i))
			continue;
		used |= 1ULL << i;
		sb_reset(tmp);
		expand(tmp, pool[i], c);
		if (body->len + 2 + tmp->len + close.len > 800)
			continue;
		if (nsent)
			sb_puts(body, kind == I_EMAIL && chance(0.25) ? "\n\n" : " ");
		sb_putn(body, tmp->p, tmp->len);
		nsent++;
	}
	/* now and then a generic line at the end; always enough to reach 100 characters */
	int extra = chance(0.4);
	for (int guard = 0; guard < 20; guard++) {
		if (body->len + close.len >= 100 && !extra)
			break;
		extra = 0;
		sb_reset(tmp);
		expand(tmp, gen[rnd_below((uint32_t)ngen)], c);
		if (body->len + 1 + tmp->len + close.len > 800)
			continue;
		if (nsent++)
			sb_puts(body, " ");
		sb_putn(body, tmp->p, tmp->len);
	}
	sb_putn(body, close.p, close.len);
	free(close.p);
}

/* Hours of the day (UTC) at which interactions happen. */
static const int hour_w[24] = {0, 0,  0,  0,  0,  1, 2, 6, 12, 16, 16, 13,
			       7, 12, 15, 14, 11, 7, 4, 3, 2,  1,  1,  0};

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

#define SUBJ_MAX 200

static void gen_interactions(void)
{
	rng_seed(O.seed, 5);
	long m = O.interactions;
	int64_t start_day = O.today - O.years * 365 - O.years / 4;
	int64_t ndays = O.today - start_day;

	int64_t *times = xcalloc((size_t)(m ? m : 1), sizeof *times);
	for (long i = 0; i < m; i++) {
		int64_t day;
		for (;;) {
			day = (int64_t)rnd_below((uint32_t)ndays);
			/* slow growth: the recent past is busier than three years ago */
			if (!chance(0.55 + 0.45 * (double)day / (double)ndays))
				continue;
			int wd = weekday_of(start_day + day);
			if ((wd == 0 || wd == 6) && chance(0.9))
				continue;
			break;
		}
		int hour = pick_weighted(hour_w, 24);
		times[i] = (start_day + day) * 86400 + hour * 3600 + (int64_t)rnd_below(3600);
	}
	qsort(times, (size_t)m, sizeof *times, cmp_i64);

	double *cum = org_cum(activity_weight);
	long norg = O.orgs;
	int64_t *th_last = xcalloc((size_t)norg, sizeof *th_last);
	int64_t *th_root = xcalloc((size_t)norg, sizeof *th_root);
	int64_t *th_time = xcalloc((size_t)norg, sizeof *th_time);
	int *th_topic = xcalloc((size_t)norg, sizeof *th_topic);
	signed char *th_dir = xcalloc((size_t)norg, 1);
	char *th_subj = xcalloc((size_t)norg, SUBJ_MAX);
	long *count = xcalloc((size_t)norg, sizeof *count);
	long replies = 0, swedish = 0;

	struct stage sg;
	stage_open(
		&sg, "interactions",
		"created_at, updated_at, version, owner_id, tags, custom, organization_id, kind, "
		"direction, channel, occurred_at, subject, body, language, person_ids, user_ids, "
		"thread_id, reply_to_id, id",
		"(?1, ?1, 1, ?2, ?3, '{}', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
		"?16)",
		16);
	sqlite3_stmt *st = sg.ins;
	struct sb subj = {0}, body = {0}, tmp = {0}, pids = {0}, tags = {0}, uids = {0};
	sb_reset(&subj);
	char when[24];
	static const char *const dirs[] = {"inbound", "outbound", "internal"};
	double tstart = now_sec();

	exec("BEGIN");
	for (long i = 0; i < m; i++) {
		long oi = chance(0.01) ? -1 : pick_cum(cum, norg);
		const struct org *o = oi >= 0 ? &orgs[oi] : NULL;
		int kind = pick_weighted(ikind_weight, (int)N_(ikind_weight));
		if (!o)
			kind = I_NOTE;
		else if (o->kind == K_COMPETITOR)
			kind = chance(0.75) ? I_NOTE : I_EVENT;
		else if (o->kind == K_COMMUNITY && chance(0.4))
			kind = I_EVENT;

		int dir; /* 0 inbound, 1 outbound, 2 internal */
		const char *channel = NULL;
		switch (kind) {
		case I_EMAIL:
			dir = chance(0.03) ? 2 : chance(0.5) ? 0 : 1;
			channel = "email";
			break;
		case I_CALL:
			dir = chance(0.4) ? 0 : 1;
			channel = PICK(call_channels);
			break;
		case I_MEETING:
			dir = chance(0.05) ? 2 : chance(0.26) ? 0 : 1;
			channel = PICK(meeting_channels);
			break;
		case I_MESSAGE:
			dir = chance(0.5) ? 0 : 1;
			channel = PICK(message_channels);
			break;
		case I_VISIT:
			dir = chance(0.15) ? 0 : 1;
			channel = "on site";
			break;
		case I_EVENT:
			dir = chance(0.5) ? 0 : 1;
			channel = PICK(event_channels);
			break;
		default:
			dir = 2;
			channel = chance(0.3) ? "crm" : NULL;
			break;
		}

		int topic = o ? pick_weighted(topic_weights[o->kind], T_COUNT) : T_INTERNAL;
		struct ctx c = {0};
		c.org = o;
		c.t = times[i];
		c.me = PICK(colleagues);
		c.product = PICK(products);
		c.n = rnd_range(2, 480);
		c.pct = rnd_range(2, 18);
		c.days = rnd_range(2, 30);
		c.ticket = rnd_range(10000, 99999);
		c.version_minor = rnd_range(0, 39);
		c.invoice = rnd_range(1, 99999);
		c.order = rnd_range(1, 99999999);
		c.amount = (long)rnd_range(8, 2500) * 50;

		/* contacts of the organization in this interaction */
		sb_reset(&pids);
		sb_puts(&pids, "[");
		if (o) {
			long off = contact_off[oi], nc = contact_off[oi + 1] - off;
			int want = kind == I_NOTE && chance(0.5)
					   ? 0
					   : pick_weighted((const int[]){70, 20, 10}, 3) + 1;
			if (kind == I_MEETING && want < 3 && chance(0.4))
				want++;
			if (want > nc)
				want = (int)nc;
			long picked[4];
			int np = 0;
			for (int tries = 0; np < want && tries < 12; tries++) {
				long p = contact_list[off + (long)rnd_below((uint32_t)nc)];
				int dup = 0;
				for (int k = 0; k < np; k++)
					dup |= picked[k] == p;
				if (dup)
					continue;
				picked[np] = p;
				sb_printf(&pids, "%s%" PRId64, np ? "," : "", people[p].id);
				np++;
			}
			c.who = np ? &people[picked[0]] : NULL;
		}
		sb_puts(&pids, "]");

		/* Swedish text for part of the traffic with Swedish organizations */
		c.sv = o && !strcmp(countries[o->country].code, "SE") &&
		       topics[topic].nsv_sentences && chance(0.35);

		/* replies within a thread, else maybe a new thread */
		int64_t thread = 0, reply_to = 0;
		int is_reply = 0;
		if (o && (kind == I_EMAIL || kind == I_MESSAGE) && th_last[oi] &&
		    c.t - th_time[oi] < 21 * 86400 && chance(0.45)) {
			is_reply = 1;
			topic = th_topic[oi];
			thread = th_root[oi];
			reply_to = th_last[oi];
			if (th_dir[oi] != 2)
				dir = chance(0.85) ? 1 - th_dir[oi] : th_dir[oi];
			c.sv = th_subj[oi * SUBJ_MAX + SUBJ_MAX - 1] ==
			       1; /* thread language flag */
			sb_reset(&subj);
			sb_printf(&subj, "%s%s",
				  chance(0.95) ? "Re: " : "Fwd: ", &th_subj[oi * SUBJ_MAX]);
			replies++;
		}
		const struct topic *tp = &topics[topic];
		if (!is_reply) {
			sb_reset(&subj);
			if (c.sv)
				expand(&subj,
				       tp->sv_subjects[rnd_below((uint32_t)tp->nsv_subjects)], &c);
			else {
				static const char *const pre[] = {[I_CALL] = "Call: ",
								  [I_MEETING] = "Meeting: ",
								  [I_VISIT] = "Site visit: ",
								  [I_EVENT] = "Event: ",
								  [I_NOTE] = "Note: "};
				if (kind < (int)N_(pre) && pre[kind] && chance(0.4))
					sb_puts(&subj, pre[kind]);
				expand(&subj, tp->subjects[rnd_below((uint32_t)tp->nsubjects)], &c);
			}
		}
		swedish += c.sv;
		compose_body(&body, &tmp, &c, kind, dir, tp);

		sb_reset(&tags);
		if (chance(0.12)) {
			if (chance(0.6))
				sb_printf(&tags, "[\"%s\"]", tp->tag);
			else
				sb_printf(&tags, "[\"%s\",\"%s\"]", tp->tag, PICK(itags));
		} else
			sb_puts(&tags, "[]");
		sb_reset(&uids);
		if (dir != 0 || chance(0.3))
			sb_printf(&uids, "[%ld]", O.owner);
		else
			sb_puts(&uids, "[]");

		fmt_time(when, c.t);
		int no_subject = !is_reply && (kind == I_NOTE || kind == I_MESSAGE) && chance(0.15);
		bind_text(st, 1, now_str);
		bind_int(st, 2, O.owner);
		bind_text(st, 3, tags.p);
		bind_id(st, 4, o ? o->id : 0);
		bind_text(st, 5, ikinds[kind]);
		bind_text(st, 6, dirs[dir]);
		bind_text(st, 7, channel);
		bind_text(st, 8, when);
		bind_text(st, 9, no_subject ? NULL : subj.p);
		bind_text(st, 10, body.p);
		bind_text(st, 11, chance(0.04) ? NULL : c.sv ? "sv" : "en");
		bind_text(st, 12, pids.p);
		bind_text(st, 13, uids.p);
		bind_id(st, 14, thread);
		bind_id(st, 15, reply_to);
		int64_t id = stage_row(&sg);

		if (o) {
			count[oi]++;
			if (is_reply) {
				th_last[oi] = id;
				th_time[oi] = c.t;
				th_dir[oi] = (signed char)dir;
			} else if (kind == I_EMAIL && !no_subject) {
				th_root[oi] = th_last[oi] = id;
				th_time[oi] = c.t;
				th_dir[oi] = (signed char)dir;
				th_topic[oi] = topic;
				char *dst = &th_subj[oi * SUBJ_MAX];
				snprintf(dst, SUBJ_MAX - 1, "%s", subj.p);
				dst[SUBJ_MAX - 1] = (char)c.sv;
			}
		}
		if ((i + 1) % 100000 == 0) {
			printf("interactions: %ld/%ld (%.1f s)\n", i + 1, m, now_sec() - t0);
			fflush(stdout);
		}
	}
	stage_close(&sg);
	exec("COMMIT");

	long busiest = 0;
	for (long i = 1; i < norg; i++)
		if (count[i] > count[busiest])
			busiest = i;
	printf("interactions: %ld, %ld replies, %ld in Swedish (%.1f s, %.0f rows/s)\n", m, replies,
	       swedish, now_sec() - t0, (double)m / (now_sec() - tstart + 1e-9));
	printf("busiest organization: %" PRId64 " \"%s\" (%s) with %ld interactions\n",
	       orgs[busiest].id, orgs[busiest].name, org_kinds[orgs[busiest].kind], count[busiest]);
	fflush(stdout);
	busiest_idx = busiest;
	busiest_count = count[busiest];

	free(times);
	free(cum);
	free(th_last);
	free(th_root);
	free(th_time);
	free(th_topic);
	free(th_dir);
	free(th_subj);
	free(count);
	free(subj.p);
	free(body.p);
	free(tmp.p);
	free(pids.p);
	free(tags.p);
	free(uids.p);
}

int main(int argc, char **argv)
{
	parse_opts(argc, argv, &O);
	t0 = now_sec();
	fmt_time(now_str, (int64_t)time(NULL));

	if (sqlite3_open_v2(O.db, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		die("cannot open %s: %s (create it with `rapport init --db FILE` first)", O.db,
		    db ? sqlite3_errmsg(db) : "out of memory");
	sqlite3_busy_timeout(db, 5000);
	if (!query_int("SELECT count(*) FROM sqlite_master WHERE name = 'interactions_fts'"))
		die("%s has no rapport schema; run `rapport init --db %s` first", O.db, O.db);
	{
		sqlite3_stmt *st = prepare("SELECT count(*) FROM users WHERE id = ?");
		bind_int(st, 1, O.owner);
		if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int64(st, 0) != 1)
			die("no user with id %ld in %s (--owner-id)", O.owner, O.db);
		sqlite3_finalize(st);
	}
	int64_t before = query_int("SELECT count(*) FROM organizations");
	if (before)
		fprintf(stderr,
			"bench-gen: warning: %s already has %" PRId64
			" organizations; adding more\n",
			O.db, before);

	/* Fast and unsafe while generating; the server opens it with its own settings. */
	exec("PRAGMA journal_mode = MEMORY");
	exec("PRAGMA synchronous = OFF");
	exec("PRAGMA cache_size = -262144");
	exec("PRAGMA temp_store = MEMORY");
	exec("PRAGMA foreign_keys = ON");

	printf("bench-gen: seed %" PRIu64 ", %ld organizations, %ld people, %ld affiliations, "
	       "%ld interactions over %ld years\n",
	       O.seed, O.orgs, O.people, O.affiliations, O.interactions, O.years);
	fflush(stdout);

	gen_orgs();

	/* Each person with an affiliation gets a home organization (primary affiliation). */
	rng_seed(O.seed, 2);
	long *home = xcalloc((size_t)(O.people ? O.people : 1), sizeof *home);
	{
		double *cum = org_cum(people_weight);
		long nprimary = O.affiliations < O.people ? O.affiliations : O.people;
		for (long i = 0; i < O.people; i++)
			home[i] = i < nprimary ? pick_cum(cum, O.orgs) : -1;
		free(cum);
	}
	gen_people(home);
	gen_affiliations(home);
	free(home);
	gen_interactions();

	double t1 = now_sec();
	run_batch_sql();
	exec("INSERT INTO organizations_fts (organizations_fts) VALUES ('optimize')");
	exec("INSERT INTO people_fts (people_fts) VALUES ('optimize')");
	exec("INSERT INTO interactions_fts (interactions_fts) VALUES ('optimize')");
	exec("ANALYZE");
	exec("PRAGMA optimize");
	exec("PRAGMA journal_mode = WAL");
	printf("optimize and analyze: %.1f s\n", now_sec() - t1);

	int64_t max_org = query_int("SELECT max(id) FROM organizations");
	int64_t min_org = query_int("SELECT min(id) FROM organizations");
	if (sqlite3_close(db) != SQLITE_OK)
		die("close: %s", sqlite3_errmsg(db));
	printf("done in %.1f s\n", now_sec() - t0);
	printf("busiest_org=%" PRId64 " busiest_count=%" PRId64 " min_org_id=%" PRId64
	       " max_org_id=%" PRId64 "\n",
	       O.interactions ? orgs[busiest_idx].id : 0, (int64_t)busiest_count, min_org, max_org);
	for (long i = 0; i < O.orgs; i++) {
		free((void *)orgs[i].name);
		free((void *)orgs[i].domain);
	}
	free(orgs);
	free(people);
	free(contact_off);
	free(contact_list);
	return 0;
}

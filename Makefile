# rapport: `make` builds build/rapport; `make run` and `make test` are the two
# commands a newcomer needs (both install what is missing through `make deps`).

BUILD   ?= build
SAN     ?=
PKGS    := libmicrohttpd jansson sqlite3 libsodium libpq
CC      ?= cc
V       ?= 0
ifeq ($(V),0)
Q       := @
endif

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wvla -Wpointer-arith -Wundef -Wwrite-strings -Wimplicit-fallthrough \
           -Wno-missing-field-initializers
CFLAGS  ?= -O2 -g
ifeq ($(SAN),1)
CFLAGS  := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDSAN   := -fsanitize=address,undefined
endif
ALL_CFLAGS = -std=c17 -D_GNU_SOURCE $(WARN) $(CFLAGS) -Isrc -I$(BUILD)/gen \
             $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

LIB_SRC := $(sort $(wildcard src/lib/*.c src/store/*.c src/domain/*.c src/http/*.c \
                               src/api/*.c src/cli/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/migrations.o
MIGRATIONS := $(sort $(wildcard src/store/migrations/*/*.sql))
UNIT_SRC := $(sort $(wildcard tests/unit/*_test.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: FORCE all deps run test test-unit test-api bench clean format asan fuzz fuzz-bins fuzz-replay
all: $(BUILD)/rapport

$(BUILD)/rapport: $(BUILD)/src/main.o $(LIB_OBJ)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDSAN) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# The names of the migration files, rewritten only when they change, so that
# removing or renaming one rebuilds the embedded table too.
$(BUILD)/gen/migrations.list: FORCE
	@mkdir -p $(dir $@)
	@printf '%s\n' $(MIGRATIONS) | cmp -s - $@ 2>/dev/null || printf '%s\n' $(MIGRATIONS) > $@

$(BUILD)/gen/migrations.c: $(MIGRATIONS) $(BUILD)/gen/migrations.list scripts/embed-migrations.sh
	@mkdir -p $(dir $@)
	sh scripts/embed-migrations.sh $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

FORCE:

$(BUILD)/gen/migrations.o: $(BUILD)/gen/migrations.c
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(shell pkg-config --cflags cmocka) $(LDSAN) -o $@ $^ \
		$(shell pkg-config --libs cmocka) $(LDLIBS)

unit-bins: $(UNIT_BIN)

deps:
	sh scripts/deps.sh

asan:
	$(MAKE) BUILD=build/asan SAN=1 all unit-bins

run: deps
	$(MAKE) all
	test -f rapport.db || ./build/rapport init --db rapport.db --demo
	./build/rapport serve --db rapport.db --listen 127.0.0.1:8080

test: deps
	$(MAKE) all unit-bins bench-bins fuzz-bins
	$(MAKE) asan
	sh scripts/test.sh

bench: deps
	$(MAKE) all bench-bins
	sh bench/run.sh

bench-bins: $(BUILD)/bench-gen $(BUILD)/bench-calib

$(BUILD)/bench-gen: bench/gen.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(shell pkg-config --libs sqlite3)

$(BUILD)/bench-calib: bench/calib.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $<

# ---- fuzzing (fuzz/README.md) ----
# libFuzzer targets built with clang: the library compiled once more with
# coverage hooks and ASan/UBSan into $(FUZZ_BUILD). `make fuzz` runs each
# target for FUZZ_SECONDS, writing new inputs to a scratch corpus under
# $(FUZZ_BUILD)/corpus (never into fuzz/corpus); `make fuzz-replay` runs each
# target once over its seed corpus in fuzz/corpus, as `make test` does.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD   := $(BUILD)/fuzz
FUZZ_TARGETS := router body query
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS   = -std=c17 -D_GNU_SOURCE $(WARN) -O1 -g $(FUZZ_SAN) -Isrc -I$(BUILD)/gen \
                $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o) $(FUZZ_BUILD)/gen/migrations.o
FUZZ_BIN     := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

$(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o): $(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/gen/migrations.o: $(BUILD)/gen/migrations.c
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_BIN): $(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_LIB_OBJ)
	@echo "  FUZZLD  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -MMD -MP -o $@ $< $(FUZZ_LIB_OBJ) $(LDLIBS)

# libmicrohttpd hands its log callback a format it built: not a literal.
$(FUZZ_BUILD)/src/http/server.o: FUZZ_CFLAGS += -Wno-format-nonliteral

fuzz-bins: $(FUZZ_BIN)

fuzz: deps
	$(MAKE) fuzz-bins
	sh fuzz/run.sh run $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-replay: fuzz-bins
	sh fuzz/run.sh replay $(FUZZ_BUILD) 0 $(FUZZ_TARGETS)

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'bench/*.c')

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# sclaw - non-recursive Makefile: libsclaw.a, the sclaw tool, one test
# executable per module, benchmarks. `make SANITIZE=1 ...` builds everything
# with AddressSanitizer and UBSan into build-asan/.
#
#   make            library + tool (build/sclaw)
#   make test       build and run every test, print "N passed, N failed"
#   make study      the main job (see README)
#   make bench      build the benchmarks (run them from bench/README.md)

CC      ?= gcc
PKGS    := jansson
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c17 -Wall -Wextra -Wshadow -Wno-unused-parameter -fopenmp -MMD -MP \
           -Iinclude -I/usr/include/x86_64-linux-gnu/openblas-openmp -I/usr/include/plplot \
           -D_DEFAULT_SOURCE
LDLIBS  := -ljansson -llbfgs -lplplot -lopenblas -lm
LDFLAGS += -fopenmp

# Open MPI for data-parallel training, when its development files are present.
MPI_CFLAGS := $(shell pkg-config --cflags ompi-c 2>/dev/null)
MPI_LIBS   := $(shell pkg-config --libs ompi-c 2>/dev/null)
ifneq ($(MPI_LIBS),)
CFLAGS  += -DSCLAW_HAVE_MPI $(MPI_CFLAGS)
LDLIBS  += $(MPI_LIBS)
endif

ifeq ($(SANITIZE),1)
BUILD   ?= build-asan
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
else
BUILD   ?= build
endif

LIB_SRC   := $(sort $(wildcard src/*/*.c))
CLI_SRC   := $(sort $(wildcard cli/*.c))
TEST_SRC  := $(sort $(wildcard tests/test_*.c))
BENCH_SRC := $(sort $(wildcard bench/bench_*.c))
TESTUTIL  := tests/testutil.c

LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ   := $(CLI_SRC:%.c=$(BUILD)/%.o)
LIB       := $(BUILD)/libsclaw.a
SCLAW     := $(BUILD)/sclaw
TESTS     := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCHES   := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all test check bench study quick clean deps
.SECONDARY:
all: $(SCLAW)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(SCLAW): $(CLI_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS)

$(BUILD)/tests/testutil.o: $(TESTUTIL)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/tests/test_%: $(BUILD)/tests/test_%.o $(BUILD)/tests/testutil.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/tests/testutil.o $(LIB) -lcmocka $(LDLIBS)

$(BUILD)/bench/bench_%: $(BUILD)/bench/bench_%.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# Tests run from the repository root; tests/run prints the summary line.
test check: $(TESTS) $(SCLAW)
	@SCLAW=$(SCLAW) BUILD=$(BUILD) tests/run $(TESTS)

bench: $(BENCHES) $(SCLAW)

# The main job: see README.md. STUDY_ARGS=--quick for the short variant.
study: $(SCLAW)
	@SCLAW=$(SCLAW) scripts/study $(STUDY_ARGS)

quick: $(SCLAW)
	@SCLAW=$(SCLAW) scripts/study --quick

deps:
	scripts/install-deps

clean:
	rm -rf build build-asan

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TESTS:=.d) $(BENCHES:=.d) $(BUILD)/tests/testutil.d

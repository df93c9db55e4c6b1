# warden build.  `make` builds build/wardend and build/warden; `make check`
# runs the unit and integration tests; `make check-san` runs the same suite
# built with AddressSanitizer and UndefinedBehaviorSanitizer.

VERSION = 0.1.0
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
DESTDIR ?=
BINDIR = $(PREFIX)/bin
SBINDIR = $(PREFIX)/sbin
MANDIR = $(PREFIX)/share/man
DATADIR = $(PREFIX)/share/warden
UNITDIR ?= $(PREFIX)/lib/systemd/system

CC ?= cc
# `make V=1` prints every compiler command.
V ?= 0
ifeq ($(V),1)
Q =
else
Q = @echo "  CC $<";
endif
PKG_CONFIG ?= pkg-config
PKGS = libseccomp libcap libnl-3.0 libnl-route-3.0 libmnl libnftnl sqlite3 \
       libsodium jansson inih

SAN ?= 0
ifeq ($(SAN),1)
BUILD ?= build-san
OPT = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
      -fno-sanitize-recover=undefined
SANLDFLAGS = -fsanitize=address,undefined
else
BUILD ?= build
OPT = -O2 -g -D_FORTIFY_SOURCE=2
SANLDFLAGS =
endif

WARNINGS = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wconversion \
           -Wno-sign-conversion -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wvla -Wundef -Wcast-qual -Wwrite-strings \
           -Wimplicit-fallthrough -Wnull-dereference \
           -Wno-missing-field-initializers

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS))
CMOCKA_CFLAGS := $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

CFLAGS ?=
LDFLAGS ?=
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(OPT) $(WARNINGS) -fstack-protector-strong -fPIE \
             -I. -I$(BUILD)/gen -DWARDEN_SYSCONFDIR='"$(SYSCONFDIR)"' \
             -DWARDEN_VERSION='"$(VERSION)"' -DWARDEN_DATADIR='"$(DATADIR)"' $(PKG_CFLAGS) $(CFLAGS) -MMD -MP
ALL_LDFLAGS = -pie -Wl,-z,relro,-z,now $(SANLDFLAGS) $(LDFLAGS)

# Every module below the daemon and the CLI goes into one static library.
LIB_MODULES = common config desensitize audit sandbox netpolicy
LIB_SRCS = $(foreach m,$(LIB_MODULES),$(wildcard $(m)/*.c))
GEN_SRCS = $(patsubst config/%.profile,$(BUILD)/gen/%_profile.c,$(wildcard config/*.profile))
LIB_OBJS = $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS)) $(GEN_SRCS:.c=.o)
DAEMON_OBJS = $(patsubst %.c,$(BUILD)/%.o,$(wildcard supervisor/*.c))
CLI_OBJS = $(patsubst %.c,$(BUILD)/%.o,$(wildcard cli/*.c))

UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
# Escape probes run inside sandboxes; they are built without sanitizers
# because the sanitizer runtimes need /proc and syscalls that the sandbox
# denies on purpose.
ESCAPE_SRCS = $(wildcard tests/escape/*.c)
ESCAPE_BINS = $(patsubst tests/escape/%.c,$(BUILD)/escape/%,$(ESCAPE_SRCS))
TOOL_SRCS = $(wildcard tests/tools/*.c)
TOOL_BINS = $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))
BENCH_SRCS = $(wildcard bench/*.c)
BENCH_BINS = $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

.PHONY: all check check-san check-all test-bins bench install uninstall clean format

all: $(BUILD)/wardend $(BUILD)/warden

$(BUILD)/libwarden.a: $(LIB_OBJS)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(BUILD)/wardend: $(DAEMON_OBJS) $(BUILD)/libwarden.a
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/warden: $(CLI_OBJS) $(BUILD)/libwarden.a
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/gen/%_profile.c: config/%.profile
	@mkdir -p $(@D)
	{ echo '/* Generated from $< by make. */'; \
	  echo 'const char config_$(subst -,_,$*)_profile[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$$/\\n"/' $<; \
	  echo ';'; } > $@

$(BUILD)/gen/%_profile.o: $(BUILD)/gen/%_profile.c
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-missing-variable-declarations -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libwarden.a
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(CMOCKA_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
	    $(BUILD)/libwarden.a $(PKG_LIBS) $(CMOCKA_LIBS)

$(BUILD)/escape/%: tests/escape/%.c
	@mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -o $@ $<

$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libwarden.a
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libwarden.a $(PKG_LIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libwarden.a
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libwarden.a $(PKG_LIBS)

test-bins: all $(UNIT_BINS) $(ESCAPE_BINS) $(TOOL_BINS)

check: test-bins
	tests/run-tests.sh $(BUILD)

check-san:
	$(MAKE) SAN=1 check

# The whole suite, plain and then under the sanitizers: what CI runs.
check-all:
	@plain=0; san=0; \
	$(MAKE) check || plain=$$?; \
	$(MAKE) SAN=1 check || san=$$?; \
	[ $$plain -eq 0 ] && [ $$san -eq 0 ]

bench: all $(BENCH_BINS) $(ESCAPE_BINS)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/warden $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DATADIR)
	install -m 0755 $(BUILD)/warden $(DESTDIR)$(BINDIR)/warden
	install -m 0755 $(BUILD)/wardend $(DESTDIR)$(SBINDIR)/wardend
	test -e $(DESTDIR)$(SYSCONFDIR)/warden/warden.conf || \
	    install -m 0644 config/warden.conf $(DESTDIR)$(SYSCONFDIR)/warden/warden.conf
	for p in config/*.profile; do \
	    install -m 0644 $$p $(DESTDIR)$(DATADIR)/; done
	sed 's|@SBINDIR@|$(SBINDIR)|g' dist/wardend.service.in > \
	    $(DESTDIR)$(UNITDIR)/wardend.service
	install -m 0644 man/warden.1 $(DESTDIR)$(MANDIR)/man1/warden.1
	install -m 0644 man/wardend.8 $(DESTDIR)$(MANDIR)/man8/wardend.8

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/warden $(DESTDIR)$(SBINDIR)/wardend \
	    $(DESTDIR)$(UNITDIR)/wardend.service \
	    $(DESTDIR)$(MANDIR)/man1/warden.1 $(DESTDIR)$(MANDIR)/man8/wardend.8
	rm -rf $(DESTDIR)$(DATADIR)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

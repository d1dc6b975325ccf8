# mk/newlib.mk -- builds the SSE-free newlib libc subset used by the hypervisor core.
#
# Included from the top-level Makefile.
#   in:  BUILD           build directory (e.g. "build")
#        HV_ARCH_CFLAGS  the hypervisor's code-generation flags (must contain
#                        -mgeneral-regs-only, -fpie, -ffreestanding, ...)
#   out: NEWLIB_HV_LIB   $(BUILD)/newlib/hv/libc.a (with a rule to build it)
#        NEWLIB_HV_INC   include flags for our code: newlib's headers, then
#                        gcc's own; never the host's /usr/include
#        NEWLIB_HV_HEADERS  stamp file that exists once newlib's headers are
#                        unpacked: make every object compiled with
#                        $(NEWLIB_HV_INC) depend on it (order-only is enough:
#                        `$(OBJS): | $(NEWLIB_HV_HEADERS)`), or -j builds can
#                        compile our code before the headers exist.
#   Set CC (and AR) before including this file; it asks $(CC) for gcc's
#   include directory once, at parse time.
#   Targets: newlib-hv (the library), newlib-hv-check (fails if libc.a uses
#   any xmm/ymm/zmm register), newlib-hv-clean.
#
# How: the Debian newlib-source tarball is unpacked (only newlib/libc) under
# $(BUILD)/newlib/src, untouched.  Instead of running newlib's configure, the
# header it would generate (newlib.h, _newlib_version.h) comes from
# mk/newlib-config/, which is first on every include path.  Only the source
# files listed below are compiled, with our flags plus -DNO_FLOATING_POINT
# -D__SINGLE_THREAD__, into $(BUILD)/newlib/hv/obj and archived into libc.a.
# Stubs newlib needs from "the OS" (_sbrk) live in hv/newlib_glue.c, which is
# built by the hypervisor's own rules, not here.
#
# To add a newlib function: add its source file (path relative to
# newlib/libc) to NEWLIB_HV_C_SRCS and run `make newlib-hv-check`.  A file
# that needs floating point fails to compile (-mgeneral-regs-only).

NEWLIB_MK_DIR     := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
# Leave the includer's default goal alone (restored at the end).
NEWLIB_SAVED_GOAL := $(.DEFAULT_GOAL)

NEWLIB_VERSION    := 3.3.0
NEWLIB_TARBALL    ?= /usr/src/newlib/newlib-$(NEWLIB_VERSION).tar.xz
NEWLIB_CONFIG_DIR := $(NEWLIB_MK_DIR)/newlib-config

NEWLIB_SRC_DIR    := $(BUILD)/newlib/src
NEWLIB_SRC_STAMP  := $(NEWLIB_SRC_DIR)/.unpacked
NEWLIB_LIBC_DIR   := $(NEWLIB_SRC_DIR)/newlib/libc
NEWLIB_HV_DIR     := $(BUILD)/newlib/hv
NEWLIB_HV_OBJDIR  := $(NEWLIB_HV_DIR)/obj

NEWLIB_HV_LIB     := $(NEWLIB_HV_DIR)/libc.a
NEWLIB_HV_HEADERS := $(NEWLIB_SRC_STAMP)

# newlib's headers: our generated config, then the x86_64 machine directory
# (newlib's install copies its sys/*.h over the generic ones), then libc/include.
NEWLIB_INC_DIRS   := $(NEWLIB_CONFIG_DIR) \
                     $(NEWLIB_LIBC_DIR)/machine/x86_64 \
                     $(NEWLIB_LIBC_DIR)/include
NEWLIB_GCC_INC    := $(shell $(CC) -print-file-name=include)
NEWLIB_HV_INC     := -nostdinc $(addprefix -isystem ,$(NEWLIB_INC_DIRS)) \
                     -isystem $(NEWLIB_GCC_INC)

# Flags for newlib's own sources.  -fno-builtin is what newlib's build uses;
# -w because newlib's warnings are not ours to fix.  No -DMISSING_SYSCALL_NAMES,
# so the sbrk stub newlib calls is spelled _sbrk (hv/newlib_glue.c).
NEWLIB_HV_CFLAGS  := $(HV_ARCH_CFLAGS) -fno-builtin -w \
                     -DNO_FLOATING_POINT -D__SINGLE_THREAD__ \
                     $(NEWLIB_HV_INC)
NEWLIB_HV_ASFLAGS := $(HV_ARCH_CFLAGS) -Wa,--noexecstack $(NEWLIB_HV_INC)

# --- sources, relative to newlib/libc ---------------------------------------
NEWLIB_HV_S_SRCS := \
	machine/x86_64/memcpy.S machine/x86_64/memset.S

NEWLIB_HV_C_SRCS := \
	string/memchr.c string/memcmp.c string/memmove.c \
	string/strcat.c string/strchr.c string/strcmp.c string/strcpy.c \
	string/strcspn.c string/strlcat.c string/strlcpy.c string/strlen.c \
	string/strncat.c string/strncmp.c string/strncpy.c string/strnlen.c string/strcasecmp.c string/strncasecmp.c \
	string/strpbrk.c string/strrchr.c string/strspn.c string/strstr.c \
	ctype/ctype_.c ctype/isalnum.c ctype/isalpha.c ctype/isascii.c \
	ctype/isblank.c ctype/iscntrl.c ctype/isdigit.c ctype/islower.c \
	ctype/isprint.c ctype/ispunct.c ctype/isspace.c ctype/isupper.c \
	ctype/isxdigit.c ctype/toascii.c ctype/tolower.c ctype/toupper.c \
	stdlib/strtol.c stdlib/strtoll.c stdlib/strtoul.c stdlib/strtoull.c \
	stdlib/mlock.c search/qsort.c search/bsearch.c \
	stdlib/mbtowc_r.c stdlib/wctomb_r.c \
	stdio/snprintf.c stdio/vsnprintf.c \
	locale/locale.c locale/localeconv.c \
	reent/impure.c reent/sbrkr.c \
	errno/errno.c

# Sources compiled more than once with different -D: object name -> flags.
#   vfprintf.c: _svfprintf_r (STRING_ONLY) and _svfiprintf_r (+INTEGER_ONLY;
#   this one also holds __ssprint_r and the format-parser tables).
#   nano-mallocr.c: one object per allocator entry point, as newlib does; only
#   what vfprintf's asprintf path references (it never runs for snprintf).
NEWLIB_HV_VARIANTS := \
	stdio/svfprintf:stdio/vfprintf.c:-DSTRING_ONLY \
	stdio/svfiprintf:stdio/vfprintf.c:-DSTRING_ONLY@-DINTEGER_ONLY \
	stdlib/nano-mallocr:stdlib/nano-mallocr.c:-DINTERNAL_NEWLIB@-DDEFINE_MALLOC \
	stdlib/nano-freer:stdlib/nano-mallocr.c:-DINTERNAL_NEWLIB@-DDEFINE_FREE \
	stdlib/nano-reallocr:stdlib/nano-mallocr.c:-DINTERNAL_NEWLIB@-DDEFINE_REALLOC \
	stdlib/nano-msizer:stdlib/nano-mallocr.c:-DINTERNAL_NEWLIB@-DDEFINE_MALLOC_USABLE_SIZE

# --- objects ------------------------------------------------------------------
NEWLIB_HV_OBJS := \
	$(patsubst %.S,$(NEWLIB_HV_OBJDIR)/%.o,$(NEWLIB_HV_S_SRCS)) \
	$(patsubst %.c,$(NEWLIB_HV_OBJDIR)/%.o,$(NEWLIB_HV_C_SRCS)) \
	$(foreach v,$(NEWLIB_HV_VARIANTS),$(NEWLIB_HV_OBJDIR)/$(word 1,$(subst :, ,$(v))).o)

# Rebuild everything when the flags change: the file is rewritten only if its
# content differs, so unchanged flags leave its timestamp alone.
NEWLIB_HV_FLAGS_FILE := $(NEWLIB_HV_DIR)/flags
NEWLIB_HV_DEPS := $(NEWLIB_SRC_STAMP) $(NEWLIB_HV_FLAGS_FILE) \
                  $(NEWLIB_CONFIG_DIR)/newlib.h $(NEWLIB_CONFIG_DIR)/_newlib_version.h

$(NEWLIB_HV_FLAGS_FILE): newlib-hv-force
	@mkdir -p $(@D)
	@echo '$(NEWLIB_HV_CFLAGS) | $(NEWLIB_HV_ASFLAGS)' | cmp -s - $@ || \
		echo '$(NEWLIB_HV_CFLAGS) | $(NEWLIB_HV_ASFLAGS)' > $@

.PHONY: newlib-hv-force

# Unpack only newlib/libc (and its licence) from the tarball, unmodified.
$(NEWLIB_SRC_STAMP): $(NEWLIB_TARBALL)
	@echo "  UNPACK  $(NEWLIB_TARBALL)"
	@rm -rf $(NEWLIB_SRC_DIR)
	@mkdir -p $(NEWLIB_SRC_DIR)
	@tar -xJf $< -C $(NEWLIB_SRC_DIR) --strip-components=1 \
		--wildcards --no-wildcards-match-slash '*/newlib/libc' '*/COPYING.NEWLIB'
	@test -f $(NEWLIB_LIBC_DIR)/stdio/vfprintf.c
	@touch $@

$(NEWLIB_HV_OBJDIR)/%.o: $(NEWLIB_LIBC_DIR)/%.c $(NEWLIB_HV_DEPS)
	@mkdir -p $(@D)
	@echo "  CC      newlib/$*.c"
	@$(CC) $(NEWLIB_HV_CFLAGS) -MD -MP -c $< -o $@

$(NEWLIB_HV_OBJDIR)/%.o: $(NEWLIB_LIBC_DIR)/%.S $(NEWLIB_HV_DEPS)
	@mkdir -p $(@D)
	@echo "  AS      newlib/$*.S"
	@$(CC) $(NEWLIB_HV_ASFLAGS) -MD -MP -c $< -o $@

# One explicit rule per variant (obj:src:flag@flag...).
define NEWLIB_HV_VARIANT_RULE
$(NEWLIB_HV_OBJDIR)/$(word 1,$(1)).o: $(NEWLIB_LIBC_DIR)/$(word 2,$(1)) $$(NEWLIB_HV_DEPS)
	@mkdir -p $$(@D)
	@echo "  CC      newlib/$(word 2,$(1)) $(subst @, ,$(word 3,$(1)))"
	@$$(CC) $$(NEWLIB_HV_CFLAGS) $(subst @, ,$(word 3,$(1))) -MD -MP -c $$< -o $$@
endef
$(foreach v,$(NEWLIB_HV_VARIANTS),\
	$(eval $(call NEWLIB_HV_VARIANT_RULE,$(subst :, ,$(v)))))

# The sources exist once the stamp does.
$(addprefix $(NEWLIB_LIBC_DIR)/,$(NEWLIB_HV_C_SRCS) $(NEWLIB_HV_S_SRCS) \
	stdio/vfprintf.c stdlib/nano-mallocr.c): $(NEWLIB_SRC_STAMP) ;

$(NEWLIB_HV_LIB): $(NEWLIB_HV_OBJS)
	@echo "  AR      $@"
	@rm -f $@
	@$(AR) rcsD $@ $^

-include $(NEWLIB_HV_OBJS:.o=.d)

.PHONY: newlib-hv newlib-hv-check newlib-hv-clean
newlib-hv: $(NEWLIB_HV_LIB)
newlib-hv-check: $(NEWLIB_HV_LIB)
	@if objdump -d $(NEWLIB_HV_LIB) | grep -qE '%[xyz]mm[0-9]'; then \
		echo "newlib-hv: SSE/AVX register use in $(NEWLIB_HV_LIB)" >&2; exit 1; fi
	@echo "newlib-hv: no xmm/ymm/zmm register use in $(NEWLIB_HV_LIB)"
newlib-hv-clean:
	rm -rf $(BUILD)/newlib

.DEFAULT_GOAL := $(NEWLIB_SAVED_GOAL)

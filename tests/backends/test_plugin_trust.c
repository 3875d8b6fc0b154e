/* SPDX-License-Identifier: MIT */
/*
 * Plugins are loaded only from files and directories that root (or the
 * user vmrd runs as) owns and nobody else may write, and the check comes
 * before dlopen(), which runs the plugin's constructors.  The plugin here
 * (plugin_ctor.c) creates a mark file from its constructor: a refused
 * plugin must leave none; a trusted one must (so the negative cases would
 * see a loader that checked after loading).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "backends/backend.h"

struct tree {
	char dir[512];
	char file[600];
	char mark[600];
};

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n;
	int in = open(from, O_RDONLY | O_CLOEXEC), out;

	assert_true(in >= 0);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(n, 0);
	close(in);
	close(out);
}

/* A fresh directory beside the built plugin (a trusted place), holding a copy of it. */
static int setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));
	char *slash;

	assert_non_null(t);
	snprintf(t->dir, sizeof(t->dir), "%s", CTOR_PLUGIN_PATH);
	slash = strrchr(t->dir, '/');
	assert_non_null(slash);
	snprintf(slash, sizeof(t->dir) - (size_t)(slash - t->dir), "/trust.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->file, sizeof(t->file), "%s/ctor.so", t->dir);
	snprintf(t->mark, sizeof(t->mark), "%s.mark", t->dir);
	copy_file(CTOR_PLUGIN_PATH, t->file);
	assert_int_equal(setenv("VMRD_TEST_CTOR_MARK", t->mark, 1), 0);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tree *t = *state;

	unlink(t->file);
	unlink(t->mark);
	rmdir(t->dir);
	free(t);
	return 0;
}

static void set_modes(struct tree *t, mode_t dir_mode, mode_t file_mode)
{
	assert_int_equal(chmod(t->dir, dir_mode), 0);
	assert_int_equal(chmod(t->file, file_mode), 0);
}

/* Loads t->file; returns the result with its message; checks nothing was left behind. */
static int load(struct tree *t, const char **ret_msg)
{
	const struct vmrd_backend_ops *ops = NULL;
	void *handle = NULL;
	int r;

	*ret_msg = NULL;
	r = backend_plugin_load(t->file, &ops, &handle, ret_msg);
	assert_true(r < 0); /* this plugin has no init symbol */
	assert_null(ops);
	assert_null(handle);
	assert_non_null(*ret_msg);
	return r;
}

static bool constructor_ran(const struct tree *t)
{
	return access(t->mark, F_OK) == 0;
}

static void test_trusted_plugin_is_loaded_and_its_constructor_runs(void **state)
{
	struct tree *t = *state;
	const char *msg;

	set_modes(t, 0700, 0644);
	assert_int_equal(load(t, &msg), -ELIBBAD);
	assert_non_null(strstr(msg, "no vmrd_backend_plugin_init symbol"));
	assert_true(constructor_ran(t));
}

static void test_plugin_in_a_world_writable_directory_is_refused_before_dlopen(void **state)
{
	struct tree *t = *state;
	const char *msg;

	set_modes(t, 0777, 0644);
	assert_int_equal(load(t, &msg), -EPERM);
	assert_non_null(strstr(msg, t->file));
	assert_non_null(strstr(msg, "directory"));
	assert_non_null(strstr(msg, "mode 0777"));
	assert_false(constructor_ran(t));
	/* Sticky, as /tmp is, does not make it trusted. */
	set_modes(t, 01777, 0644);
	assert_int_equal(load(t, &msg), -EPERM);
	assert_false(constructor_ran(t));
}

/*
 * A sticky directory of root's above the plugin's own (a checkout under
 * /tmp) is trusted: nobody else can rename or remove what lies in it.
 */
static void test_sticky_directory_above_the_plugins_own_is_trusted(void **state)
{
	struct tree *t = *state;
	char sub[sizeof(t->dir) + 8], file[sizeof(sub) + 16];
	const char *msg = NULL;
	const struct vmrd_backend_ops *ops = NULL;
	void *handle = NULL;

	snprintf(sub, sizeof(sub), "%s/own", t->dir);
	snprintf(file, sizeof(file), "%s/ctor.so", sub);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(rename(t->file, file), 0);
	assert_int_equal(chmod(t->dir, 01777), 0);
	assert_true(backend_plugin_load(file, &ops, &handle, &msg) < 0); /* no init symbol */
	assert_non_null(msg);
	assert_non_null(strstr(msg, "no vmrd_backend_plugin_init symbol"));
	assert_true(constructor_ran(t));
	/* Without the sticky bit the same directory is not. */
	unlink(t->mark);
	assert_int_equal(chmod(t->dir, 0777), 0);
	assert_int_equal(backend_plugin_load(file, &ops, &handle, &msg), -EPERM);
	assert_non_null(strstr(msg, "mode 0777"));
	assert_false(constructor_ran(t));
	assert_int_equal(rename(file, t->file), 0);
	assert_int_equal(rmdir(sub), 0);
}

static void test_group_or_world_writable_plugin_file_is_refused_before_dlopen(void **state)
{
	struct tree *t = *state;
	const char *msg;

	set_modes(t, 0755, 0666);
	assert_int_equal(load(t, &msg), -EPERM);
	assert_non_null(strstr(msg, "file"));
	assert_non_null(strstr(msg, "mode 0666"));
	set_modes(t, 0755, 0664);
	assert_int_equal(load(t, &msg), -EPERM);
	assert_non_null(strstr(msg, "mode 0664"));
	set_modes(t, 0770, 0644);
	assert_int_equal(load(t, &msg), -EPERM);
	assert_non_null(strstr(msg, "mode 0770"));
	assert_false(constructor_ran(t));
}

static void test_plugin_owned_by_another_user_is_refused(void **state)
{
	struct tree *t = *state;
	const char *msg;

	if (geteuid() != 0)
		skip(); /* only root can give a file away */
	set_modes(t, 0755, 0644);
	assert_int_equal(chown(t->file, 4242, 4242), 0);
	assert_int_equal(load(t, &msg), -EPERM);
	assert_non_null(strstr(msg, "owned by uid 4242"));
	assert_false(constructor_ran(t));
	assert_int_equal(chown(t->file, 0, 0), 0);
	assert_int_equal(chown(t->dir, 4242, 4242), 0);
	assert_int_equal(load(t, &msg), -EPERM);
	assert_non_null(strstr(msg, "directory"));
	assert_false(constructor_ran(t));
}

static void test_link_to_a_trusted_plugin_is_checked_at_its_target(void **state)
{
	struct tree *t = *state;
	char link[700];
	const struct vmrd_backend_ops *ops = NULL;
	void *handle = NULL;
	const char *msg = NULL;

	/* The path to check is the one loaded: a link's target, not the link. */
	set_modes(t, 0755, 0666);
	snprintf(link, sizeof(link), "%s.link", t->dir);
	unlink(link);
	assert_int_equal(symlink(t->file, link), 0);
	assert_int_equal(backend_plugin_load(link, &ops, &handle, &msg), -EPERM);
	assert_non_null(strstr(msg, t->file));
	assert_false(constructor_ran(t));
	unlink(link);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_trusted_plugin_is_loaded_and_its_constructor_runs,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_plugin_in_a_world_writable_directory_is_refused_before_dlopen, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_group_or_world_writable_plugin_file_is_refused_before_dlopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sticky_directory_above_the_plugins_own_is_trusted,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_plugin_owned_by_another_user_is_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_link_to_a_trusted_plugin_is_checked_at_its_target,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * A plugin whose constructor leaves a mark: it creates the file named by
 * VMRD_TEST_CTOR_MARK.  dlopen() runs constructors before any symbol is
 * looked up, so a loader that refuses a plugin must do it before dlopen();
 * the mark says whether it did.  It exports no init symbol.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void ctor_mark(void)
{
	const char *mark = getenv("VMRD_TEST_CTOR_MARK");
	int fd;

	if (!mark)
		return;
	fd = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
}

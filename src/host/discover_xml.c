/* SPDX-License-Identifier: MIT */
/*
 * A libvirt domain's live XML -> struct discover_dom: pure (memory in,
 * struct out, no I/O, no log), so the unit test and the fuzz target run
 * it on fixtures.  What is read, and why a domain is not managed, is in
 * discover.h.
 */
#include "host/discover.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "core/parse.h"

struct xq {
	xmlDocPtr doc;
	xmlXPathContextPtr ctx;
};

/* The string value of an XPath expression ("" when nothing matches). */
static void xstr(struct xq *q, const char *expr, char *buf, size_t size)
{
	xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)expr, q->ctx);
	xmlChar *s = o ? xmlXPathCastToString(o) : NULL;

	snprintf(buf, size, "%s", s ? (const char *)s : "");
	xmlFree(s);
	xmlXPathFreeObject(o);
}

static bool xexists(struct xq *q, const char *expr)
{
	xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)expr, q->ctx);
	bool r = o && o->type == XPATH_NODESET && o->nodesetval && o->nodesetval->nodeNr > 0;

	xmlXPathFreeObject(o);
	return r;
}

/* libvirt's unit attribute (default KiB) times the element's number. */
static int unit_scale(const char *unit, uint64_t *ret)
{
	static const struct { const char *name; uint64_t scale; } units[] = {
		{ "", 1024 }, { "b", 1 }, { "bytes", 1 }, { "KB", 1000 }, { "k", 1024 },
		{ "KiB", 1024 }, { "MB", 1000000 }, { "M", 1ull << 20 }, { "MiB", 1ull << 20 },
		{ "GB", 1000000000 }, { "G", 1ull << 30 }, { "GiB", 1ull << 30 },
		{ "T", 1ull << 40 }, { "TiB", 1ull << 40 },
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(unit, units[i].name) == 0) {
			*ret = units[i].scale;
			return 0;
		}
	return -EINVAL;
}

/* A libvirt size element at path (0 when absent), in bytes. */
static int xsize(struct xq *q, const char *path, uint64_t *ret)
{
	char expr[256], num[32], unit[16];
	uint64_t v, scale;

	snprintf(expr, sizeof(expr), "string(%s)", path);
	xstr(q, expr, num, sizeof(num));
	if (num[0] == '\0') {
		*ret = 0;
		return 0;
	}
	snprintf(expr, sizeof(expr), "string(%s/@unit)", path);
	xstr(q, expr, unit, sizeof(unit));
	if (parse_u64(num, &v) < 0 || unit_scale(unit, &scale) < 0 || v > UINT64_MAX / scale)
		return -EINVAL;
	*ret = v * scale;
	return 0;
}

#define VMEM "/domain/devices/memory[@model='virtio-mem'][1]"

static int read_vmem(struct xq *q, struct discover_dom *d)
{
	int r;

	if (!xexists(q, VMEM))
		return 0;
	xstr(q, "string(" VMEM "/alias/@name)", d->vmem_alias, sizeof(d->vmem_alias));
	if ((r = xsize(q, VMEM "/target/size", &d->vmem_max_bytes)) < 0 ||
	    (r = xsize(q, VMEM "/target/block", &d->vmem_block_bytes)) < 0 ||
	    (r = xsize(q, VMEM "/target/requested", &d->vmem_requested_bytes)) < 0 ||
	    (r = xsize(q, VMEM "/target/current", &d->vmem_current_bytes)) < 0)
		return r;
	return 0;
}

static int read_memory(struct xq *q, struct discover_dom *d)
{
	xmlXPathObjectPtr o;
	uint64_t total, devices = 0;
	int r;

	if ((r = xsize(q, "/domain/memory", &total)) < 0 ||
	    (r = xsize(q, "/domain/currentMemory", &d->balloon_actual_bytes)) < 0)
		return r;
	/* <memory> counts the memory devices' sizes too; the boot memory is the rest. */
	o = xmlXPathEvalExpression((const xmlChar *)"sum(/domain/devices/memory/target/size)", q->ctx);
	if (o && o->type == XPATH_NUMBER && o->floatval > 0)
		devices = (uint64_t)o->floatval * 1024; /* libvirt writes them back in KiB */
	xmlXPathFreeObject(o);
	d->boot_bytes = total > devices ? total - devices : 0;
	if (d->balloon_actual_bytes == 0 || d->balloon_actual_bytes > d->boot_bytes)
		d->balloon_actual_bytes = d->boot_bytes;
	if (xexists(q, "/domain/devices/memballoon[@model='virtio']"))
		xstr(q, "string(/domain/devices/memballoon[@model='virtio']/alias/@name)",
		     d->balloon_alias, sizeof(d->balloon_alias));
	return read_vmem(q, d);
}

#define CHANNEL "/domain/devices/channel[@type='unix'][target/@type='virtio'][target/@name='" \
		DISCOVER_CHANNEL_NAME "']"

static void not_managed(struct discover_dom *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void not_managed(struct discover_dom *d, const char *fmt, ...)
{
	va_list ap;

	d->managed = false;
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
}

/* min, max and weight from <metadata><vmrd:vm .../>; a bad value names the field. */
static void read_metadata(struct xq *q, struct discover_dom *d)
{
	static const char *const fields[] = { "min", "max", "weight" };
	char expr[128], val[64];
	uint64_t v[3] = { d->min_bytes, d->max_bytes, d->weight };

	for (size_t i = 0; i < 3; i++) {
		snprintf(expr, sizeof(expr), "/domain/metadata/vmrd:vm/@%s", fields[i]);
		if (!xexists(q, expr))
			continue;
		snprintf(expr, sizeof(expr), "string(/domain/metadata/vmrd:vm/@%s)", fields[i]);
		xstr(q, expr, val, sizeof(val));
		if ((i < 2 ? parse_size(val, &v[i]) : parse_u64(val, &v[i])) < 0 ||
		    (i == 2 && (v[i] < 1 || v[i] > DISCOVER_WEIGHT_MAX)) || (i < 2 && v[i] == 0)) {
			not_managed(d, "vmrd metadata: %s=\"%.40s\" is not valid", fields[i], val);
			return;
		}
	}
	if (v[0] > v[1]) {
		not_managed(d, "vmrd metadata: min is larger than max");
		return;
	}
	d->min_bytes = v[0];
	d->max_bytes = v[1];
	d->weight = (uint32_t)v[2];
}

/* Which of the domain's devices vmrd can use, and whether it can manage it at all. */
static void decide(struct xq *q, struct discover_dom *d)
{
	char mode[16];

	d->managed = true;
	xstr(q, "string(" CHANNEL "/source/@path)", d->channel_path, sizeof(d->channel_path));
	xstr(q, "string(" CHANNEL "/source/@mode)", mode, sizeof(mode));
	if (!config_name_valid(d->name))
		return not_managed(d, "name \"%.40s\" is not 1-31 of A-Z a-z 0-9 . _ -", d->name);
	if (!xexists(q, CHANNEL))
		return not_managed(d, "no unix channel named %s", DISCOVER_CHANNEL_NAME);
	if (d->channel_path[0] == '\0' || (mode[0] && strcmp(mode, "bind") != 0))
		return not_managed(d, "channel %s has no socket that QEMU serves (mode %s)",
				   DISCOVER_CHANNEL_NAME, mode[0] ? mode : "unset");
	if (strlen(d->channel_path) >= DISCOVER_PATH_MAX - 1)
		return not_managed(d, "channel path too long");
	if (d->vmem_alias[0] == '\0' && d->balloon_alias[0] == '\0')
		return not_managed(d, "neither a virtio-mem device nor a virtio balloon");
	if (d->vmem_alias[0] && (d->vmem_block_bytes == 0 || d->vmem_max_bytes == 0))
		return not_managed(d, "virtio-mem device %s has no size or block", d->vmem_alias);
	d->min_bytes = d->boot_bytes;
	d->max_bytes = d->boot_bytes + (d->vmem_alias[0] ? d->vmem_max_bytes : 0);
	d->weight = 100;
	read_metadata(q, d);
}

int discover_parse_xml(const char *xml, size_t len, struct discover_dom *ret)
{
	struct xq q = { 0 };
	struct discover_dom d;
	int r = -EINVAL;

	memset(&d, 0, sizeof(d));
	if (len > DISCOVER_XML_MAX)
		return -E2BIG;
	/* No network, no entities, no DTD: the XML is libvirt's, but nothing needs more. */
	q.doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL,
			      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!q.doc)
		goto out;
	q.ctx = xmlXPathNewContext(q.doc);
	if (!q.ctx || xmlXPathRegisterNs(q.ctx, (const xmlChar *)"vmrd",
					 (const xmlChar *)DISCOVER_XMLNS) != 0)
		goto out;
	xstr(&q, "string(/domain/name)", d.name, sizeof(d.name));
	if (!xexists(&q, "/domain/name"))
		goto out;
	if (read_memory(&q, &d) < 0) {
		not_managed(&d, "a memory size in the domain XML is not a number");
	} else {
		decide(&q, &d);
	}
	*ret = d;
	r = 0;
out:
	xmlXPathFreeContext(q.ctx);
	xmlFreeDoc(q.doc);
	return r;
}

/* The first node of an XPath expression, or NULL. */
static xmlNodePtr xnode(struct xq *q, const char *expr)
{
	xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)expr, q->ctx);
	xmlNodePtr n = NULL;

	if (o && o->type == XPATH_NODESET && o->nodesetval && o->nodesetval->nodeNr > 0)
		n = o->nodesetval->nodeTab[0];
	xmlXPathFreeObject(o);
	return n;
}

static bool alias_usable(const char *s)
{
	for (; *s; s++)
		if (*s == '\'' || *s == '"' || *s == '\\')
			return false;
	return true;
}

int discover_vmem_update_xml(const char *xml, size_t len, const char *alias, uint64_t bytes,
			     char **ret)
{
	struct xq q = { 0 };
	xmlBufferPtr buf = NULL;
	xmlNodePtr dev, target, req;
	char expr[160], num[32];
	int r = -EINVAL;

	if (len > DISCOVER_XML_MAX || !alias_usable(alias))
		return -EINVAL;
	q.doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL,
			      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!q.doc || !(q.ctx = xmlXPathNewContext(q.doc)))
		goto out;
	snprintf(expr, sizeof(expr), "/domain/devices/memory[@model='virtio-mem'][alias/@name='%s']", alias);
	dev = xnode(&q, expr);
	if (!dev) {
		r = -ENOENT;
		goto out;
	}
	for (target = dev->children; target && !xmlStrEqual(target->name, (const xmlChar *)"target");
	     target = target->next)
		;
	if (!target)
		goto out;
	for (req = target->children; req && !xmlStrEqual(req->name, (const xmlChar *)"requested");
	     req = req->next)
		;
	if (!req)
		req = xmlNewChild(target, NULL, (const xmlChar *)"requested", NULL);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)(bytes / 1024));
	xmlNodeSetContent(req, (const xmlChar *)num);
	xmlSetProp(req, (const xmlChar *)"unit", (const xmlChar *)"KiB");
	buf = xmlBufferCreate();
	if (!buf || xmlNodeDump(buf, q.doc, dev, 0, 0) < 0)
		goto out;
	*ret = strdup((const char *)xmlBufferContent(buf));
	r = *ret ? 0 : -ENOMEM;
out:
	xmlBufferFree(buf);
	xmlXPathFreeContext(q.ctx);
	xmlFreeDoc(q.doc);
	return r;
}

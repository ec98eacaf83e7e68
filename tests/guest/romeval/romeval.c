// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * romeval: evaluates an ACPI _ROM method the way a GPU driver does (4 KiB
 * calls, ACPI 6.4 B.4.3) and exposes what it returned as /proc/qlaunch-rom,
 * so qlaunch's test guest can compare it byte for byte with the ROM file.
 *   insmod romeval.ko path=_SB.PCI0.SE0.S00 size=65536
 */
#include <linux/acpi.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/vmalloc.h>

/* without the leading backslash, which a kernel command line mangles */
static char *path = "_SB.PCI0.SE0.S00";
module_param(path, charp, 0444);
static int size;
module_param(size, int, 0444);

#define CHUNK 0x1000

static u8 *rom;
static size_t rom_len;

static ssize_t rom_read(struct file *file, char __user *buf, size_t count, loff_t *pos)
{
	return simple_read_from_buffer(buf, count, pos, rom, rom_len);
}

static const struct proc_ops rom_ops = {
	.proc_read = rom_read,
	.proc_lseek = default_llseek,
};

static int __init romeval_init(void)
{
	acpi_handle handle;
	acpi_status status;
	ktime_t start = ktime_get();
	s64 first_ms = -1;
	int calls = 0;

	char abs[64];

	snprintf(abs, sizeof(abs), "\\%s", path);
	status = acpi_get_handle(NULL, abs, &handle);
	if (ACPI_FAILURE(status)) {
		pr_err("romeval: %s: %s\n", path, acpi_format_exception(status));
		return -ENODEV;
	}
	if (size <= 0 || size > (16 << 20))
		return -EINVAL;
	rom = vzalloc(size);
	if (!rom)
		return -ENOMEM;
	while (rom_len < size) {
		union acpi_object args[2] = {
			{ .integer = { .type = ACPI_TYPE_INTEGER, .value = rom_len } },
			{ .integer = { .type = ACPI_TYPE_INTEGER, .value = CHUNK } },
		};
		struct acpi_object_list list = { 2, args };
		struct acpi_buffer out = { ACPI_ALLOCATE_BUFFER, NULL };
		union acpi_object *obj;
		size_t n, got;

		status = acpi_evaluate_object(handle, "_ROM", &list, &out);
		calls++;
		if (first_ms < 0)
			first_ms = ktime_ms_delta(ktime_get(), start);
		if (ACPI_FAILURE(status)) {
			pr_err("romeval: %s._ROM(0x%zx, 0x%x): %s\n", path, rom_len, CHUNK,
			       acpi_format_exception(status));
			break;
		}
		obj = out.pointer;
		if (!obj || obj->type != ACPI_TYPE_BUFFER) {
			pr_err("romeval: %s._ROM returned no buffer\n", path);
			kfree(out.pointer);
			break;
		}
		got = obj->buffer.length;
		n = min_t(size_t, got, size - rom_len);
		memcpy(rom + rom_len, obj->buffer.pointer, n);
		rom_len += n;
		kfree(out.pointer);
		if (got < CHUNK)
			break;
	}
	pr_info("romeval: %s._ROM: %zu bytes in %d calls, first call %lld ms, all %lld ms\n", path, rom_len,
		calls, first_ms, ktime_ms_delta(ktime_get(), start));
	if (!proc_create("qlaunch-rom", 0444, NULL, &rom_ops)) {
		vfree(rom);
		return -ENOMEM;
	}
	return 0;
}

static void __exit romeval_exit(void)
{
	remove_proc_entry("qlaunch-rom", NULL);
	vfree(rom);
}

module_init(romeval_init);
module_exit(romeval_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Evaluate ACPI _ROM for qlaunch's tests");

#pragma once

#include <glib.h>

/* The PCI option ROM inside an NVIDIA vBIOS dump made by a flash tool
 * (nvflash, GPU-Z, downloaded collections): such a dump starts with the
 * tool's own header and may end with an NVIDIA image that is not part of
 * the PCI chain.  The markers are those of NVIDIA-vBIOS-VFIO-Patcher:
 *   start:  55 AA ?? EB <10 bytes> "VIDEO"
 *   footer: "VN" <174 bytes> "NPDS" <28 bytes> "NPDE"
 * searched as bytes.  Pure. */

typedef struct {
  gsize start, end;          /* the image is data[start, end) */
  gboolean footer_found;     /* end is the footer; else the PCI chain's end or the data's */
  guint npds, npde;          /* markers in [start, footer) */
  GPtrArray *notes;          /* char*: what was decided, for the user */
} QlRomSplice;

void ql_rom_splice_clear (QlRomSplice *splice);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (QlRomSplice, ql_rom_splice_clear)

typedef struct {
  gboolean keep_footer;      /* data[start:], like --disable-footer-strip */
  gboolean ignore_sanity;    /* the marker counts of Pascal ROMs are a warning only */
  gssize at;                 /* >= 0: the start offset, when the dump holds several */
} QlRomSpliceOptions;

/* Finds the image and checks it parses as an NVIDIA display ROM (vendor
 * 10de, class 03xxxx).  Fails when there is no start marker, when several
 * complete ROMs start in the data (ambiguous: pass .at), or when the
 * footer's marker counts are not the patcher's (unless ignore_sanity).
 * *ret_splice is set only on success; free it with ql_rom_splice_clear(). */
gboolean ql_rom_nvidia_splice (const guint8 *data, gsize size, const QlRomSpliceOptions *options,
                               QlRomSplice *ret_splice, GError **error);

/*
 * A baseline JPEG without restart markers, decoded at 1/2, 1/4 or 1/8 of its size on two cores.
 *
 * Why: a Huffman-coded scan is serial (each code starts where the last one ended), so libjpeg
 * decodes a camera JPEG on one core, and at 1/4 scale that pass is most of the checks' time.
 * Huffman codes resynchronise: a decoder started at an arbitrary bit soon lands on the true
 * code and block boundaries. So the second thread ("B") starts decoding in the middle of the
 * entropy-coded data, guessing that an MCU starts there, and notes where each of its MCUs
 * started. The first thread ("A") decodes from the start, writing rows as it goes; once it is
 * past B's start it compares each of its MCU starts with B's notes. The same bit position at an
 * MCU start is the same decoder state from there on (decoding is deterministic), so A stops and
 * B's MCUs from that one on are the image's, except their DC values: the DC is coded as a
 * difference from the previous block's, and B began with made-up predecessors. That error is one
 * constant per component, known once A and B meet, and added when B's blocks are written out.
 * When they never meet (B never synchronised), A decodes the rest itself: the same result later.
 * The two then write B's rows, A from the top as B decodes them, B from the bottom once done.
 *
 * Every MCU's start (bit and DC predictors) is noted in an index, from which decode_window later
 * decodes any window at any scale from its own MCUs alone: the finer crop of a small person.
 *
 * The scaled output is libjpeg-turbo's: its reduced IDCTs (jidctred.c) give for each output
 * pixel the mean of the full-size block's pixels it covers, which is what the weights below
 * compute (in float, rounded once, so a pixel may differ from libjpeg's by a level or so); the
 * IDCT sizes are jdmaster.c's, and 4:2:2 chroma is upsampled across as jdsample.c does.
 *
 * Hostile input: every read is bounded (past the data the reader gives zero bits), every write
 * is inside the buffers sized here from the header's numbers, checked by the Python side too.
 * Anything odd returns an error and the caller decodes the ordinary way.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LOOKBITS 11
#define MAXCOMP 3
#define MAXBLOCKS 10 /* blocks in one MCU (the JPEG limit) */
#define MAXOUT 64    /* outputs of one block: at most 8 × 8 (chroma at 1/2) */

typedef float v4sf __attribute__((vector_size(16))); /* four sums at once (SSE2, NEON) */

typedef struct {
    uint16_t look[1 << LOOKBITS]; /* (length << 8) | symbol for codes of ≤ LOOKBITS bits; 0: longer */
    int32_t maxcode[18];          /* the largest code of each length, -1 when none */
    int32_t valoffset[17];        /* index in vals of a length's codes, minus its first code */
    uint8_t vals[256];
    int nvals;
    /* AC tables: code and value in ≤ LOOKBITS bits at once: value << 8 | run << 4 | bits, value
     * 0 for a zero run or the end of a block; 0: not in this many bits */
    int32_t fast_ac[1 << LOOKBITS];
} huff_t;

typedef struct {
    int h, v;        /* sampling factors */
    int nx, ny;      /* output pixels of one block, across and down */
    int nout;        /* nx * ny */
    int ux;          /* 2: its samples are upsampled across (libjpeg's fancy h2v1: 4:2:2) */
    int dw;          /* its samples across the image (libjpeg's downsampled_width) */
    int first;       /* its first block in an MCU */
    int dcq2;        /* an output's part of the DC value, × 16: quantiser / 8 × 16 */
    float w[64][MAXOUT] __attribute__((aligned(16)));
    const huff_t *dc, *ac;
} comp_t;

typedef struct {
    uint64_t buf;
    int bits;            /* valid bits, at the bottom of buf */
    size_t next;         /* the next byte to load */
    const uint8_t *data; /* the entropy-coded bytes, unstuffed */
    size_t n;
} reader_t;

typedef struct job {
    /* the image */
    int ncomp, mcux, mcuy, mw, mh, outw, outh, nblocks;
    comp_t comp[MAXCOMP];
    int block_comp[MAXBLOCKS];
    int block_off[MAXBLOCKS]; /* where a block's outputs start in an MCU's record */
    int rec;                  /* outputs of one MCU */
    int16_t pix_src[MAXCOMP][256]; /* for each output pixel of an MCU: its output in the record */
    uint8_t pix_blk[MAXCOMP][256]; /* … and its block (whose DC value it takes) */
    huff_t huff[8];
    const uint8_t *data;
    size_t n;
    uint8_t *out;         /* RGBX rows of the target: tw × th pixels at (ox, oy) of the image */
    int ox, oy, tw, th;
    int split;            /* the scan bytes from which a second thread joins in (0: never) */
    long interval;        /* MCUs per restart interval (0: no restart markers) */
    size_t *rst;          /* where each restart interval starts (unstuffed byte) */
    long nrst;
    long startB_mcu;      /* with restart markers: the MCU B starts at (a known state) */
    long maxrst;          /* the intervals the MCUs make */
    int upsample;         /* some component's samples are upsampled across: rows written whole */
    int fancy;            /* … as libjpeg's fancy upsampling (not at 1/8: jdsample.c) */
    int chroma_whole;     /* 3 components, the two chroma ones last with one block per MCU
                             whose outputs are the MCU's pixels in order (4:2:0, 4:4:4) */
    int64_t *index_pos;   /* where each MCU starts (bit), -1 unknown; NULL: not kept */
    int32_t *index_pred;  /* … and the DC predictors there (MAXCOMP per MCU) */
    /* B: its MCUs' records and where (bit) each began, and its DC predictors there */
    size_t startB;        /* the byte B starts at */
    int16_t *recB;
    int32_t *dcB;         /* nblocks per MCU */
    uint64_t *posB;
    int32_t *predB;       /* ncomp per MCU */
    long capB;
    volatile long doneB;  /* MCUs B has finished (published with release order) */
    volatile int endedB;
    volatile int stop;    /* A asks B to stop (A decoded everything) */
    volatile int joined;  /* 1: A met B's decode (jn says how), 2: it never will */
    volatile int short_b; /* B found its decode ended short of a row it wrote */
    struct joined *jn;
    int16_t *rowrec;      /* A's row of MCU records, where rows are written whole (upsample) */
    int32_t *rowdc;
    struct row_refs *refs;
    volatile int *progress; /* MCU rows written to out so far */
} job_t;

/* ---------------------------------------------------------------- Huffman tables and bits */

static int build_huff(huff_t *t, const uint8_t *bits, const uint8_t *vals, int nvals)
{
    int code = 0, k = 0, total = 0;
    for (int l = 0; l < 16; l++)
        total += bits[l];
    if (total != nvals || total > 256 || total == 0)
        return -1;
    memset(t->look, 0, sizeof t->look);
    memcpy(t->vals, vals, nvals);
    t->nvals = nvals;
    for (int l = 1; l <= 16; l++) {
        int count = bits[l - 1];
        t->valoffset[l] = k - code;
        for (int i = 0; i < count; i++, code++, k++) {
            if (code >= (1 << l))
                return -1; /* more codes than this length has room for */
            if (l <= LOOKBITS) {
                int shift = LOOKBITS - l, first = code << shift;
                for (int r = 0; r < (1 << shift); r++)
                    t->look[first | r] = (uint16_t)((l << 8) | vals[k]);
            }
        }
        t->maxcode[l] = count ? code - 1 : -1;
        code <<= 1;
    }
    t->maxcode[0] = -1;
    t->maxcode[17] = INT32_MAX;
    for (int peek = 0; peek < (1 << LOOKBITS); peek++) {
        unsigned e = t->look[peek];
        int len = (int)(e >> 8), run = (e >> 4) & 15, size = e & 15;
        t->fast_ac[peek] = 0;
        if (e && !size) /* a zero run (ZRL) or the end of a block: no value */
            t->fast_ac[peek] = (int32_t)((run << 4) | len);
        if (e && size && len + size <= LOOKBITS) {
            int v = (peek >> (LOOKBITS - len - size)) & ((1 << size) - 1);
            v = v < (1 << (size - 1)) ? v - (1 << size) + 1 : v;
            t->fast_ac[peek] = (int32_t)((uint32_t)v << 8) | (run << 4) | (len + size);
        }
    }
    return 0;
}

static inline void refill(reader_t *r)
{
    if (r->next + 8 <= r->n) { /* whole bytes up to 64 bits, big-endian */
        uint64_t v;
        int bytes = (64 - r->bits) >> 3;
        memcpy(&v, r->data + r->next, 8);
        v = __builtin_bswap64(v);
        r->buf = bytes == 8 ? v : (r->buf << (bytes * 8)) | (v >> (64 - bytes * 8));
        r->bits += bytes * 8;
        r->next += (size_t)bytes;
        return;
    }
    while (r->bits <= 56) { /* the last bytes, then zeros */
        uint8_t byte = r->next < r->n ? r->data[r->next] : 0;
        r->next++;
        r->buf = (r->buf << 8) | byte;
        r->bits += 8;
    }
}

static inline uint64_t bitpos(const reader_t *r) { return (uint64_t)r->next * 8 - (uint64_t)r->bits; }

static inline void seek(reader_t *r, uint64_t pos)
{
    r->next = (size_t)(pos / 8);
    r->bits = 0;
    r->buf = 0;
    refill(r);
    r->bits -= (int)(pos % 8);
}

static inline int get_bits(reader_t *r, int s)
{
    r->bits -= s;
    return (int)((r->buf >> r->bits) & ((1u << s) - 1));
}

static inline int extend(int v, int s) { return v < (1 << (s - 1)) ? v - (1 << s) + 1 : v; }

/* DC predictors add modulo 2^32: on sound data they stay small, and a second thread's made-up
 * start is put right exactly by the same arithmetic; on garbage they only wrap (no overflow). */
static inline int32_t wrap_add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

struct job;
static inline int restart_at(const struct job *j, reader_t *r, int32_t *pred, long m);

/* The next symbol; -1 where the bits are no code of the table. Needs 16 bits in the buffer. */
static inline int decode_symbol(reader_t *r, const huff_t *t)
{
    unsigned e = t->look[(r->buf >> (r->bits - LOOKBITS)) & ((1u << LOOKBITS) - 1)];
    if (e) {
        r->bits -= (int)(e >> 8);
        return (int)(e & 0xFF);
    }
    for (int l = LOOKBITS + 1; l <= 16; l++) {
        int32_t code = (int32_t)((r->buf >> (r->bits - l)) & ((1u << l) - 1));
        if (code <= t->maxcode[l]) {
            int idx = t->valoffset[l] + code;
            if (idx < 0 || idx >= t->nvals)
                return -1;
            r->bits -= l;
            return t->vals[idx];
        }
    }
    return -1;
}

/* One block: its outputs × 16 without the DC part (added when written out, so that a DC value
 * corrected later is exact) and without the +128 level shift; its DC value into *dc. -1 on bits
 * that are no code. The predictor is the component's DC so far. NOUT: the block's outputs, a
 * constant in each copy so that the compiler unrolls the sums. */
#define DECODE_BLOCK(NAME, NOUT_EXPR, SUMS)                                                    \
    static inline int NAME(reader_t *r, const comp_t *c, int32_t *pred, int16_t *out,         \
                           int32_t *dc)                                                        \
    {                                                                                          \
        const int nout = (NOUT_EXPR);                                                          \
        v4sf acc[SUMS] = {0};                                                                  \
        if (r->bits < 32)                                                                      \
            refill(r);                                                                         \
        int s = decode_symbol(r, c->dc);                                                       \
        if (s < 0 || s > 15)                                                                   \
            return -1;                                                                         \
        if (s) {                                                                               \
            if (r->bits < 32)                                                                  \
                refill(r);                                                                     \
            *pred = wrap_add(*pred, extend(get_bits(r, s), s));                                \
        }                                                                                      \
        *dc = *pred;                                                                           \
        const int32_t *fast = c->ac->fast_ac;                                                  \
        uint64_t buf = r->buf; /* the reader in registers through the block */                 \
        int bits = r->bits;                                                                    \
        for (int k = 1; k < 64;) {                                                             \
            if (bits < 32) {                                                                   \
                r->buf = buf, r->bits = bits;                                                  \
                refill(r);                                                                     \
                buf = r->buf, bits = r->bits;                                                  \
            }                                                                                  \
            int32_t f = fast[(buf >> (bits - LOOKBITS)) & ((1u << LOOKBITS) - 1)];             \
            int v;                                                                             \
            if (__builtin_expect(f != 0, 1)) {                                                 \
                bits -= f & 15;                                                                \
                v = f >> 8;                                                                    \
                if (v == 0) { /* a zero run: 16 zeros (ZRL), or the end of the block */        \
                    if (((f >> 4) & 15) != 15)                                                 \
                        break;                                                                 \
                    k += 16;                                                                   \
                    continue;                                                                  \
                }                                                                              \
                k += (f >> 4) & 15;                                                            \
            } else {                                                                           \
                r->buf = buf, r->bits = bits;                                                  \
                int rs = decode_symbol(r, c->ac);                                              \
                if (rs < 0)                                                                    \
                    return -1;                                                                 \
                int run = rs >> 4, size = rs & 15;                                             \
                if (!size) {                                                                   \
                    buf = r->buf, bits = r->bits;                                              \
                    if (run != 15)                                                             \
                        break; /* end of block */                                              \
                    k += 16;                                                                   \
                    continue;                                                                  \
                }                                                                              \
                k += run;                                                                      \
                v = extend(get_bits(r, size), size);                                           \
                buf = r->buf, bits = r->bits;                                                  \
            }                                                                                  \
            if (k > 63)                                                                        \
                break; /* as libjpeg: the block ends there */                                  \
            const v4sf *w = (const v4sf *)c->w[k]; /* zeros where it reaches no output */      \
            const float fv = (float)v;                                                         \
            for (int i = 0; i < (nout + 3) / 4; i++)                                           \
                acc[i] += fv * w[i];                                                           \
            k++;                                                                               \
        }                                                                                      \
        r->buf = buf, r->bits = bits;                                                          \
        const float *sums = (const float *)acc;                                                \
        for (int i = 0; i < nout; i++) {                                                       \
            float x = sums[i] * 16.0f;                                                         \
            x = x > 32000.0f ? 32000.0f : x < -32000.0f ? -32000.0f : x;                       \
            out[i] = (int16_t)lrintf(x);                                                       \
        }                                                                                      \
        return 0;                                                                              \
    }

DECODE_BLOCK(decode_block_1, 1, 1)
DECODE_BLOCK(decode_block_4, 4, 1)
DECODE_BLOCK(decode_block_16, 16, 4)
DECODE_BLOCK(decode_block_64, 64, 16)
DECODE_BLOCK(decode_block_any, c->nout, MAXOUT / 4)

static inline int decode_block(reader_t *r, const comp_t *c, int32_t *pred, int16_t *out,
                               int32_t *dc)
{
    switch (c->nout) {
    case 4: return decode_block_4(r, c, pred, out, dc);
    case 16: return decode_block_16(r, c, pred, out, dc);
    case 64: return decode_block_64(r, c, pred, out, dc);
    case 1: return decode_block_1(r, c, pred, out, dc);
    default: return decode_block_any(r, c, pred, out, dc);
    }
}

static inline int decode_mcu(const job_t *j, reader_t *r, int32_t *pred, int16_t *rec,
                             int32_t *dc)
{
    for (int b = 0; b < j->nblocks; b++) {
        int c = j->block_comp[b];
        if (decode_block(r, &j->comp[c], &pred[c], rec + j->block_off[b], &dc[b]) < 0)
            return -1;
    }
    return 0;
}

/* At MCU m, where a restart interval begins: the reader to its first byte, the predictors to
 * zero (as after an RSTn marker). -1 when the file has fewer intervals than its MCUs need. */
static inline int restart_at(const job_t *j, reader_t *r, int32_t *pred, long m)
{
    if (!j->interval || m == 0 || m % j->interval)
        return 0;
    long k = m / j->interval;
    if (k >= j->nrst)
        return -1;
    seek(r, (uint64_t)j->rst[k] * 8);
    memset(pred, 0, sizeof(int32_t) * MAXCOMP);
    return 0;
}

/* ---------------------------------------------------------------- pixels */

static inline uint8_t clamp8(int x) { return (uint8_t)(x < 0 ? 0 : x > 255 ? 255 : x); }

static inline void put_rgb(uint8_t *px, int Y, int cb, int cr)
{
    px[0] = clamp8(Y + ((91881 * cr + 32768) >> 16));
    px[1] = clamp8(Y + ((-22554 * cb - 46802 * cr + 32768) >> 16));
    px[2] = clamp8(Y + ((116130 * cb + 32768) >> 16));
    px[3] = 255;
}

/* One MCU's record written as RGBX pixels; corr: what to add to each component's DC values. */
static void put_mcu(const job_t *j, long m, const int16_t *rec, const int32_t *dc,
                    const int32_t *corr)
{
    int32_t base[MAXBLOCKS]; /* each block's DC part, rounding and level shift, × 16 */
    for (int b = 0; b < j->nblocks; b++) {
        int c = j->block_comp[b];
        int64_t x = (int64_t)wrap_add(dc[b], corr[c]) * j->comp[c].dcq2 + 8 + (128 << 4);
        base[b] = (int32_t)(x > (1 << 30) ? (1 << 30) : x < -(1 << 30) ? -(1 << 30) : x);
    }
    int mx = (int)(m % j->mcux), my = (int)(m / j->mcux);
    int x0 = mx * j->mw, y0 = my * j->mh; /* the MCU's pixels, clipped to the target */
    int xa = x0 > j->ox ? x0 : j->ox, ya = y0 > j->oy ? y0 : j->oy;
    int xb = x0 + j->mw, yb = y0 + j->mh;
    xb = xb < j->ox + j->tw ? xb : j->ox + j->tw;
    yb = yb < j->oy + j->th ? yb : j->oy + j->th;
    if (xa >= xb || ya >= yb)
        return;
    const int16_t *sy = j->pix_src[0];
    const uint8_t *by = j->pix_blk[0];
    if (j->ncomp == 3 && j->chroma_whole) { /* 4:2:0 or 4:4:4: each chroma output one pixel */
        const int16_t *cbrec = rec + j->block_off[j->nblocks - 2], *crrec = rec + j->block_off[j->nblocks - 1];
        const int32_t cbbase = base[j->nblocks - 2], crbase = base[j->nblocks - 1];
        for (int y = ya; y < yb; y++) {
            uint8_t *px = j->out + ((size_t)(y - j->oy) * j->tw + (xa - j->ox)) * 4;
            int i = (y - y0) * j->mw + (xa - x0);
            for (int x = xa; x < xb; x++, px += 4, i++)
                put_rgb(px, clamp8((rec[sy[i]] + base[by[i]]) >> 4),
                        clamp8((cbrec[i] + cbbase) >> 4) - 128, clamp8((crrec[i] + crbase) >> 4) - 128);
        }
        return;
    }
    const int16_t *scb = j->pix_src[1], *scr = j->pix_src[2];
    const uint8_t *bcb = j->pix_blk[1], *bcr = j->pix_blk[2];
    for (int y = ya; y < yb; y++) {
        uint8_t *px = j->out + ((size_t)(y - j->oy) * j->tw + (xa - j->ox)) * 4;
        int i = (y - y0) * j->mw + (xa - x0);
        for (int x = xa; x < xb; x++, px += 4, i++) {
            int Y = clamp8((rec[sy[i]] + base[by[i]]) >> 4);
            if (j->ncomp == 1) {
                px[0] = px[1] = px[2] = (uint8_t)Y;
                px[3] = 255;
            } else {
                put_rgb(px, Y, clamp8((rec[scb[i]] + base[bcb[i]]) >> 4) - 128,
                        clamp8((rec[scr[i]] + base[bcr[i]]) >> 4) - 128);
            }
        }
    }
}

/* One MCU row's pixels where some component is upsampled across (4:2:2): its samples along each
 * output row from the MCUs' records (mcu i of the row: recs[i], dcs[i], its DC correction
 * corrs[i]), then libjpeg's h2v1 fancy upsampling (3/4 of the nearer sample, 1/4 of the further,
 * the edges repeated), then colour. Only the target's columns (and a sample each side). */
static void put_row_up(const job_t *j, long row, const int16_t *const *recs,
                       const int32_t *const *dcs, const int32_t *const *corrs)
{
    int y0 = (int)row * j->mh;
    int ya = y0 > j->oy ? y0 : j->oy, yb = y0 + j->mh;
    int xa = j->ox, xb = j->ox + j->tw;
    yb = yb < j->oy + j->th ? yb : j->oy + j->th;
    if (ya >= yb)
        return;
    uint8_t line[MAXCOMP][65536 / 2 + 16];     /* native samples of a component along a row */
    uint8_t up[MAXCOMP][65536 / 2 + 32];       /* … upsampled, the target's columns */
    for (int y = ya; y < yb; y++) {
        int yy = y - y0;
        for (int c = 1; c < j->ncomp; c++) {
            const comp_t *k = &j->comp[c];
            if (k->ux == 1)
                continue;
            int lo = xa / 2 - 1, hi = (xb + 1) / 2 + 1; /* native samples needed */
            lo = lo < 0 ? 0 : lo;
            hi = hi > k->dw ? k->dw : hi;
            int across = k->h * k->nx; /* native samples per MCU */
            for (int i = lo; i < hi; i++) {
                int mcu = i / across, within = i % across;
                int block = (yy / k->ny) * k->h + within / k->nx;
                const int16_t *rec = recs[mcu];
                int b = k->first + block;
                int64_t x = rec[j->block_off[b] + (yy % k->ny) * k->nx + within % k->nx] +
                            (int64_t)wrap_add(dcs[mcu][b], corrs[mcu][c]) * k->dcq2 + 8 + (128 << 4);
                x = x > (1 << 30) ? (1 << 30) : x < -(1 << 30) ? -(1 << 30) : x;
                line[c][i] = clamp8((int)(x >> 4));
            }
            int last = k->dw - 1;
            uint8_t *out = up[c];
            for (int x = xa; x < xb; x++) { /* output column x from native sample x / 2 */
                int i = x / 2, v3 = line[c][i] * 3;
                if (!j->fancy)
                    out[x - xa] = line[c][i]; /* at 1/8 libjpeg repeats the sample */
                else if (x % 2 == 0)
                    out[x - xa] = (uint8_t)(i == 0 ? line[c][0] : (v3 + line[c][i - 1] + 1) >> 2);
                else
                    out[x - xa] = (uint8_t)(i >= last ? line[c][last] : (v3 + line[c][i + 1] + 2) >> 2);
            }
        }
        uint8_t *px = j->out + ((size_t)(y - j->oy) * j->tw) * 4;
        const comp_t *ky = &j->comp[0];
        for (int x = xa; x < xb; x++, px += 4) {
            int mcu = x / j->mw, within = x % j->mw;
            int block = (yy / ky->ny) * ky->h + within / ky->nx;
            const int16_t *rec = recs[mcu];
            int b = ky->first + block;
            int64_t v = rec[j->block_off[b] + (yy % ky->ny) * ky->nx + within % ky->nx] +
                        (int64_t)wrap_add(dcs[mcu][b], corrs[mcu][0]) * ky->dcq2 + 8 + (128 << 4);
            v = v > (1 << 30) ? (1 << 30) : v < -(1 << 30) ? -(1 << 30) : v;
            int Y = clamp8((int)(v >> 4));
            if (j->ncomp == 1) {
                px[0] = px[1] = px[2] = (uint8_t)Y;
                px[3] = 255;
                continue;
            }
            int cc[MAXCOMP];
            for (int c = 1; c < 3; c++) {
                const comp_t *k = &j->comp[c];
                if (k->ux == 2) {
                    cc[c] = up[c][x - xa] - 128;
                    continue;
                }
                int bc = k->first + (yy / k->ny) * k->h + within / k->nx;
                int64_t w = rec[j->block_off[bc] + (yy % k->ny) * k->nx + within % k->nx] +
                            (int64_t)wrap_add(dcs[mcu][bc], corrs[mcu][c]) * k->dcq2 + 8 + (128 << 4);
                w = w > (1 << 30) ? (1 << 30) : w < -(1 << 30) ? -(1 << 30) : w;
                cc[c] = clamp8((int)(w >> 4)) - 128;
            }
            put_rgb(px, Y, cc[1], cc[2]);
        }
    }
}

/* A row's MCU records for put_row_up: pointers into a block of consecutive records. */
typedef struct row_refs {
    const int16_t *recs[65536 / 8];
    const int32_t *dcs[65536 / 8];
    const int32_t *corrs[65536 / 8];
} row_refs_t;

static void refs_of(const job_t *j, row_refs_t *refs, const int16_t *rec, const int32_t *dc,
                    const int32_t *corr)
{
    for (long i = 0; i < j->mcux; i++) {
        refs->recs[i] = rec + (size_t)i * j->rec;
        refs->dcs[i] = dc + (size_t)i * j->nblocks;
        refs->corrs[i] = corr;
    }
}

/* ---------------------------------------------------------------- the two threads */

/* After A and B met: which of B's MCUs are the image's, and the rows of them still to write,
 * claimed one at a time from the top (A, as B decodes them) and from the bottom (B, once done). */
typedef struct joined {
    long met, shift;   /* image MCU met on is B's MCU met - shift */
    int32_t corr[MAXCOMP];
    long lo, hi;       /* the MCU rows not yet claimed */
    pthread_mutex_t lock;
} joined_t;

static long claim(job_t *j, joined_t *jn, int from_top)
{
    long row = -1;
    pthread_mutex_lock(&jn->lock);
    if (jn->lo < jn->hi)
        row = from_top ? jn->lo++ : --jn->hi;
    pthread_mutex_unlock(&jn->lock);
    (void)j;
    return row;
}

/* A wait for the other thread: a few yields, then short sleeps, so that a long wait (one half
 * of a file much easier to decode than the other) leaves the core to the capture's other work. */
static void wait_a_little(int *waited)
{
    if (++*waited < 64) {
        sched_yield();
    } else {
        struct timespec brief = {0, 50000}; /* 50 µs */
        nanosleep(&brief, NULL);
    }
}

static int wait_b(job_t *j, long mb)
{
    int waited = 0;
    while (__atomic_load_n(&j->doneB, __ATOMIC_ACQUIRE) <= mb) {
        if (__atomic_load_n(&j->endedB, __ATOMIC_ACQUIRE) &&
            __atomic_load_n(&j->doneB, __ATOMIC_ACQUIRE) <= mb)
            return -1;
        wait_a_little(&waited);
    }
    return 0;
}

/* Write B's MCUs of one claimed row; waiting for B to have decoded them. 0, or -1 when B
 * ended short of them (it cannot on sound data). */
static int put_row(job_t *j, joined_t *jn, long row)
{
    long first = row * j->mcux > jn->met ? row * j->mcux : jn->met;
    if (j->upsample) { /* a whole row of B's (the one it shares with A is A's to write) */
        row_refs_t refs;
        if (wait_b(j, (row + 1) * j->mcux - 1 - jn->shift) < 0)
            return -1;
        long mb = row * j->mcux - jn->shift;
        refs_of(j, &refs, j->recB + (size_t)mb * j->rec, j->dcB + (size_t)mb * j->nblocks, jn->corr);
        put_row_up(j, row, refs.recs, refs.dcs, refs.corrs);
        return 0;
    }
    for (long m = first; m < (row + 1) * j->mcux; m++) {
        long mb = m - jn->shift;
        if (wait_b(j, mb) < 0)
            return -1;
        put_mcu(j, m, j->recB + (size_t)mb * j->rec, j->dcB + (size_t)mb * j->nblocks, jn->corr);
    }
    return 0;
}

/* B: from startB to the end of the data, a record per MCU, starting over one bit further on
 * bits that are no code; then it helps A write its rows, from the bottom. */
static void *run_b(void *arg)
{
    job_t *j = arg;
    reader_t r = {0, 0, 0, j->data, j->n};
    uint64_t end = (uint64_t)j->n * 8;
    int32_t pred[MAXCOMP] = {0, 0, 0};
    seek(&r, (uint64_t)j->startB * 8);
    long m = 0;
    while (m < j->capB && !j->stop) {
        if (j->interval && (m > 0 && restart_at(j, &r, pred, j->startB_mcu + m) < 0))
            break;
        uint64_t pos = bitpos(&r);
        if (pos >= end)
            break;
        j->posB[m] = pos;
        memcpy(&j->predB[m * MAXCOMP], pred, sizeof pred);
        if (decode_mcu(j, &r, pred, j->recB + (size_t)m * j->rec,
                       j->dcB + (size_t)m * j->nblocks) < 0) {
            if (j->interval)
                break; /* B started at a known state: the data is bad here */
            seek(&r, pos + 1); /* not a true MCU start: try the next bit */
            memset(pred, 0, sizeof pred);
            continue;
        }
        m++;
        if ((m & 63) == 0)
            __atomic_store_n(&j->doneB, m, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&j->doneB, m, __ATOMIC_RELEASE);
    __atomic_store_n(&j->endedB, 1, __ATOMIC_RELEASE);
    /* wait for A to meet this decode (or to give up on it), then write rows from the bottom */
    int state, waited = 0;
    while ((state = __atomic_load_n(&j->joined, __ATOMIC_ACQUIRE)) == 0)
        wait_a_little(&waited);
    if (state == 1) {
        long row;
        while ((row = claim(j, j->jn, 0)) >= 0)
            if (put_row(j, j->jn, row) < 0)
                __atomic_store_n(&j->short_b, 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

static inline void note(job_t *j, long m, uint64_t pos, const int32_t *pred, const int32_t *corr)
{
    j->index_pos[m] = (int64_t)pos;
    for (int c = 0; c < MAXCOMP; c++)
        j->index_pred[m * MAXCOMP + c] = wrap_add(pred[c], corr[c]);
}

/* A, on the calling thread. The MCU from which B's decode was taken (all of them: A decoded
 * alone); -1: the data is not what the header said. */
static int run(job_t *j)
{
    long total = (long)j->mcux * j->mcuy;
    int16_t rec[MAXBLOCKS * MAXOUT];
    int32_t dc[MAXBLOCKS];
    int32_t pred[MAXCOMP] = {0, 0, 0}, zero[MAXCOMP] = {0, 0, 0};
    reader_t r = {0, 0, 0, j->data, j->n};
    uint64_t startB = (uint64_t)j->startB * 8, end = (uint64_t)j->n * 8 + 64;
    joined_t jn = {0};
    pthread_t b;
    pthread_mutex_init(&jn.lock, NULL);
    j->jn = &jn;
    int have_b = j->capB > 0 && pthread_create(&b, NULL, run_b, j) == 0;
    long seen = 0, m = 0, met = -1, metB = -1;
    seek(&r, 0);
    for (; m < total; m++) {
        if (restart_at(j, &r, pred, m) < 0)
            break;
        uint64_t pos = bitpos(&r);
        if (pos > end)
            break; /* far past the data: a truncated file */
        if (have_b && j->interval) { /* B started at this MCU's restart interval */
            if (m == j->startB_mcu) {
                met = m;
                metB = 0;
                break;
            }
        } else if (have_b && pos >= startB) {
            long done = __atomic_load_n(&j->doneB, __ATOMIC_ACQUIRE);
            int waited = 0;
            for (;;) {
                while (seen < done && j->posB[seen] < pos)
                    seen++;
                if (seen < done || __atomic_load_n(&j->endedB, __ATOMIC_ACQUIRE))
                    break;
                wait_a_little(&waited); /* B has not got this far yet */
                done = __atomic_load_n(&j->doneB, __ATOMIC_ACQUIRE);
            }
            if (seen < done && j->posB[seen] == pos) {
                met = m;
                metB = seen;
                break;
            }
        }
        if (j->index_pos)
            note(j, m, pos, pred, zero);
        if (!j->upsample) {
            if (decode_mcu(j, &r, pred, rec, dc) < 0)
                break;
            put_mcu(j, m, rec, dc, zero);
        } else {
            long i = m % j->mcux;
            if (decode_mcu(j, &r, pred, j->rowrec + (size_t)i * j->rec,
                           j->rowdc + (size_t)i * j->nblocks) < 0)
                break;
            if (i == j->mcux - 1) {
                refs_of(j, j->refs, j->rowrec, j->rowdc, zero);
                put_row_up(j, m / j->mcux, j->refs->recs, j->refs->dcs, j->refs->corrs);
            }
        }
        if ((m + 1) % j->mcux == 0)
            __atomic_store_n(j->progress, (int)((m + 1) / j->mcux), __ATOMIC_RELEASE);
    }
    int short_a = 0;
    if (met >= 0) { /* B's MCUs from met on are the image's: write them, B helping */
        jn.met = met;
        jn.shift = met - metB;
        for (int c = 0; c < MAXCOMP; c++) /* (at a restart interval both start from zero) */
            jn.corr[c] = j->interval ? 0
                                     : (int32_t)((uint32_t)pred[c] - (uint32_t)j->predB[metB * MAXCOMP + c]);
        jn.lo = met / j->mcux;
        jn.hi = j->mcuy;
        if (j->upsample && met % j->mcux) { /* the row A and B share: A writes it */
            long row = jn.lo++, mb0 = row * j->mcux - jn.shift;
            refs_of(j, j->refs, j->rowrec, j->rowdc, zero);
            if (wait_b(j, (row + 1) * j->mcux - 1 - jn.shift) < 0)
                short_a = 1;
            else {
                for (long i = met % j->mcux; i < j->mcux; i++) {
                    j->refs->recs[i] = j->recB + (size_t)(mb0 + i) * j->rec;
                    j->refs->dcs[i] = j->dcB + (size_t)(mb0 + i) * j->nblocks;
                    j->refs->corrs[i] = jn.corr;
                }
                put_row_up(j, row, j->refs->recs, j->refs->dcs, j->refs->corrs);
            }
        }
        __atomic_store_n(&j->joined, 1, __ATOMIC_RELEASE);
        long row;
        while ((row = claim(j, &jn, 1)) >= 0) {
            if (put_row(j, &jn, row) < 0)
                short_a = 1;
            else if (!short_a) /* every row above is written: A's, or claimed by A before */
                __atomic_store_n(j->progress, (int)(row + 1), __ATOMIC_RELEASE);
        }
    } else {
        j->stop = 1;
        __atomic_store_n(&j->joined, 2, __ATOMIC_RELEASE);
    }
    if (have_b)
        pthread_join(b, NULL);
    pthread_mutex_destroy(&jn.lock);
    if (met >= 0 && !short_a && !j->short_b) {
        if (j->index_pos) /* the MCUs of B's part, from its notes */
            for (long mi = met; mi < total; mi++)
                note(j, mi, j->posB[mi - jn.shift], &j->predB[(mi - jn.shift) * MAXCOMP], jn.corr);
        __atomic_store_n(j->progress, j->mcuy, __ATOMIC_RELEASE);
        return (int)met;
    }
    if (met >= 0) /* B stopped short (it cannot on sound data): A goes on alone from met */
        for (; m < total; m++) {
            long i = m % j->mcux;
            if (restart_at(j, &r, pred, m) < 0)
                return -1;
            if (j->index_pos)
                note(j, m, bitpos(&r), pred, zero);
            int16_t *into = j->upsample ? j->rowrec + (size_t)i * j->rec : rec;
            int32_t *dcs = j->upsample ? j->rowdc + (size_t)i * j->nblocks : dc;
            if (bitpos(&r) > end || decode_mcu(j, &r, pred, into, dcs) < 0)
                return -1;
            if (!j->upsample) {
                put_mcu(j, m, rec, dc, zero);
            } else if (i == j->mcux - 1) {
                refs_of(j, j->refs, j->rowrec, j->rowdc, zero);
                put_row_up(j, m / j->mcux, j->refs->recs, j->refs->dcs, j->refs->corrs);
            }
        }
    if (m < total)
        return -1;
    __atomic_store_n(j->progress, j->mcuy, __ATOMIC_RELEASE);
    return (int)total;
}

/* The entropy-coded bytes up to the marker that ends them, with the 0x00 stuffed after each
 * 0xFF taken out: into clean (room for n bytes); how many there are. */
static size_t unstuff(job_t *j, const uint8_t *data, size_t n, uint8_t *clean)
{
    size_t at = 0, out = 0;
    for (;;) {
        const uint8_t *ff = memchr(data + at, 0xFF, n - at);
        size_t run = ff ? (size_t)(ff - data) - at : n - at;
        memcpy(clean + out, data + at, run);
        out += run;
        at += run;
        if (!ff || at + 1 >= n)
            return out; /* the end of the data */
        uint8_t next = data[at + 1];
        if (next == 0x00) {
            clean[out++] = 0xFF;
            at += 2;
        } else if (j->interval && next == 0xD0 + (j->nrst - 1) % 8 && j->nrst < j->maxrst) {
            j->rst[j->nrst++] = out; /* the next interval starts here, byte-aligned */
            at += 2;
        } else {
            return out; /* a marker: the end of the scan (or RSTn out of sequence) */
        }
    }
}

/* ---------------------------------------------------------------- setup from the header */

static const uint8_t ZIGZAG[64] = {
    0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,  12, 19, 26, 33, 40, 48,
    41, 34, 27, 20, 13, 6,  7,  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23,
    30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63};

/* The mean of basis function u over the i-th of n equal parts of the block (1-D, with its
 * 1/2 · C(u) factor): what output i of an n-point reduced IDCT takes from coefficient u. */
static double part_mean(int n, int i, int u)
{
    double sum = 0, cu = u ? 1.0 : M_SQRT1_2;
    int len = 8 / n;
    for (int x = i * len; x < (i + 1) * len; x++)
        sum += cos((2 * x + 1) * u * M_PI / 16.0);
    return sum / len * cu / 2.0;
}

static int setup_comp(comp_t *c, int nx, int ny, const uint16_t *quant)
{
    if (nx < 1 || ny < 1 || nx * ny > MAXOUT || 8 % nx || 8 % ny)
        return -1;
    c->nx = nx;
    c->ny = ny;
    c->nout = nx * ny;
    c->dcq2 = quant[0] * 2;
    for (int k = 1; k < 64; k++) {
        int row = ZIGZAG[k] / 8, col = ZIGZAG[k] % 8;
        for (int i = 0; i < ny; i++)
            for (int jx = 0; jx < nx; jx++) {
                double w = quant[k] * part_mean(ny, i, row) * part_mean(nx, jx, col);
                if (fabs(w) < 1e-9)
                    w = 0;
                c->w[k][i * nx + jx] = (float)w;
            }
    }
    return 0;
}

/* The job's image, tables and MCU layout from the int32 parameters (listed at decode below);
 * -1 when they are not a case this decoder takes. */
static int setup_job(job_t *j, const Py_buffer *params)
{
    const int32_t *p = params->buf;
    long np = params->len / 4;
    if (np < 6)
        return -1;
    int width = p[0], height = p[1], red = p[2], ncomp = p[3], split = p[4], interval = p[5];
    if (width < 1 || height < 1 || width > 65535 || height > 65535 ||
        (red != 2 && red != 4 && red != 8) || (ncomp != 1 && ncomp != 3) || split < 0 ||
        interval < 0 || interval > 65535 || np != 6 + ncomp * 4 + ncomp * 64 + 8 * (16 + 256))
        return -1;
    j->split = split;
    j->interval = interval;
    const int32_t *cp = p + 6, *qp = cp + ncomp * 4, *hp = qp + ncomp * 64;
    for (int t = 0; t < 8; t++) {
        uint8_t bits[16], vals[256];
        int total = 0;
        for (int l = 0; l < 16; l++) {
            bits[l] = (uint8_t)(hp[t * 272 + l] & 0xFF);
            total += bits[l];
        }
        for (int v = 0; v < 256; v++)
            vals[v] = (uint8_t)(hp[t * 272 + 16 + v] & 0xFF);
        if (total && build_huff(&j->huff[t], bits, vals, total) < 0)
            return -1;
        if (!total)
            j->huff[t].nvals = 0;
    }
    int hmax = 1, vmax = 1, nblocks = 0;
    for (int c = 0; c < ncomp; c++) {
        int h = ncomp == 1 ? 1 : cp[c * 4], v = ncomp == 1 ? 1 : cp[c * 4 + 1];
        if (h < 1 || h > 4 || v < 1 || v > 4)
            return -1;
        hmax = h > hmax ? h : hmax;
        vmax = v > vmax ? v : vmax;
    }
    j->ncomp = ncomp;
    j->fancy = red < 8;
    j->mw = hmax * 8 / red;
    j->mh = vmax * 8 / red;
    if (j->mw < 1 || j->mh < 1 || j->mw * j->mh > 256)
        return -1;
    for (int c = 0; c < ncomp; c++) {
        comp_t *k = &j->comp[c];
        int dt = cp[c * 4 + 2], at = cp[c * 4 + 3];
        uint16_t quant[64];
        k->h = ncomp == 1 ? 1 : cp[c * 4];
        k->v = ncomp == 1 ? 1 : cp[c * 4 + 1];
        if (dt < 0 || dt > 3 || at < 0 || at > 3 || !j->huff[dt].nvals || !j->huff[4 + at].nvals ||
            j->mw % k->h || j->mh % k->v)
            return -1;
        k->dc = &j->huff[dt];
        k->ac = &j->huff[4 + at];
        for (int i = 0; i < 64; i++) {
            if (qp[c * 64 + i] < 1 || qp[c * 64 + i] > 65535)
                return -1;
            quant[i] = (uint16_t)qp[c * 64 + i];
        }
        /* libjpeg-turbo's jdmaster.c: the IDCT size doubles from the smallest while both of the
         * component's sampling ratios allow; what remains is upsampled (across only, here) */
        int least = 8 / red, size = least;
        while (size < 8 && (hmax * least) % (k->h * size * 2) == 0 &&
               (vmax * least) % (k->v * size * 2) == 0)
            size *= 2;
        if (k->v * size != j->mh || (k->h * size != j->mw && k->h * size * 2 != j->mw))
            return -1; /* upsampled down the image, or more than twice across: not taken */
        k->ux = j->mw / (k->h * size);
        k->dw = (int)(((long)width * k->h * size + hmax * 8 - 1) / (hmax * 8));
        j->upsample |= k->ux == 2;
        if (setup_comp(k, size, size, quant) < 0)
            return -1;
        for (int by = 0; by < k->v; by++)
            for (int bx = 0; bx < k->h; bx++) {
                if (nblocks >= MAXBLOCKS)
                    return -1;
                j->block_comp[nblocks] = c;
                j->block_off[nblocks] = j->rec;
                j->rec += k->nout;
                nblocks++;
            }
    }
    j->nblocks = nblocks;
    for (int c = 0; c < ncomp; c++) { /* each output pixel's source in the MCU's record */
        comp_t *k = &j->comp[c];
        int first = 0;
        while (j->block_comp[first] != c)
            first++;
        k->first = first;
        if (k->ux != 1)
            continue; /* written row by row (put_row_up) */
        for (int y = 0; y < j->mh; y++)
            for (int x = 0; x < j->mw; x++) {
                int block = (y / k->ny) * k->h + x / k->nx;
                j->pix_src[c][y * j->mw + x] =
                    (int16_t)(j->block_off[first + block] + (y % k->ny) * k->nx + x % k->nx);
                j->pix_blk[c][y * j->mw + x] = (uint8_t)(first + block);
            }
    }
    j->chroma_whole = ncomp == 3 && j->comp[1].h == 1 && j->comp[1].v == 1 && j->comp[2].h == 1 &&
                      j->comp[2].v == 1 && j->comp[1].nx == j->mw && j->comp[1].ny == j->mh &&
                      j->comp[2].nx == j->mw && j->comp[2].ny == j->mh;
    j->mcux = (width + 8 * hmax - 1) / (8 * hmax);
    j->mcuy = (height + 8 * vmax - 1) / (8 * vmax);
    if (ncomp == 1) { /* one component: its own blocks are the MCUs */
        j->mcux = (width + 7) / 8;
        j->mcuy = (height + 7) / 8;
    }
    j->outw = (width + red - 1) / red;
    j->outh = (height + red - 1) / red;
    return 0;
}

/* A row of MCU records and their references, for writing rows whole; -1: no memory. */
static int row_buffers(const job_t *j, int16_t **rec, int32_t **dc, struct row_refs **refs)
{
    *rec = malloc(sizeof(int16_t) * (size_t)j->rec * (size_t)j->mcux);
    *dc = malloc(sizeof(int32_t) * (size_t)j->nblocks * (size_t)j->mcux);
    *refs = malloc(sizeof(struct row_refs));
    return *rec && *dc && *refs ? 0 : -1;
}

static void free_job(job_t *j)
{
    if (j) {
        free(j->rowrec);
        free(j->rowdc);
        free(j->refs);
        free(j->recB);
        free(j->posB);
        free(j->predB);
        free(j->dcB);
        free(j->rst);
        free((void *)j->data);
        free(j);
    }
}

/* The scan's bytes, unstuffed, into the job (its own copy). -1: no memory. */
static int take_scan(job_t *j, const Py_buffer *raw)
{
    uint8_t *clean = malloc(raw->len > 0 ? (size_t)raw->len : 1);
    if (!clean)
        return -1;
    if (j->interval) {
        j->maxrst = ((long)j->mcux * j->mcuy + j->interval - 1) / j->interval;
        j->rst = malloc(sizeof(size_t) * (size_t)j->maxrst);
        if (!j->rst)
            return -1;
        j->rst[0] = 0;
        j->nrst = 1;
    }
    j->n = unstuff(j, raw->buf, (size_t)raw->len, clean);
    if (j->interval && j->nrst != j->maxrst)
        return -1; /* not as many restart markers as the header makes */
    j->data = clean;
    return 0;
}

/* Whether an index buffer pair holds an entry per MCU. */
static int index_fits(const job_t *j, const Py_buffer *pos, const Py_buffer *pred)
{
    size_t total = (size_t)j->mcux * (size_t)j->mcuy;
    return pos->len >= (Py_ssize_t)(sizeof(int64_t) * total) &&
           pred->len >= (Py_ssize_t)(sizeof(int32_t) * MAXCOMP * total);
}

/*
 * decode(data, params, out, progress, index_pos, index_pred) -> int
 *   data: the file from the first byte of the scan's entropy-coded data (to its end or beyond)
 *   params: int32 array — width, height, reduction (2, 4 or 8), ncomp, the entropy-coded bytes
 *           from which a second thread joins in (0: never), the restart interval in MCUs (0:
 *           none; the data then has an RSTn marker after each), then per component h, v, dc table,
 *           ac table; then 64 quantisers (zigzag order) per component; then for each of the
 *           8 tables (dc 0-3, ac 0-3) 16 counts and 256 values (counts all 0: absent)
 *   out: writable RGBX buffer of ceil(width/r) × ceil(height/r) × 4 bytes
 *   progress: writable int32 buffer of 1, the MCU rows written so far
 *   index_pos, index_pred: writable int64 and int32 buffers for at least one entry (3 for the
 *           predictors) per MCU: where each MCU starts, for decode_window
 * Returns the MCU from which the second thread's decode was used (the MCU count: none), or -1
 * when the data is not as the header said (nothing in out to trust then).
 */
static PyObject *py_decode(PyObject *self, PyObject *args)
{
    Py_buffer raw, params, out, progress, ipos, ipred;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*y*w*w*w*w*", &raw, &params, &out, &progress, &ipos, &ipred))
        return NULL;
    int result = -1;
    job_t *j = calloc(1, sizeof *j);
    if (!j || setup_job(j, &params) < 0 || out.len != (Py_ssize_t)j->outw * j->outh * 4 ||
        progress.len < 4 || !index_fits(j, &ipos, &ipred))
        goto done;
    j->out = out.buf;
    j->ox = j->oy = 0;
    j->tw = j->outw;
    j->th = j->outh;
    j->progress = progress.buf;
    j->index_pos = ipos.buf;
    j->index_pred = ipred.buf;
    for (long m = 0; m < (long)j->mcux * j->mcuy; m++)
        j->index_pos[m] = -1;
    if (j->upsample && row_buffers(j, &j->rowrec, &j->rowdc, &j->refs) < 0)
        goto done;
    long total = (long)j->mcux * j->mcuy;
    Py_BEGIN_ALLOW_THREADS
    if (take_scan(j, &raw) == 0) {
        if (j->split && j->n >= (size_t)j->split) { /* a second thread where it pays */
            j->startB = j->n * 9 / 20; /* A also writes its rows as it goes: a little less */
            if (j->interval) { /* from the restart interval nearest there: a known state */
                long k = 1;
                while (k + 1 < j->nrst && j->rst[k] < j->startB)
                    k++;
                j->startB = j->rst[k];
                j->startB_mcu = k * j->interval;
            }
            j->capB = total;
            j->recB = malloc(sizeof(int16_t) * (size_t)j->rec * (size_t)total);
            j->posB = malloc(sizeof(uint64_t) * (size_t)total);
            j->predB = malloc(sizeof(int32_t) * MAXCOMP * (size_t)total);
            j->dcB = malloc(sizeof(int32_t) * (size_t)j->nblocks * (size_t)total);
            if (!j->recB || !j->posB || !j->predB || !j->dcB)
                j->capB = 0;
        }
        result = run(j);
    }
    Py_END_ALLOW_THREADS
done:
    free_job(j);
    PyBuffer_Release(&raw);
    PyBuffer_Release(&params);
    PyBuffer_Release(&out);
    PyBuffer_Release(&progress);
    PyBuffer_Release(&ipos);
    PyBuffer_Release(&ipred);
    return PyLong_FromLong(result);
}

typedef struct {
    job_t *j;
    long row0, row1; /* MCU rows */
    int result;
    int16_t *rowrec; /* with upsampling: a row's MCU records */
    int32_t *rowdc;
    struct row_refs *refs;
} rows_t;

/* MCU rows row0..row1 from the index's row starts, written where they meet the target. */
static void *decode_rows(void *arg)
{
    rows_t *t = arg;
    const job_t *j = t->j;
    int16_t rec[MAXBLOCKS * MAXOUT];
    int32_t dc[MAXBLOCKS], pred[MAXCOMP], zero[MAXCOMP] = {0, 0, 0};
    reader_t r = {0, 0, 0, j->data, j->n};
    t->result = -1;
    long first = j->ox / j->mw, last = (j->ox + j->tw - 1) / j->mw; /* the wanted MCU columns */
    if (j->upsample) { /* and the samples beside them, which the upsampling reads */
        first = first > 0 ? first - 1 : 0;
        last = last < j->mcux - 1 ? last + 1 : j->mcux - 1;
    }
    for (long row = t->row0; row < t->row1; row++) {
        long m0 = row * j->mcux + first;
        int64_t start = j->index_pos[m0];
        if (start < 0 || (uint64_t)start >= (uint64_t)j->n * 8)
            return NULL;
        memcpy(pred, &j->index_pred[m0 * MAXCOMP], sizeof pred);
        seek(&r, (uint64_t)start);
        for (long col = first; col <= last; col++) {
            long m = row * j->mcux + col;
            if ((col > first && restart_at(j, &r, pred, m) < 0) || bitpos(&r) > (uint64_t)j->n * 8 + 64)
                return NULL;
            if (!j->upsample) {
                if (decode_mcu(j, &r, pred, rec, dc) < 0)
                    return NULL;
                put_mcu(j, m, rec, dc, zero);
            } else if (decode_mcu(j, &r, pred, t->rowrec + (size_t)col * j->rec,
                                  t->rowdc + (size_t)col * j->nblocks) < 0) {
                return NULL;
            }
        }
        if (j->upsample) {
            refs_of(j, t->refs, t->rowrec, t->rowdc, zero);
            put_row_up(j, row, t->refs->recs, t->refs->dcs, t->refs->corrs);
        }
    }
    t->result = 0;
    return NULL;
}

/*
 * decode_window(data, params, index_pos, index_pred, x, y, width, height, out) -> int
 *   the pixels x, y, width × height of the image at the params' reduction (any of 2, 4, 8:
 *   the index is the same at every scale) into out (RGBX, width × height × 4 bytes), decoding
 *   only the MCUs they lie in (and one each side where chroma is upsampled across), from the
 *   MCU starts a decode noted (two threads, each half of the rows). 0, or -1 when the index or
 *   data do not hold.
 */
static PyObject *py_decode_window(PyObject *self, PyObject *args)
{
    Py_buffer raw, params, ipos, ipred, out;
    int x, y, w, h;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*y*y*y*iiiiw*", &raw, &params, &ipos, &ipred, &x, &y, &w, &h,
                          &out))
        return NULL;
    int result = -1;
    job_t *j = calloc(1, sizeof *j);
    if (!j || setup_job(j, &params) < 0 || !index_fits(j, &ipos, &ipred) || x < 0 || y < 0 ||
        w < 1 || h < 1 || (long long)x + w > j->outw || (long long)y + h > j->outh ||
        out.len != (Py_ssize_t)w * h * 4)
        goto done;
    j->out = out.buf;
    j->ox = x;
    j->oy = y;
    j->tw = w;
    j->th = h;
    j->index_pos = ipos.buf; /* read only here */
    j->index_pred = ipred.buf;
    Py_BEGIN_ALLOW_THREADS
    if (take_scan(j, &raw) == 0) {
        long row0 = y / j->mh, row1 = (y + h + j->mh - 1) / j->mh;
        rows_t lo = {j, row0, (row0 + row1 + 1) / 2, -1, NULL, NULL, NULL};
        rows_t hi = {j, lo.row1, row1, 0, NULL, NULL, NULL};
        if (j->upsample && (row_buffers(j, &lo.rowrec, &lo.rowdc, &lo.refs) < 0 ||
                            row_buffers(j, &hi.rowrec, &hi.rowdc, &hi.refs) < 0)) {
            lo.result = -1;
        } else {
            pthread_t t;
            int two = hi.row0 < hi.row1 && pthread_create(&t, NULL, decode_rows, &hi) == 0;
            decode_rows(&lo);
            if (two)
                pthread_join(t, NULL);
            else if (hi.row0 < hi.row1)
                decode_rows(&hi);
        }
        result = lo.result < 0 || hi.result < 0 ? -1 : 0;
        free(lo.rowrec), free(lo.rowdc), free(lo.refs), free(hi.rowrec), free(hi.rowdc), free(hi.refs);
    }
    Py_END_ALLOW_THREADS
done:
    free_job(j);
    PyBuffer_Release(&raw);
    PyBuffer_Release(&params);
    PyBuffer_Release(&ipos);
    PyBuffer_Release(&ipred);
    PyBuffer_Release(&out);
    return PyLong_FromLong(result);
}

static PyMethodDef methods[] = {
    {"decode", py_decode, METH_VARARGS,
     "Decode a baseline JPEG's scan at 1/2, 1/4 or 1/8 on two cores, noting its row starts."},
    {"decode_window", py_decode_window, METH_VARARGS,
     "Decode the rows of a window of a JPEG from the row starts a decode noted, on two cores."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_splitjpeg", NULL, -1, methods};

PyMODINIT_FUNC PyInit__splitjpeg(void) { return PyModule_Create(&module); }

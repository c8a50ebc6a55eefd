#include "conv_geometry.hpp"

#include <algorithm>

#include "common.hpp"
#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef __AVX2__
#include <immintrin.h>
#endif

namespace nnvae {
namespace detail {

namespace {

// The entries of one spatial argument: `given` (S entries), or `fill` on
// every axis when empty; checked against `least`.
std::vector<int64_t> spatial_arg(const std::string& fname, const char* name, const std::vector<int>& given,
                                 size_t spatial, int fill, int least, const Shape_t& x) {
  if (given.empty()) return std::vector<int64_t>(spatial, fill);
  std::vector<int64_t> v(given.begin(), given.end());
  if (v.size() != spatial)
    shape_error(fname + ": " + name + " " + ints_str(v) + " has " + std::to_string(v.size()) +
                " entries but x of shape " + shape_str(x) + " has " + std::to_string(spatial) + " spatial axes");
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i] < least)
      shape_error(fname + ": " + name + " " + ints_str(v) + " has " + std::to_string(v[i]) + " on spatial axis " +
                  std::to_string(i) + "; it must be >= " + std::to_string(least));
  return v;
}

// Window positions j in [0, n_cols) whose tap at offset `off` (= t·d − p)
// falls inside an image of n positions: j·s + off in [0, n). Returns [lo, hi).
inline void valid_range(int64_t off, int64_t s, int64_t n, int64_t n_cols, int64_t& lo, int64_t& hi) {
  lo = off >= 0 ? 0 : (-off + s - 1) / s;
  hi = n - off > 0 ? (n - off - 1) / s + 1 : 0;
  lo = std::min(lo, n_cols);
  hi = std::max(lo, std::min(hi, n_cols));
}

}  // namespace

std::string ints_str(const std::vector<int64_t>& v) { return shape_str(Shape_t(v.begin(), v.end())); }

bool ConvGeometry::identity() const {
  for (int i = 0; i < 3; ++i)
    if (kernel[i] != 1 || stride[i] != 1 || pad[i] != 0 || cols[i] != image[i]) return false;
  return true;
}

bool ConvGeometry::transposable() const {
  for (int i = 0; i < 3; ++i)
    if (stride[i] != 1 || pad[i] > dilation[i] * (kernel[i] - 1)) return false;
  return true;
}

ConvGeometry ConvGeometry::transposed() const {
  ConvGeometry t = *this;
  for (int i = 0; i < 3; ++i) {
    t.image[i] = cols[i];
    t.cols[i] = image[i];
    t.pad[i] = dilation[i] * (kernel[i] - 1) - pad[i];
  }
  return t;
}

ConvArgs conv_args(const std::string& fname, const Shape_t& x, const Shape_t& w, int base_axis,
                   const std::vector<int>& pad, const std::vector<int>& stride, const std::vector<int>& dilation,
                   int group, bool channel_last, const std::vector<int>* output_padding) {
  if (channel_last)
    shape_error(fname + ": channel_last=true is not implemented (x must be (..., C, spatial...), x shape " +
                shape_str(x) + ")");
  const int nd = static_cast<int>(x.size());
  if (base_axis < 0 || base_axis + 1 >= nd)
    shape_error(fname + ": base_axis " + std::to_string(base_axis) + " leaves no spatial axis in x of shape " +
                shape_str(x) + " (base_axis must be in [0, " + std::to_string(std::max(nd - 2, 0)) + "])");
  if (w.size() < 3 || w.size() > 5)
    shape_error(fname + ": W of shape " + shape_str(w) +
                " must have 3 to 5 axes (2 channel axes and 1 to 3 kernel axes)");
  const size_t spatial = w.size() - 2;
  if (static_cast<size_t>(nd - base_axis - 1) != spatial)
    shape_error(fname + ": x of shape " + shape_str(x) + " has " + std::to_string(nd - base_axis - 1) +
                " spatial axes after base_axis " + std::to_string(base_axis) +
                " and its channel axis, but W of shape " +
                shape_str(w) + " has " + std::to_string(spatial) + " kernel axes");
  if (group < 1) shape_error(fname + ": group is " + std::to_string(group) + "; it must be >= 1");
  ConvArgs a;
  for (int i = 0; i < base_axis; ++i) a.outer *= x[i];
  a.channels = x[base_axis];
  a.spatial.assign(x.begin() + base_axis + 1, x.end());
  a.kernel.assign(w.begin() + 2, w.end());
  for (size_t i = 0; i < spatial; ++i) {
    if (a.kernel[i] < 1)
      shape_error(fname + ": W of shape " + shape_str(w) + " has an empty kernel axis");
    if (a.spatial[i] < 1) shape_error(fname + ": x of shape " + shape_str(x) + " has an empty spatial axis");
  }
  a.pad = spatial_arg(fname, "pad", pad, spatial, 0, 0, x);
  a.stride = spatial_arg(fname, "stride", stride, spatial, 1, 1, x);
  a.dilation = spatial_arg(fname, "dilation", dilation, spatial, 1, 1, x);
  if (output_padding) a.output_padding = spatial_arg(fname, "output_padding", *output_padding, spatial, 0, 0, x);
  return a;
}

ConvGeometry make_geometry(const ConvArgs& a, const std::vector<int64_t>& image, const std::vector<int64_t>& cols) {
  ConvGeometry g;
  const size_t lead = 3 - a.kernel.size();
  for (size_t i = 0; i < 3; ++i) {
    const bool real = i >= lead;
    const size_t k = i - lead;
    g.image[i] = real ? image[k] : 1;
    g.cols[i] = real ? cols[k] : 1;
    g.kernel[i] = real ? a.kernel[k] : 1;
    g.stride[i] = real ? a.stride[k] : 1;
    g.pad[i] = real ? a.pad[k] : 0;
    g.dilation[i] = real ? a.dilation[k] : 1;
  }
  return g;
}

namespace {

// One row of the columns, the n2 = g.cols[2] window positions along the
// last axis for one channel, tap and position on the first two axes: entry j
// in [lo, hi) reads entry j·s2 + off2 of one image row; the entries before lo
// and from hi on fall in the padding.
struct ColRow {
  int64_t off2, s2, lo, hi;
};

// Calls fn(col_off, img_off, r, rows, step) for every run of rows of the
// columns, in their order (channel, tap, window position): `rows`
// consecutive rows (each n2 = g.cols[2] long) from col_off on in col,
// reading the image rows from img_off on, `step` floats apart, or img_off
// -1 when the run lies wholly in the padding. im2col and col2im walk the
// same runs, one copying out of the image and the other adding back into
// it. A tap's rows along axis 1 inside the image ([lo1, hi1)) are found
// once per tap and handed over as one run, so the loop over them is the
// caller's own tight loop: rows are short (8 to 28 entries at MNIST's
// sizes) and their count large (C·K·n1 a sample), so the cost per row is
// what counts.
template <class Fn>
void for_each_col_run(int64_t channels, const ConvGeometry& g, Fn&& fn) {
  const int64_t P = g.col_size(), n1 = g.cols[1], n2 = g.cols[2], step1 = g.stride[1] * g.image[2];
  // Each tap's ranges, the same for every channel (found once: two
  // divisions each, which per channel would cost more than its rows).
  std::vector<ColRow> along2(static_cast<size_t>(g.kernel[2]));
  std::vector<std::pair<int64_t, int64_t>> along1(static_cast<size_t>(g.kernel[1]));
  for (int64_t t2 = 0; t2 < g.kernel[2]; ++t2) {
    ColRow& r = along2[t2];
    r = ColRow{t2 * g.dilation[2] - g.pad[2], g.stride[2], 0, 0};
    valid_range(r.off2, r.s2, g.image[2], n2, r.lo, r.hi);
  }
  for (int64_t t1 = 0; t1 < g.kernel[1]; ++t1)
    valid_range(t1 * g.dilation[1] - g.pad[1], g.stride[1], g.image[1], n1, along1[t1].first, along1[t1].second);
  int64_t row = 0;
  for (int64_t c = 0; c < channels; ++c) {
    const int64_t img = c * g.image_size();
    for (int64_t t0 = 0; t0 < g.kernel[0]; ++t0)
      for (int64_t t1 = 0; t1 < g.kernel[1]; ++t1) {
        const int64_t off1 = t1 * g.dilation[1] - g.pad[1], lo1 = along1[t1].first, hi1 = along1[t1].second;
        for (int64_t t2 = 0; t2 < g.kernel[2]; ++t2, row += P) {
          const ColRow& r = along2[t2];
          for (int64_t j0 = 0; j0 < g.cols[0]; ++j0) {
            const int64_t i0 = j0 * g.stride[0] - g.pad[0] + t0 * g.dilation[0];
            const bool in0 = i0 >= 0 && i0 < g.image[0];
            const int64_t first = row + j0 * n1 * n2;  // the row of (j0, j1 = 0)
            const int64_t a = in0 ? lo1 : n1, b = in0 ? hi1 : n1;  // rows [a, b) inside the image
            if (a > 0) fn(first, int64_t(-1), r, a, step1);
            if (b > a) fn(first + a * n2, img + (i0 * g.image[1] + a * g.stride[1] + off1) * g.image[2], r, b - a, step1);
            if (n1 > b) fn(first + b * n2, int64_t(-1), r, n1 - b, step1);
          }
        }
      }
  }
}

// True when each tap's columns are the image shifted by whole rows and
// columns: one or two spatial axes, stride 1 on both, and as many window
// positions along the last axis as the image has (a stride-1 window with
// "same" padding, as ResNet's 3x3 pad 1). Then the columns of tap t, seen
// as (cols[1], n2), equal the image read from a fixed offset on, except
// where the tap falls in the padding.
bool shifted_planes(const ConvGeometry& g) {
  return g.image[0] == 1 && g.cols[0] == 1 && g.stride[1] == 1 && g.stride[2] == 1 && g.cols[2] == g.image[2];
}

// im2col for shifted_planes geometries: per channel and tap, one contiguous
// copy of the rows and columns inside the image (a run of about the whole
// image: near memcpy speed, against a loop per row of n2 entries), then
// zeros on the rows and the columns in the padding (the copy wrote values
// from the neighbouring rows there, or nothing).
void im2col_shifted(const float* image, int64_t channels, const ConvGeometry& g, float* col) {
  const int64_t n1 = g.cols[1], n2 = g.cols[2], H = g.image[1], W = g.image[2], P = n1 * n2;
  float* dst = col;
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t t1 = 0; t1 < g.kernel[1]; ++t1)
      for (int64_t t2 = 0; t2 < g.kernel[2]; ++t2, dst += P) {
        const int64_t off1 = t1 * g.dilation[1] - g.pad[1], off2 = t2 * g.dilation[2] - g.pad[2];
        int64_t lo1, hi1, lo2, hi2;
        valid_range(off1, 1, H, n1, lo1, hi1);
        valid_range(off2, 1, W, n2, lo2, hi2);
        if (lo1 >= hi1 || lo2 >= hi2) {
          std::fill(dst, dst + P, 0.f);
          continue;
        }
        // Entry (j1, j2) reads image (j1 + off1, j2 + off2) = src[j1·n2 + j2].
        const float* src = image + c * H * W + off1 * W + off2;
        const int64_t first = lo1 * n2 + lo2, last = (hi1 - 1) * n2 + hi2;
#pragma omp simd
        for (int64_t k = first; k < last; ++k) dst[k] = src[k];
        std::fill(dst, dst + lo1 * n2, 0.f);
        std::fill(dst + hi1 * n2, dst + P, 0.f);
        if (lo2 > 0 || hi2 < n2)
          for (int64_t j1 = lo1; j1 < hi1; ++j1) {
            float* row = dst + j1 * n2;
            const int64_t border = lo2 + (n2 - hi2);  // one loop: two fills would each call memset
            for (int64_t e = 0; e < border; ++e) row[e < lo2 ? e : hi2 + (e - lo2)] = 0.f;
          }
      }
}

#ifdef __AVX2__
// Which lanes of the 8 entries from `at` on lie in [lo, hi), as a mask for
// the masked loads.
inline __m256i lanes_in(int64_t at, int64_t lo, int64_t hi) {
  const __m256i j = _mm256_add_epi32(_mm256_set1_epi32(int(at)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  return _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(int(lo)), j),
                             _mm256_cmpgt_epi32(_mm256_set1_epi32(int(hi)), j));
}
#endif

// One row of the columns at stride 1: dst[j] = s[j] for j in [lo, hi), 0
// for the rest of [0, n2). Rows are short (8 to 28 entries at MNIST's
// sizes) and there are C·K·n1 of them per sample, so what counts is the cost
// per row: with AVX2 a row of at least 8 is copied in 8-float runs, the
// last run ending at n2 (overlapping the one before it), and entries in the
// padding come from masked loads (which give 0 and read nothing there):
// no loop remainders and no separate zeroing.
inline void copy_row(float* dst, const float* s, int64_t lo, int64_t hi, int64_t n2) {
#ifdef __AVX2__
  if (n2 >= 8) {
    const bool whole = lo == 0 && hi == n2;
    for (int64_t j = 0;; j += 8) {
      const int64_t at = std::min(j, n2 - 8);
      _mm256_storeu_ps(dst + at, whole ? _mm256_loadu_ps(s + at) : _mm256_maskload_ps(s + at, lanes_in(at, lo, hi)));
      if (at == n2 - 8) return;
    }
  }
#endif
#pragma omp simd
  for (int64_t j = lo; j < hi; ++j) dst[j] = s[j];
  // The few entries in the padding ([0, lo) and [hi, n2)), in one loop:
  // written as two fills, each became a call to memset, which for one or
  // two floats per row cost more than the copy.
  const int64_t border = lo + (n2 - hi);
  for (int64_t e = 0; e < border; ++e) dst[e < lo ? e : hi + (e - lo)] = 0.f;
}

// One row of the columns at stride 2: dst[j] = s[2j] for j in [lo, hi)
// (the border is the caller's). With AVX2, 8 entries from 16 consecutive
// floats (their even lanes), the last run ending at hi (overlapping the one
// before it), while the 16 floats lie before the image's end (`readable`
// floats from s on; they may run into the next row, whose odd lanes are
// dropped).
inline void copy_row_stride2(float* dst, const float* s, int64_t lo, int64_t hi, int64_t readable) {
#ifdef __AVX2__
  if (hi - lo >= 8 && 2 * (hi - 8) + 16 <= readable) {
    for (int64_t j = lo;; j += 8) {
      const int64_t at = std::min(j, hi - 8);
      const __m256 a = _mm256_loadu_ps(s + 2 * at), b = _mm256_loadu_ps(s + 2 * at + 8);
      const __m256 even = _mm256_shuffle_ps(a, b, 0x88);  // a0 a2 b0 b2 | a4 a6 b4 b6
      _mm256_storeu_ps(dst + at, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), 0xD8)));
      if (at == hi - 8) return;
    }
  }
#else
  (void)readable;
#endif
#pragma omp simd
  for (int64_t j = lo; j < hi; ++j) dst[j] = s[2 * j];
}

// The transpose at stride 1: d[j] += src[j] for j in [lo, hi). With AVX2 a
// whole row (lo 0, hi n2 >= 8) is added in 8-float runs, the last one
// ending at n2 with the entries the run before it added masked to 0.
inline void add_row(float* d, const float* src, int64_t lo, int64_t hi, int64_t n2) {
#ifdef __AVX2__
  if (n2 >= 8 && lo == 0 && hi == n2) {
    int64_t j = 0;
    for (; j + 8 <= n2; j += 8) _mm256_storeu_ps(d + j, _mm256_add_ps(_mm256_loadu_ps(d + j), _mm256_loadu_ps(src + j)));
    if (j < n2) {
      const int64_t at = n2 - 8;
      const __m256 v = _mm256_maskload_ps(src + at, lanes_in(at, j, n2));
      _mm256_storeu_ps(d + at, _mm256_add_ps(_mm256_loadu_ps(d + at), v));
    }
    return;
  }
#else
  (void)n2;
#endif
#pragma omp simd
  for (int64_t j = lo; j < hi; ++j) d[j] += src[j];
}

// The transpose at stride 2 (the columns of a strided convolution added
// back, as a deconvolution's forward does): d[2j] += src[j] for j in [lo,
// hi). With AVX2, 4 entries at a time spread over 8 lanes (zeros between
// them) and added to 8 consecutive image entries, while those 8 lie within
// the row: last_odd is the largest j whose d[2j + 1] is still in the row.
inline void add_row_stride2(float* d, const float* src, int64_t lo, int64_t hi, int64_t last_odd) {
  int64_t j = lo;
#ifdef __AVX2__
  const __m128 zero = _mm_setzero_ps();
  for (; j + 4 <= hi && j + 3 <= last_odd; j += 4) {
    const __m128 s = _mm_loadu_ps(src + j);
    const __m256 spread = _mm256_set_m128(_mm_unpackhi_ps(s, zero), _mm_unpacklo_ps(s, zero));
    _mm256_storeu_ps(d + 2 * j, _mm256_add_ps(_mm256_loadu_ps(d + 2 * j), spread));
  }
#else
  (void)last_odd;
#endif
  for (; j < hi; ++j) d[2 * j] += src[j];
}

}  // namespace

// Each row of window positions along the last axis is a contiguous run of
// image values (stride 1) or an evenly spaced one, with zeros where the tap
// falls in the padding.
void im2col(const float* image, int64_t channels, const ConvGeometry& g, float* col) {
  if (shifted_planes(g)) {
    im2col_shifted(image, channels, g, col);
    return;
  }
  const int64_t n2 = g.cols[2];
  const float* image_end = image + channels * g.image_size();
  for_each_col_run(channels, g, [&](int64_t col_off, int64_t img_off, const ColRow& r, int64_t rows, int64_t step) {
    float* dst = col + col_off;
    if (img_off < 0) {
      std::fill(dst, dst + rows * n2, 0.f);
      return;
    }
    const float* src = image + img_off + r.off2;  // entry j of the run's first row reads src[j·s2]
    const int64_t s2 = r.s2, lo = r.lo, hi = r.hi;
#ifdef __AVX2__
    if (s2 == 1 && lo == 0 && hi == n2 && n2 >= 8) {  // whole rows: 8-float runs, the last ending at n2
      for (int64_t i = 0; i < rows; ++i, dst += n2, src += step) {
        for (int64_t j = 0; j + 8 < n2; j += 8) _mm256_storeu_ps(dst + j, _mm256_loadu_ps(src + j));
        _mm256_storeu_ps(dst + n2 - 8, _mm256_loadu_ps(src + n2 - 8));
      }
      return;
    }
#endif
    for (int64_t i = 0; i < rows; ++i, dst += n2, src += step) {
      if (s2 == 1) {
        copy_row(dst, src, lo, hi, n2);
        continue;
      }
      if (s2 == 2)
        copy_row_stride2(dst, src, lo, hi, image_end - src);
      else
        for (int64_t j = lo; j < hi; ++j) dst[j] = src[j * s2];
      const int64_t border = lo + (n2 - hi);
      for (int64_t e = 0; e < border; ++e) dst[e < lo ? e : hi + (e - lo)] = 0.f;
    }
  });
}

void col2im(const float* col, int64_t channels, const ConvGeometry& g, float* image, bool accumulate) {
  if (!accumulate) std::fill(image, image + channels * g.image_size(), 0.f);
  const int64_t n2 = g.cols[2];
  for_each_col_run(channels, g, [&](int64_t col_off, int64_t img_off, const ColRow& r, int64_t rows, int64_t step) {
    if (img_off < 0) return;
    const float* src = col + col_off;
    float* dst = image + img_off + r.off2;  // entry j of the run's first row adds to dst[j·s2]
    const int64_t s2 = r.s2, lo = r.lo, hi = r.hi;
#ifdef __AVX2__
    if (s2 == 1 && lo == 0 && hi == n2 && n2 >= 8) {  // whole rows: as add_row, its tail's mask found once
      const int64_t full = n2 / 8 * 8;
      const __m256i tail = lanes_in(n2 - 8, full, n2);
      for (int64_t i = 0; i < rows; ++i, src += n2, dst += step) {
        for (int64_t j = 0; j < full; j += 8)
          _mm256_storeu_ps(dst + j, _mm256_add_ps(_mm256_loadu_ps(dst + j), _mm256_loadu_ps(src + j)));
        if (full < n2)
          _mm256_storeu_ps(dst + n2 - 8, _mm256_add_ps(_mm256_loadu_ps(dst + n2 - 8), _mm256_maskload_ps(src + n2 - 8, tail)));
      }
      return;
    }
#endif
    const int64_t last_odd = (g.image[2] - 2 - r.off2) >= 0 ? (g.image[2] - 2 - r.off2) / 2 : -1;
    for (int64_t i = 0; i < rows; ++i, src += n2, dst += step) {
      if (s2 == 1)
        add_row(dst, src, lo, hi, n2);
      else if (s2 == 2)
        add_row_stride2(dst, src, lo, hi, last_odd);
      else
        for (int64_t j = lo; j < hi; ++j) dst[j * s2] += src[j];
    }
  });
}

// The products of one sample (a few hundred thousand multiply-adds at
// LeNet's sizes) are too small to cut across threads with any profit, while
// the samples are independent: sharing out whole samples keeps every thread
// busy on its own columns and output. Below ~1M multiply-adds in all a
// parallel region costs more than it saves.
int sample_threads(int64_t samples, int64_t work) {
#ifdef _OPENMP
  const int threads = omp_get_max_threads();
  if (threads > 1 && samples >= threads && work >= (int64_t(1) << 20) && !omp_in_parallel()) return threads;
#else
  (void)samples;
  (void)work;
#endif
  return 1;
}

int current_thread() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

void reduce_parts(const float* parts, int count, int64_t n, float* dst, bool accumulate) {
  if (!accumulate) std::fill(dst, dst + n, 0.f);
  for (int t = 0; t < count; ++t) {
    const float* p = parts + t * n;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) dst[i] += p[i];
  }
}

void add_bias_grad(const float* dy, int64_t channels, int64_t len, float* db_to, bool first) {
  for (int64_t o = 0; o < channels; ++o) {
    const float* row = dy + o * len;
    float sum = 0.f;
#pragma omp simd reduction(+ : sum)
    for (int64_t p = 0; p < len; ++p) sum += row[p];
    db_to[o] = first ? sum : db_to[o] + sum;
  }
}

void add_transposed_w(const float* dwt, const ConvSizes& s, float* dw, bool accumulate) {
  const int64_t rows = s.transposed ? s.Cg() : s.OCg(), cols = s.rows();
  for (int64_t gi = 0; gi < s.group; ++gi) {
    const float* from = dwt + gi * rows * cols;  // (cols, rows)
    float* to = dw + gi * rows * cols;           // (rows, cols)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) to[r * cols + c] = (accumulate ? to[r * cols + c] : 0.f) + from[c * rows + r];
  }
}

Shape_t conv_output_shape(const Shape_t& x, int base_axis, int64_t oc, const std::vector<int64_t>& out) {
  Shape_t y(x.begin(), x.begin() + base_axis + 1);
  y[base_axis] = oc;
  y.insert(y.end(), out.begin(), out.end());
  return y;
}

}  // namespace detail
}  // namespace nnvae

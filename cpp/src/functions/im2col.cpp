// im2col and col2im (conv_geometry.hpp): the copies between an image and
// its columns that turn convolution and deconvolution into matrix
// products. Rows of columns are short (8 to 28 entries at MNIST's sizes)
// and many (channels × taps × output rows a sample), so they are walked in
// runs: a tap's rows inside the image at once, with the loop over them the
// copy's own.
#include <algorithm>
#include <utility>
#include <vector>

#include "conv_geometry.hpp"
#ifdef __AVX2__
#include <immintrin.h>
#endif

namespace nnvae {
namespace detail {

namespace {

// Window positions j in [0, n_cols) whose tap at offset `off` (= t·d − p)
// falls inside an image of n positions: j·s + off in [0, n). Returns [lo, hi).
inline void valid_range(int64_t off, int64_t s, int64_t n, int64_t n_cols, int64_t& lo, int64_t& hi) {
  lo = off >= 0 ? 0 : (-off + s - 1) / s;
  hi = n - off > 0 ? (n - off - 1) / s + 1 : 0;
  lo = std::min(lo, n_cols);
  hi = std::max(lo, std::min(hi, n_cols));
}

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

// One row of the columns at stride 1 that a tap puts partly in the padding
// (whole rows are im2col's own loop): dst[j] = s[j] for j in [lo, hi), 0
// for the rest of [0, n2). With AVX2 a row of at least 8 is copied in
// 8-float runs, the last run ending at n2 (overlapping the one before it),
// the entries in the padding from masked loads (which give 0 and read
// nothing there): no loop remainders and no separate zeroing.
inline void copy_row(float* dst, const float* s, int64_t lo, int64_t hi, int64_t n2) {
#ifdef __AVX2__
  if (n2 >= 8) {
    for (int64_t j = 0;; j += 8) {
      const int64_t at = std::min(j, n2 - 8);
      _mm256_storeu_ps(dst + at, _mm256_maskload_ps(s + at, lanes_in(at, lo, hi)));
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

// The transpose at stride 1 of a row partly in the padding (whole rows
// are col2im's own loop): d[j] += src[j] for j in [lo, hi).
inline void add_row(float* d, const float* src, int64_t lo, int64_t hi) {
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
        add_row(dst, src, lo, hi);
      else if (s2 == 2)
        add_row_stride2(dst, src, lo, hi, last_odd);
      else
        for (int64_t j = lo; j < hi; ++j) dst[j * s2] += src[j];
    }
  });
}

}  // namespace detail
}  // namespace nnvae

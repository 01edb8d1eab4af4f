// bf16 GEMM through oneDNN's matmul primitive (built when CMake finds oneDNN).
#include <dnnl.hpp>
#include <omp.h>

#include "sigma/healthcheck/bf16_gemm.hpp"

namespace sigma::hc {

std::string bf16_gemm_unavailable() {
  if (!cpu_has_flag("avx512_bf16")) return "CPU lacks avx512_bf16";
  return "";
}

struct Bf16Matmul::Impl {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::memory a_bf16, b_bf16, c_f32;
  dnnl::matmul matmul;
};

namespace {

dnnl::memory::desc square(std::size_t n, dnnl::memory::data_type type) {
  const auto dim = static_cast<dnnl::memory::dim>(n);
  return dnnl::memory::desc({dim, dim}, type, dnnl::memory::format_tag::ab);
}

dnnl::memory to_bf16(dnnl::engine& engine, dnnl::stream& stream, std::size_t n, std::span<const float> values) {
  dnnl::memory f32(square(n, dnnl::memory::data_type::f32), engine, const_cast<float*>(values.data()));
  dnnl::memory bf16(square(n, dnnl::memory::data_type::bf16), engine);
  dnnl::reorder(f32, bf16).execute(stream, f32, bf16);
  stream.wait();
  return bf16;
}

}  // namespace

Bf16Matmul::Bf16Matmul(std::size_t n, std::span<const float> a, std::span<const float> b)
    : impl_(std::make_unique<Impl>()) {
  omp_set_num_threads(1);  // oneDNN's CPU engine runs on OpenMP; one core, like the BLAS products
  auto& s = *impl_;
  s.a_bf16 = to_bf16(s.engine, s.stream, n, a);
  s.b_bf16 = to_bf16(s.engine, s.stream, n, b);
  s.c_f32 = dnnl::memory(square(n, dnnl::memory::data_type::f32), s.engine);
  dnnl::matmul::desc desc(s.a_bf16.get_desc(), s.b_bf16.get_desc(), s.c_f32.get_desc());  // oneDNN 2.x API
  dnnl::matmul::primitive_desc pd(desc, s.engine);
  s.matmul = dnnl::matmul(pd);
}

Bf16Matmul::~Bf16Matmul() = default;

void Bf16Matmul::run(std::span<float> c) {
  auto& s = *impl_;
  s.c_f32.set_data_handle(c.data());
  s.matmul.execute(s.stream, {{DNNL_ARG_SRC, s.a_bf16}, {DNNL_ARG_WEIGHTS, s.b_bf16}, {DNNL_ARG_DST, s.c_f32}});
  s.stream.wait();
}

}  // namespace sigma::hc
